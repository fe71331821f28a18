from datetime import timedelta

import numpy as np
import pandas as pd

from acorn.risk.flags import SERIAL_WINDOW, _rolling_count, empty_history, risk_flags


def facts(rows):
    frame = pd.DataFrame(
        rows, columns=["refund_uid", "line_uid", "buyer_ref", "amount_minor", "refunded_at", "paid_minor"]
    )
    frame["refunded_at"] = pd.to_datetime(frame["refunded_at"], utc=True)
    return frame


def test_second_refund_on_a_line_is_a_duplicate_also_across_batches():
    history = facts([("r0", "l1", "b1", 500, "2026-10-01T00:00Z", 0)]).drop(columns="paid_minor")
    batch = facts(
        [
            ("r1", "l1", "b1", 500, "2026-11-01T00:00Z", 1000),
            ("r2", "l2", "b2", 500, "2026-11-01T00:00Z", 1000),
        ]
    )
    flags = risk_flags(batch, history.astype({"refunded_at": "datetime64[us, UTC]"}))
    assert flags["duplicate_refund"].tolist() == [True, False]
    # 5.00 before + 5.00 now = 10.00 = paid: not above; a third would be
    assert flags["exceeds_paid"].tolist() == [False, False]


def test_refunds_beyond_what_was_paid_are_flagged_in_time_order():
    batch = facts(
        [
            ("r2", "l1", "b1", 700, "2026-11-01T02:00Z", 1000),
            ("r1", "l1", "b1", 700, "2026-11-01T01:00Z", 1000),
        ]
    )
    flags = risk_flags(batch, empty_history())
    assert flags["exceeds_paid"].tolist() == [True, False]  # r1 came first and fits; r2 takes it to 14.00
    assert flags["duplicate_refund"].tolist() == [True, False]


def test_serial_returner_counts_refunds_in_the_last_90_days():
    days = ["2026-01-01", "2026-08-15", "2026-09-15", "2026-10-15", "2026-11-01"]
    rows = [(f"r{i}", f"l{i}", "b1", 100, f"{d}T00:00Z", 1000) for i, d in enumerate(days)]
    flags = risk_flags(facts(rows), empty_history())
    # January is outside every later 90-day window; 2026-11-01 looks back to 2026-08-03
    assert flags["buyer_refunds_90d"].tolist() == [1, 1, 2, 3, 4]


def test_lines_grouped_by_the_joins_rows_flag_as_lines_grouped_by_id():
    history = facts(
        [("r0", "l1", "b1", 500, "2026-10-01T00:00Z", 0), ("r9", "l7", "b2", 900, "2026-10-02T00:00Z", 0)]
    ).drop(columns="paid_minor")
    batch = facts(
        [
            ("r1", "l1", "b1", 300, "2026-11-01T01:00Z", 1000),
            ("r2", "l1", "b1", 300, "2026-11-01T02:00Z", 1000),
            ("r3", "l9", "b3", 100, "2026-11-01T01:00Z", 150),  # l9 and l8: lines the join did not find
            ("r4", "l9", "b3", 100, "2026-11-01T02:00Z", 150),
            ("r5", "l8", "b3", 100, "2026-11-01T03:00Z", 150),
        ]
    )
    history = history.astype({"refunded_at": "datetime64[us, UTC]"})
    by_row = risk_flags(batch, history, np.array([0, 0, -1, -1, -1]))
    assert by_row["duplicate_refund"].tolist() == [True, True, False, True, False]
    assert by_row["exceeds_paid"].tolist() == [False, True, False, True, False]  # 5+3+3 > 10; 1+1 > 1.50
    pd.testing.assert_frame_equal(by_row, risk_flags(batch, history))


def test_an_empty_batch_with_history_gets_no_flags():
    history = facts([("r0", "l1", "b1", 500, "2026-10-01T00:00Z", 0)]).drop(columns="paid_minor")
    empty = facts([]).astype({"amount_minor": "int64", "paid_minor": "int64"})
    flags = risk_flags(
        empty, history.astype({"refunded_at": "datetime64[us, UTC]"}), np.array([], dtype=np.int64)
    )
    assert flags.empty
    assert list(flags.columns) == ["duplicate_refund", "exceeds_paid", "buyer_refunds_90d"]


def _counts_one_by_one(codes: np.ndarray, seconds: np.ndarray, window: timedelta) -> list[int]:
    span = window.total_seconds()
    return [
        int(((codes == c) & (seconds > s - span) & (seconds <= s)).sum())
        for c, s in zip(codes, seconds, strict=True)
    ]


def test_buyer_windows_count_as_one_by_one_whichever_way_the_rows_are_sorted():
    rng = np.random.default_rng(7)
    rows = 3000
    buyers = rng.integers(0, 40, rows)
    seconds = rng.integers(0, 2**24, rows)  # 194 days: windows reaching before a buyer's first refund
    buyers[-500:], seconds[-500:] = buyers[:500], seconds[:500]  # and refunds at the same second
    stamps = pd.to_datetime(seconds + 1_767_225_600, unit="s", utc=True).astype("datetime64[us, UTC]")
    batch = pd.DataFrame(
        {
            "refund_uid": [f"r{i}" for i in range(rows)],
            "line_uid": [f"l{i}" for i in range(rows)],
            "buyer_ref": [f"b{b}" for b in buyers],
            "amount_minor": 100,
            "refunded_at": stamps,
            "paid_minor": 1000,
        }
    )
    expected = _counts_one_by_one(buyers, seconds, SERIAL_WINDOW)
    assert risk_flags(batch, empty_history())["buyer_refunds_90d"].tolist() == expected
    # keys and times too wide to carry the row numbers as well: the indirect sort gives the same counts
    sparse = buyers.astype(np.int64) * 12_000
    wide = seconds.astype(np.int64) * 150_000
    window = SERIAL_WINDOW * 150_000
    assert _rolling_count(sparse, wide, window).tolist() == _counts_one_by_one(sparse, wide, window)
