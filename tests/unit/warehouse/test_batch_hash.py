"""The batch content hash: what decides whether a load is a replay."""

import io
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa

from acorn.warehouse.load import Batch

WHEN = datetime(2026, 11, 2, tzinfo=UTC)


def _batch(refunds: pd.DataFrame, decisions: pd.DataFrame) -> Batch:
    return Batch("amazon-eu", WHEN, WHEN, "pass", {"refund_lines": refunds, "decisions": decisions}, {}, {})


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    refunds = pd.DataFrame(
        {
            "refund_uid": pd.Series(["r1", "r2", None], dtype="string"),
            "amount_minor": [1250, 999, 0],
            "refunded_at": pd.Series(pd.to_datetime(["2026-11-02T10:00:00Z"] * 3)).astype(
                "datetime64[us, UTC]"
            ),
            "days": pd.Series([3, None, 5], dtype="Int64"),
        }
    )
    decisions = pd.DataFrame({"outcome": pd.Categorical(["approve", "review", "approve"])})
    return refunds, decisions


def test_same_content_same_hash_whatever_the_storage():
    refunds, decisions = _frames()
    buffer = io.BytesIO()
    refunds.to_parquet(buffer)
    again = pd.read_parquet(buffer)
    assert _batch(refunds, decisions).content_hash == _batch(again, decisions.copy()).content_hash


def test_one_changed_value_or_a_missing_one_changes_the_hash():
    refunds, decisions = _frames()
    base = _batch(refunds, decisions).content_hash
    changed = refunds.assign(amount_minor=[1250, 998, 0])
    emptied = refunds.assign(refund_uid=pd.Series(["r1", None, None], dtype="string"))
    reviewed = pd.DataFrame({"outcome": pd.Categorical(["approve", "review", "review"])})
    hashes = {
        _batch(changed, decisions).content_hash,
        _batch(emptied, decisions).content_hash,
        _batch(refunds, reviewed).content_hash,
    }
    assert base not in hashes
    assert len(hashes) == 3


def test_text_chunked_otherwise_hashes_the_same():
    refunds, decisions = _frames()
    ids = pa.array(["r1", "r2", None], type=pa.large_string())
    split = pd.arrays.ArrowStringArray(pa.chunked_array([ids[:1], ids[1:2], ids[2:]]))
    rechunked = refunds.assign(refund_uid=pd.Series(split, dtype=refunds["refund_uid"].dtype))
    assert rechunked["refund_uid"].array._pa_array.num_chunks == 3
    assert _batch(rechunked, decisions).content_hash == _batch(refunds, decisions).content_hash
