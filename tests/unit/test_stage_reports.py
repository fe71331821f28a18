from datetime import UTC, datetime

from acorn.stage_reports import DecideReport, Interval, LoadReport

START, END = datetime(2026, 11, 2, 9, tzinfo=UTC), datetime(2026, 11, 2, 10, tzinfo=UTC)
DECIDED = {
    "account_id": "amazon-eu", "landing": "/landing/amazon-eu/x", "policy_version": "2026.11.1+ab",
    "auto_refunds_paused": False, "verdict": "pass", "outcomes": {"approve": 3}, "liability": {"seller": 3},
    "categories": {"customer_return": 3}, "claims": 0, "review_items": 0, "refunds_reporting_minor": 1200,
    "reporting_currency": "EUR",
}  # fmt: skip


def test_a_report_travels_through_xcom_typed_and_back_unchanged():
    report = DecideReport(**DECIDED, interval=Interval(START, END))
    xcom = report.to_xcom()
    assert xcom["interval"] == ["2026-11-02T09:00:00+00:00", "2026-11-02T10:00:00+00:00"]
    assert DecideReport.from_xcom(xcom) == report


def test_a_report_left_in_xcom_before_the_typed_reports_is_still_read():
    # a run from before the upgrade: the interval under "window", the earlier stages' fields beside it
    old = {**DECIDED, "window": ["2026-11-02T09:00:00+00:00", "2026-11-02T10:00:00+00:00"], "source": "demo"}
    got = DecideReport.from_xcom(old)
    assert got.interval == Interval(START, END)
    assert got.outcomes == {"approve": 3}
    loaded = {
        "account_id": "amazon-eu", "landing": "/l", "window": old["window"], "batch_id": "b", "replay": False,
        "verdict": "pass", "inserted": {}, "updated": {}, "loaded_refunds_minor": {"EUR": 1200}, "quarantined": 0,
        "review_items": 0, "review_minor": {}, "refunds_absent_from_reread": 0, "withdrawn": {},
        "outcomes": {"approve": 3},
    }  # fmt: skip
    assert LoadReport.from_xcom(loaded).loaded_refunds_minor == {"EUR": 1200}
