"""The operation log export and the kill switch's audit, against a real Postgres."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow.parquet as pq
import pytest

from acorn.errors import InvalidInput
from acorn.review import switch
from acorn.review.answers import answer_items
from acorn.review.export import formula_safe, operation_log, to_csv, to_parquet
from tests.integration.review.conftest import open_ids


def test_the_export_holds_the_days_audit_events_decisions_and_answers(conn, two_accounts):
    [item, *_] = open_ids(conn)
    answer_items(conn, [item], "rejected", responded_by="alice", comment='=HYPERLINK("http://evil")')
    frame = operation_log(conn, 7, datetime.now(UTC) + timedelta(minutes=1))
    counts = frame["record"].value_counts().to_dict()
    decisions = conn.execute("SELECT count(*) FROM core.decisions").fetchone()[0]
    audit = conn.execute("SELECT count(*) FROM core.audit_log").fetchone()[0]
    assert counts == {"decision": decisions, "audit_log": audit, "review_answer": 1}
    answer = frame[frame["record"] == "review_answer"].iloc[0]
    assert (answer["actor"], answer["action"], answer["review_item_id"]) == ("alice", "rejected", item)
    assert frame["occurred_at"].is_monotonic_increasing
    # a day that holds nothing yields nothing
    assert operation_log(conn, 1, datetime.now(UTC) - timedelta(days=30)).empty


def test_csv_is_utf8_with_bom_and_formula_safe_and_parquet_has_the_same_rows(conn, two_accounts):
    [item, *_] = open_ids(conn)
    answer_items(conn, [item], "rejected", responded_by="alice", comment="=1+2 please")
    frame = operation_log(conn, 7, datetime.now(UTC) + timedelta(minutes=1))
    data = to_csv(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(back) == len(frame)
    assert "'=1+2 please" in set(back["comment"])
    assert not [c for c in back.to_numpy().ravel() if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    table = pq.read_table(io.BytesIO(to_parquet(frame)))
    assert table.num_rows == len(frame)
    assert "=1+2 please" in table.column("comment").to_pylist()


@pytest.mark.parametrize("value", ["=cmd", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_each_formula_start_is_escaped(value):
    assert formula_safe(value) == "'" + value


@pytest.mark.parametrize("days", [0, -1, 367, "7"])
def test_days_out_of_range_are_refused(conn, days):
    with pytest.raises(InvalidInput) as raised:
        operation_log(conn, days, datetime.now(UTC))
    assert raised.value.field == "days"


def test_every_switch_change_is_audited_and_a_change_made_elsewhere_is_noticed(conn):
    assert switch.notice_outside_change(conn, False).changed_by is None  # never changed: nothing to record
    on = switch.record_change(
        conn, paused=True, changed_by="alice", reason="duplicate refunds seen", was=False
    )
    assert (on.paused, on.changed_by, on.reason) == (True, "alice", "duplicate refunds seen")
    assert switch.notice_outside_change(conn, True) == switch.last_change(conn)  # agrees: nothing new
    outside = switch.notice_outside_change(conn, False)  # someone set the Variable under Admin > Variables
    assert not outside.paused
    assert outside.changed_by.startswith("unknown")
    events = conn.execute(
        "SELECT actor, details->>'paused', details->>'source' FROM core.audit_log "
        "WHERE action = 'kill_switch_changed' ORDER BY event_id"
    ).fetchall()
    assert events == [
        ("alice", "true", "page"),
        ("unknown (outside the reviewer's page)", "false", "outside"),
    ]
    with pytest.raises(InvalidInput, match="reason"):
        switch.record_change(conn, paused=True, changed_by="bob", reason="  ", was=False)
