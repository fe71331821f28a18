"""Risk flags on refund lines, against the batch and the refunds already in the warehouse.

``history`` holds earlier refunds of the same order lines and buyers (refund_uid, line_uid, buyer_ref,
amount_minor, refunded_at), as read from the warehouse; a refund is compared with everything that came
before it, in time order, so a rerun flags exactly what the first run flagged.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

HISTORY_COLUMNS = {
    "refund_uid": "string",
    "line_uid": "string",
    "buyer_ref": "string",
    "amount_minor": "int64",
    "refunded_at": "datetime64[us, UTC]",
}
SERIAL_WINDOW = timedelta(days=90)


def empty_history() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in HISTORY_COLUMNS.items()})


def risk_flags(facts: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Add ``duplicate_refund``, ``exceeds_paid`` and ``buyer_refunds_90d`` to ``facts``.

    ``facts`` needs refund_uid, line_uid, buyer_ref, amount_minor, refunded_at and paid_minor (what the
    buyer paid for the line). Returns the columns aligned with ``facts``' index.
    """
    cols = list(HISTORY_COLUMNS)
    current = pa.array(facts["refund_uid"], type=pa.string())
    again = pc.fill_null(
        pc.is_in(pa.array(history["refund_uid"], type=pa.string()), value_set=current), False
    )
    past = history[~again.to_numpy(zero_copy_only=False)][cols].astype(HISTORY_COLUMNS)
    both = pd.concat([past, facts[cols].astype(HISTORY_COLUMNS)], ignore_index=True)
    mine = np.arange(len(past), len(both))

    # per order line, in time order: how many refunds came before, and how much was refunded so far
    line = pd.factorize(both["line_uid"])[0]
    when = both["refunded_at"].astype("int64").to_numpy()
    order = np.lexsort((np.arange(len(both)), when, line))
    line_sorted = line[order]
    starts = np.r_[0, np.flatnonzero(np.diff(line_sorted)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    position = np.arange(len(order))
    nth = np.empty(len(order), dtype=np.int64)
    nth[order] = position - group_start
    cumulative = np.cumsum(both["amount_minor"].to_numpy()[order])
    before_group = np.where(group_start > 0, cumulative[group_start - 1], 0)
    so_far = np.empty(len(order), dtype=np.int64)
    so_far[order] = cumulative - before_group

    has_buyer = both["buyer_ref"].notna().to_numpy()
    buyer_counts = np.zeros(len(both), dtype=np.int64)
    buyer_counts[has_buyer] = _rolling_count(
        both.loc[has_buyer, "buyer_ref"], both.loc[has_buyer, "refunded_at"], SERIAL_WINDOW
    ).to_numpy()

    out = pd.DataFrame(index=facts.index)
    out["duplicate_refund"] = nth[mine] > 0
    out["exceeds_paid"] = so_far[mine] > facts["paid_minor"].to_numpy()
    out["buyer_refunds_90d"] = buyer_counts[mine]
    return out


def _rolling_count(keys: pd.Series, times: pd.Series, window: timedelta) -> pd.Series:
    """Per key, how many events fall in (t - window, t], vectorized: one sort and two binary searches.

    Key and time are packed into one int64 (key code in the high bits, seconds in the low 32), so a single
    sorted array answers every row's window.
    """
    if keys.empty:
        return pd.Series(dtype="int64", index=keys.index)
    codes = pd.factorize(keys)[0].astype("int64")
    seconds = (times.astype("int64") // 10**6).to_numpy()
    seconds = seconds - seconds.min()
    packed = (codes << 32) + seconds
    order = packed.argsort(kind="stable")
    sorted_packed = packed[order]
    # searching sorted queries in the sorted array is cache-friendly; the counts are put back in row order
    left = sorted_packed.searchsorted(sorted_packed - int(window.total_seconds()), side="right")
    right = sorted_packed.searchsorted(sorted_packed, side="right")
    counts = np.empty(len(packed), dtype=np.int64)
    counts[order] = right - left
    return pd.Series(counts, index=keys.index)
