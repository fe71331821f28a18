import json
from datetime import UTC, datetime, timedelta

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from acorn.channels.demo import generate
from acorn.normalize import Canonical, normalize
from acorn.quality.validate import money_identity as validate_identity
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
    from acorn.risk.flags import empty_history, history_since

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
    assert len(decide(facts, policy, rates, empty_history()).decisions) == len(kept)


def test_an_unreadable_row_does_not_excuse_a_control_total_that_does_not_add_up(accounts, taxonomy):
    canonical = normalize(generate(accounts["amazon-na"], DAY, DAY.replace(hour=2)), taxonomy, b"k")
    refunds = canonical.refund_lines[canonical.refund_lines["currency"].eq("USD")]
    # one refund whose amount could not be read (28.29 USD as text): it is in no control total
    line_ids = canonical.order_lines.set_index("line_uid")["external_line_id"]
    lost = refunds.iloc[[0]].assign(external_line_id=lambda r: r["line_uid"].map(line_ids))
    q = pd.concat([canonical.quarantine, _as_unreadable(lost)], ignore_index=True)
    kept = refunds.iloc[1:]
    readable = q[q["entity"].eq("refund_lines") & q["amount_minor"].notna()]
    exact = {"USD": int(kept["amount_minor"].sum())}
    for ccy, total in readable.groupby("currency")["amount_minor"].sum().items():
        exact[str(ccy)] = exact.get(str(ccy), 0) + int(total)
    lines = canonical.order_lines
    assert validate_identity(exact, kept, q, lines)["success"]
    # the channel's total holds the unreadable row's own amount: its order line could have held that much
    own = int(refunds["amount_minor"].iloc[0])
    with_it = validate_identity({**exact, "USD": exact["USD"] + own}, kept, q, lines)
    assert with_it["success"]
    assert with_it["attributed_to_unreadable_minor"] == {"USD": own}
    inflated = {**exact, "USD": exact["USD"] + own + 100_000_000}  # 1,000,000.00 USD more than that
    held = validate_identity(inflated, kept, q, lines)
    assert not held["success"]  # passed before: one unreadable row excused any difference
    assert held["differences_minor"] == {"USD": own + 100_000_000}
    assert held["unreadable_quarantined_rows"] == 1
    assert not validate_identity({**exact, "USD": exact["USD"] + own}, kept, q)["success"]  # no line known


def _as_unreadable(rows: pd.DataFrame) -> pd.DataFrame:
    from acorn.normalize import empty_quarantine

    return (
        pd.DataFrame(
            {
                "account_id": "amazon-na",
                "entity": "refund_lines",
                "source_file": "",
                "source_row": 1,
                "source_key": rows["external_refund_id"].astype("string"),
                "field": "amount",
                "reason": "not a decimal amount",
                "check_name": "parse",
                "currency": "USD",
                "amount_minor": pd.NA,
                "raw_record": [json.dumps({"external_line_id": x}) for x in rows["external_line_id"]],
            }
        )
        .reindex(columns=empty_quarantine().columns)
        .astype(empty_quarantine().dtypes.to_dict())
    )
