from datetime import UTC, datetime, timedelta

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from acorn.channels.demo.generator import generate
from acorn.normalize import Canonical, normalize
from acorn.quality.validate import run_suite, validate

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def _validated(canonical: Canonical):
    return validate(
        canonical,
        account_id="amazon-eu",
        interval_start=DAY,
        interval_end=DAY + timedelta(days=1),
        control_totals={},
    )


def test_rows_failing_an_expectation_are_quarantined_by_field_and_the_rest_kept(accounts, taxonomy):
    canonical = normalize(generate(accounts["amazon-eu"], DAY, DAY.replace(hour=2)), taxonomy, b"k")
    refunds = canonical.refund_lines.reset_index(drop=True)
    clean = _validated(canonical)
    assert len(clean.canonical.refund_lines) == len(refunds)
    bad = refunds.copy()
    bad.loc[1, "refund_uid"] = bad.loc[0, "refund_uid"]  # the same refund twice: both rows fail
    bad.loc[2, "refunded_at"] = DAY - timedelta(seconds=1)  # before the interval
    bad.loc[3, "quantity"] = 0
    got = _validated(Canonical(canonical.orders, canonical.order_lines, bad, canonical.quarantine))
    kept = got.canonical.refund_lines
    assert len(kept) == len(refunds) - 4
    assert not kept["external_refund_id"].isin(refunds["external_refund_id"][:4]).any()
    q = got.canonical.quarantine.query("check_name == 'great_expectations'").set_index("source_key")
    fields = q["field"].reindex(refunds["external_refund_id"][:4]).tolist()
    assert fields == ["refund_uid", "refund_uid", "refunded_at_epoch_s", "quantity"]
    assert got.expectations["refund_lines"]["expect_column_values_to_be_unique(refund_uid)"] == 2
    assert pd.Series(q["reason"]).str.contains("expect_column_values_to_be_unique").sum() == 2


def test_an_id_column_another_expectation_reads_is_checked_as_text_for_it_too():
    suite = gx.ExpectationSuite(
        name="ids_unique_and_known",
        expectations=[
            gxe.ExpectColumnValuesToBeUnique(column="refund_uid"),
            gxe.ExpectColumnValuesToBeInSet(column="refund_uid", value_set=["r1", "r2"]),
        ],
    )
    frame = pd.DataFrame({"refund_uid": pd.Series(["r1", "r2", "r2", "r3"], dtype="string")})
    failures, summary = run_suite(frame, suite)
    assert summary["evaluated"] == 2
    assert not summary["success"]
    assert sorted(failures) == [1, 2, 3]  # r2 twice, r3 not in the set
    assert len(failures[3]) == 1


def test_a_placeholder_refund_date_in_a_file_is_quarantined_and_decide_can_run(
    accounts, taxonomy, policy, rates
):
    """Files picked by arrival have no event window; 0001-01-01 passed validation and decide's 90-day history
    window overflowed (OverflowError)."""
    from acorn.policy.engine import build_facts, decide
    from acorn.risk.flags import assess, empty_history, history_since

    canonical = normalize(generate(accounts["shopify-outdoor"], DAY, DAY.replace(hour=2)), taxonomy, b"k")
    refunds = canonical.refund_lines.reset_index(drop=True)
    bad = refunds.copy()
    bad.loc[0, "refunded_at"] = pd.Timestamp("0001-01-01", tz="UTC")
    bad.loc[1, "refunded_at"] = pd.Timestamp("1900-01-01", tz="UTC")
    got = validate(
        Canonical(canonical.orders, canonical.order_lines, bad, canonical.quarantine),
        account_id="shopify-outdoor",
        interval_start=None,
        interval_end=None,
        control_totals={},
    )
    kept = got.canonical.refund_lines
    assert len(kept) == len(refunds) - 2
    q = got.canonical.quarantine.query("check_name == 'great_expectations'")
    assert q["field"].tolist() == ["refunded_at_epoch_s", "refunded_at_epoch_s"]
    since = history_since(kept["refunded_at"], DAY)
    assert since.year == 2026
    facts = build_facts(kept, got.canonical.order_lines, got.canonical.orders)
    flagged = assess(facts, empty_history(), policy.serial_returner_refunds)
    assert len(decide(flagged, policy, rates).decisions) == len(kept)
