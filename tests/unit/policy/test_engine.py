"""Table-driven checks of the default policy; every expected amount is worked out by hand in the comment."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acorn.channels.demo.generator import generate
from acorn.landing import read_frame, write_frame
from acorn.normalize import normalize
from acorn.policy.engine import CODED_COLUMNS, build_facts, decide
from acorn.risk.flags import assess as assess_with
from acorn.risk.flags import empty_history

from .cases import REFUNDED_AT, case


def assess(facts, history, policy):
    """The facts with the policy's risk flags, as the decide stage gives them to the engine."""
    return assess_with(facts, history, policy.serial_returner_refunds)


def run(policy, rates, history=None, paused=False, **kw):
    refunds, lines, orders = case(**kw)
    decided = decide(
        assess(build_facts(refunds, lines, orders), empty_history() if history is None else history, policy),
        policy,
        rates,
        paused=paused,
    )
    return decided.decisions.iloc[0], decided


@pytest.mark.parametrize(
    ("overrides", "outcome", "rule", "party", "category"),
    [
        ({}, "approve", "D090-fba-in-window", "seller", "customer_return"),
        (
            {"disposition": "WAREHOUSE_DAMAGED"},
            "claim",
            "D060-recoverable",
            "marketplace",
            "warehouse_damage",
        ),
        ({"reason": "UNMAPPED"}, "review", "D010-unmapped-reason", "seller", "customer_return"),
        ({"event_type": "CHARGEBACK"}, "review", "D070-chargeback", "seller", "chargeback"),
        ({"event_type": "GUARANTEE_CLAIM"}, "approve", "D090-fba-in-window", "seller", "a_to_z_guarantee"),
        (
            {
                "fulfillment_model": "MFN",
                "ship_method": "BUY_SHIPPING",
                "reason": "NOT_RECEIVED",
                "returnless": True,
                "disposition": None,
            },
            "claim",
            "D060-recoverable",
            "marketplace",
            "marketplace_funded_delivery",
        ),
        (
            {
                "fulfillment_model": "MFN",
                "ship_method": "SELLER_LABEL",
                "reason": "NOT_RECEIVED",
                "returnless": True,
                "disposition": None,
            },
            "claim",
            "D060-recoverable",
            "carrier",
            "carrier_loss",
        ),
        (
            {
                "fulfillment_model": "STORE",
                "channel": "shopify",
                "returnless": True,
                "reason": "UNWANTED",
                "disposition": None,
            },
            "review",
            "D080-returnless-not-allowed",
            "seller",
            "goodwill",
        ),
        (
            {"delivered_at": REFUNDED_AT - pd.Timedelta(days=45)},
            "reject",
            "D120-outside-window",
            "seller",
            "customer_return",
        ),
    ],
)
def test_default_policy_decides_each_family(policy, rates, overrides, outcome, rule, party, category):
    decision, _ = run(policy, rates, **overrides)
    assert (decision.outcome, decision.decision_rule) == (outcome, rule)
    assert (decision.liable_party, decision.accounting_category) == (party, category)
    assert decision.policy_version == policy.version


def test_high_value_refund_is_always_reviewed(policy, rates):
    # principal 250.00 + tax 47.50 = 297.50 EUR refunded, paid the same: only the threshold applies
    decision, _ = run(policy, rates, principal_minor=25000, tax_minor=4750, amount_minor=29750)
    assert decision.outcome == "review"
    assert decision.decision_rule == "D040-high-value"
    assert decision.amount_reporting_minor == 29750


def test_refund_above_what_was_paid_is_reviewed(policy, rates):
    # the buyer paid 100.00 + 19.00 tax = 119.00; the refund says 150.00 + 19.00 = 169.00
    refunds, lines, orders = case()
    refunds["principal_minor"], refunds["amount_minor"] = 15000, 16900
    decisions = decide(
        assess(build_facts(refunds, lines, orders), empty_history(), policy), policy, rates
    ).decisions
    assert (decisions.outcome[0], decisions.decision_rule[0]) == ("review", "D030-exceeds-paid")
    assert decisions.risk_flags[0] == "exceeds_paid"


def test_amazon_refund_fee_is_the_lesser_of_five_units_and_a_fifth_of_the_referral_fee(policy, rates):
    # referral fee 15.00 on 100.00 principal, all refunded: 20% = 3.00 < 5.00, so Amazon keeps 3.00 and
    # returns 12.00; the seller's cost is 119.00 - 12.00 = 107.00
    decision, _ = run(policy, rates)
    assert decision.refund_admin_fee_minor == 300
    assert decision.referral_fee_returned_minor == 1200
    assert decision.seller_cost_minor == 10700
    # referral fee 45.00: 20% = 9.00 > 5.00, so 5.00 is kept and 40.00 returned
    decision, _ = run(policy, rates, referral_fee_minor=4500)
    assert (decision.refund_admin_fee_minor, decision.referral_fee_returned_minor) == (500, 4000)


def test_half_refund_returns_half_the_referral_fee(policy, rates):
    # 50.00 of 100.00 principal refunded: referral refunded 7.50, fee 1.50, returned 6.00
    refunds, lines, orders = case()
    refunds["principal_minor"], refunds["tax_minor"], refunds["amount_minor"] = 5000, 950, 5950
    decision = decide(
        assess(build_facts(refunds, lines, orders), empty_history(), policy), policy, rates
    ).decisions.iloc[0]
    assert (decision.refund_admin_fee_minor, decision.referral_fee_returned_minor) == (150, 600)
    assert decision.seller_cost_minor == 5350


def test_marketplace_facilitator_tax_given_back_is_not_the_sellers_cost(policy, rates):
    # a US refund of 100.00 + 19.00 tax Amazon collected as marketplace facilitator: Amazon gives the 19.00
    # back, so the seller's cost is 119.00 - 12.00 (referral fee returned) - 19.00 = 88.00
    decision, _ = run(policy, rates, tax_withheld_minor=1900)
    assert decision.seller_cost_minor == 8800  # 10700 before: the tax was counted as the seller's
    assert decision.amount_reporting_minor == run(policy, rates)[0].amount_reporting_minor


def test_store_refunds_pay_no_amazon_fee(policy, rates):
    decision, _ = run(policy, rates, channel="shopify", fulfillment_model="STORE", referral_fee_minor=0)
    assert (decision.refund_admin_fee_minor, decision.seller_cost_minor) == (0, 11900)


def test_reporting_currency_uses_the_rate_of_the_refund_date(policy, rates):
    # 2026-11-02: 1 EUR = 1.0670 USD, so 119.00 USD = 111.5276... EUR -> 111.53 EUR
    decision, _ = run(policy, rates, currency="USD", marketplace="US")
    assert decision.fx_rate_date == pd.Timestamp("2026-11-02")
    assert decision.amount_reporting_minor == 11153


def test_jpy_refund_converts_without_inventing_yen_decimals(policy, rates):
    # 2026-11-02: 1 EUR = 161.04 JPY; 11,900 JPY = 73.8947... EUR -> 73.89 EUR; fee: min(5 JPY, 20% of 1,500) = 5
    decision, _ = run(policy, rates, currency="JPY", marketplace="JP")
    assert decision.amount_reporting_minor == 7389
    assert decision.refund_admin_fee_minor == 5


def test_weekend_refund_uses_the_last_published_rate(policy, rates):
    decision, _ = run(
        policy,
        rates,
        currency="USD",
        refunded_at=pd.Timestamp("2026-11-01T12:00:00Z"),
        delivered_at=pd.Timestamp("2026-10-28T12:00:00Z"),
    )
    assert decision.fx_rate_date == pd.Timestamp("2026-10-30")


def test_missing_rate_sends_the_refund_to_review(policy, rates):
    decision, _ = run(
        policy,
        rates,
        currency="USD",
        refunded_at=pd.Timestamp("2020-01-02T00:00:00Z"),
        delivered_at=pd.Timestamp("2019-12-30T00:00:00Z"),
    )
    assert (decision.outcome, decision.decision_rule, decision.fx_rate_e9) == ("review", "D005-no-fx-rate", 0)


def test_second_refund_on_the_same_line_is_never_approved(policy, rates):
    refunds, lines, orders = case(n=2, principal_minor=2000, tax_minor=380, amount_minor=2380)
    refunds.loc[1, "refunded_at"] = refunds.loc[0, "refunded_at"] + pd.Timedelta(minutes=5)
    decisions = decide(
        assess(build_facts(refunds, lines, orders), empty_history(), policy), policy, rates
    ).decisions
    assert decisions["outcome"].tolist() == ["approve", "review"]
    assert decisions["decision_rule"].tolist()[1] == "D020-duplicate-refund"


def test_claims_get_the_marketplace_window(policy, rates):
    # FBA warehouse damage: file within 60 days of the refund on 2026-11-02
    _, decided = run(policy, rates, disposition="WAREHOUSE_DAMAGED")
    claim = decided.claims.iloc[0]
    assert (claim.claim_type, claim.counterparty) == ("fba_warehouse_damage", "marketplace")
    assert claim.deadline == pd.Timestamp("2027-01-01")
    assert claim.amount_minor == 10700  # what the seller was charged after fees
    # customer-return claim in DE: 45 to 105 days (the EU window), not the US 60 to 120
    _, decided = run(policy, rates, disposition="CARRIER_DAMAGED")
    claim = decided.claims.iloc[0]
    assert (claim.opens_on, claim.deadline) == (pd.Timestamp("2026-12-17"), pd.Timestamp("2027-02-15"))
    assert '"disposition": "CARRIER_DAMAGED"' in claim.evidence


def test_vat_part_rate_and_credit_note(policy, rates):
    # DE: 19% on the 100.00 net is 19.00, refunded in full; EU marketplace: a credit note is required
    decision, _ = run(policy, rates)
    assert (decision.vat_rate_e6, decision.vat_minor, decision.vat_expected_minor) == (190_000, 1900, 1900)
    assert bool(decision.credit_note_required)
    # US marketplace: 7% sales tax on 100.00 = 7.00 expected; the channel refunded 19.00; no credit note
    decision, _ = run(policy, rates, marketplace="US", currency="USD")
    assert (decision.vat_rate_e6, decision.vat_expected_minor, decision.vat_minor) == (70_000, 700, 1900)
    assert not decision.credit_note_required
    # chargebacks are not refunds the seller invoices: no credit note
    decision, _ = run(policy, rates, event_type="CHARGEBACK")
    assert not decision.credit_note_required


def test_who_bears_each_part_of_the_refund(policy, rates):
    # FBA return, seller liable: 119.00 refunded; referral fee 15.00 given back less Amazon's fee of
    # min(5.00, 20% of 15.00 = 3.00) = 3.00 -> 12.00 returned; the seller bears 119.00 - 12.00 = 107.00;
    # Amazon handles FBA returns: no label
    d, _ = run(policy, rates)
    assert (d.borne_by_seller_minor, d.borne_by_counterparty_minor, d.borne_by_customer_minor) == (
        10700,
        0,
        0,
    )
    assert d.return_label_minor == 0
    assert pd.isna(d.return_label_paid_by)
    # FBA warehouse damage: the marketplace is liable, it bears the 107.00 (claimed back)
    d, _ = run(policy, rates, disposition="WAREHOUSE_DAMAGED")
    assert (d.borne_by_seller_minor, d.borne_by_counterparty_minor) == (0, 10700)
    # a store return of a defective item in EUR: the seller pays the 5.90 label on top of the 119.00
    d, _ = run(policy, rates, channel="shopify", fulfillment_model="STORE", ship_method="SELLER_LABEL")
    assert (d.return_label_minor, d.return_label_paid_by) == (590, "seller")
    assert (d.borne_by_seller_minor, d.borne_by_customer_minor) == (11900 + 590, 0)
    # a size exchange with a 15.00 restocking fee: the buyer pays the label and the fee
    d, _ = run(
        policy,
        rates,
        channel="shopify",
        fulfillment_model="STORE",
        ship_method="SELLER_LABEL",
        reason="SIZE_FIT",
        restocking_fee_minor=1500,
        amount_minor=10400,
    )
    assert (d.return_label_paid_by, d.borne_by_customer_minor, d.borne_by_seller_minor) == (
        "customer",
        2090,
        10400,
    )
    # returnless: nothing comes back, no label
    d, _ = run(policy, rates, channel="magento", fulfillment_model="STORE", returnless=True, disposition=None)
    assert d.return_label_minor == 0


def test_kill_switch_turns_every_approval_into_review(policy, rates):
    decision, _ = run(policy, rates, paused=True)
    assert (decision.outcome, decision.decision_rule) == ("review", "K000-auto-refunds-paused")


def test_a_newer_policy_version_is_recorded(policy, rates):
    decision, _ = run(replace(policy, version="2027.01.1"), rates)
    assert decision.policy_version == "2027.01.1"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    principal=st.integers(min_value=0, max_value=5_000_000),
    tax=st.integers(min_value=0, max_value=500_000),
    currency=st.sampled_from(["EUR", "USD", "GBP", "JPY", "MXN", "CAD"]),
    channel=st.sampled_from(["amazon", "shopify", "magento"]),
    disposition=st.sampled_from(
        ["SELLABLE", "WAREHOUSE_DAMAGED", "CARRIER_DAMAGED", "CUSTOMER_DAMAGED", None]
    ),
)
def test_every_line_gets_exactly_one_outcome_and_the_parts_add_up(
    policy, rates, principal, tax, currency, channel, disposition
):
    refunds, lines, orders = case(
        principal_minor=principal,
        tax_minor=tax,
        amount_minor=principal + tax,
        currency=currency,
        channel=channel,
        disposition=disposition,
    )
    facts = build_facts(refunds, lines, orders)
    first = decide(assess(facts, empty_history(), policy), policy, rates).decisions
    again = decide(assess(facts, empty_history(), policy), policy, rates).decisions
    pd.testing.assert_frame_equal(first, again)
    row = first.iloc[0]
    assert row.outcome in {"approve", "review", "reject", "claim"}
    # refunded = what the seller bears + the referral fee given back, exactly, in the transaction currency
    assert row.seller_cost_minor + row.referral_fee_returned_minor == principal + tax
    # the bearers split the seller cost (and the label the seller pays) without a unit lost
    label_seller = row.return_label_minor if str(row.return_label_paid_by) == "seller" else 0
    assert row.borne_by_seller_minor + row.borne_by_counterparty_minor == row.seller_cost_minor + label_seller
    assert row.refund_admin_fee_minor >= 0
    assert isinstance(int(row.amount_reporting_minor), int)


def test_facts_read_from_the_landing_as_categoricals_decide_exactly_as_text(
    accounts, taxonomy, policy, rates, tmp_path
):
    """The decide task reads the columns rules select on as categoricals; nothing it decides may change."""
    day = datetime(2026, 11, 2, tzinfo=UTC)
    batch = generate(accounts["amazon-eu"], day, day + timedelta(hours=6), lines_per_hour=400)
    canonical = normalize(batch, taxonomy, b"k")
    landed = {}
    for name, columns in CODED_COLUMNS.items():
        write_frame(tmp_path, name, getattr(canonical, name))
        landed[name] = read_frame(tmp_path, name, columns)
    assert isinstance(landed["orders"]["fulfillment_model"].dtype, pd.CategoricalDtype)
    # a refund whose order line and order the batch does not hold: its context comes back missing
    orphan = canonical.order_lines["line_uid"] == canonical.refund_lines["line_uid"].iloc[0]
    lines = [canonical.order_lines[~orphan], landed["order_lines"][~orphan.to_numpy()]]
    as_text = decide(
        assess(build_facts(canonical.refund_lines, lines[0], canonical.orders), empty_history(), policy),
        policy,
        rates,
    )
    as_codes = decide(
        assess(build_facts(landed["refund_lines"], lines[1], landed["orders"]), empty_history(), policy),
        policy,
        rates,
    )
    assert len(as_text.claims) > 0
    assert as_text.decisions["outcome"].nunique() >= 3
    assert as_codes.facts["order_context_missing"].sum() == as_text.facts["order_context_missing"].sum() >= 1
    for name in ("decisions", "claims"):
        text, codes = getattr(as_text, name), getattr(as_codes, name)
        pd.testing.assert_frame_equal(codes, text)


@pytest.mark.parametrize(
    ("delivered_at", "days"),
    [
        (REFUNDED_AT - pd.Timedelta(days=30, hours=23), 30),
        (REFUNDED_AT - pd.Timedelta(days=31), 31),
        (REFUNDED_AT + pd.Timedelta(hours=1), -1),
        (None, None),
    ],
)
def test_days_since_delivery_are_whole_days_floored_and_missing_without_a_delivery(delivered_at, days):
    refunds, lines, orders = case(delivered_at=delivered_at or REFUNDED_AT)
    if delivered_at is None:
        lines["delivered_at"] = pd.Series([pd.NaT], dtype=lines["delivered_at"].dtype)
    facts = build_facts(refunds, lines, orders)
    got = facts["days_since_delivery"].iloc[0]
    assert (pd.isna(got) and days is None) or got == days
    assert facts["days_since_delivery"].dtype == "Int64"


def _policy_with(tmp_path, mutate):
    import yaml

    from acorn.policy.rules import load_policy
    from acorn.settings import load_settings

    data = yaml.safe_load(load_settings().policy_file.read_text())
    mutate(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_policy(path)


def _rule(data, key, rule_id):
    return next(r for r in data[key] if r["id"] == rule_id)


def test_a_safe_t_claim_recovers_the_share_the_policy_names(policy, rates, tmp_path):
    # MFN, the buyer returned it damaged: seller cost 119.00 - 12.00 referral fee returned = 107.00
    safe_t = {"fulfillment_model": "MFN", "ship_method": "SELLER_LABEL", "disposition": "CUSTOMER_DAMAGED"}
    d, decided = run(policy, rates, **safe_t)
    assert (d.outcome, d.claim_type, d.recoverable_minor) == ("claim", "safe_t", 10700 // 2)
    assert decided.claims["amount_minor"].tolist() == [5350]

    def quarter(data):
        _rule(data, "liability_rules", "L080-customer-damaged-mfn")["recoverable_share"] = "0.25"

    d, decided = run(_policy_with(tmp_path, quarter), rates, **safe_t)
    assert d.recoverable_minor == 10700 // 4
    assert decided.claims["amount_minor"].tolist() == [2675]


def test_the_serial_returner_threshold_is_the_policys(policy, rates, tmp_path):
    from acorn.risk.flags import HISTORY_COLUMNS

    # the buyer had two refunds on other lines in the last 90 days: this is their third
    history = pd.DataFrame(
        {
            "refund_uid": ["h1", "h2"],
            "line_uid": ["lx", "ly"],
            "buyer_ref": ["b1", "b1"],
            "amount_minor": [1000, 1000],
            "refunded_at": [REFUNDED_AT - pd.Timedelta(days=d) for d in (5, 9)],
        }
    ).astype(HISTORY_COLUMNS)
    d, _ = run(policy, rates, history=history)  # the default policy: four refunds make a serial returner
    assert d.decision_rule == "D090-fba-in-window"
    assert "serial_returner" not in str(d.risk_flags)

    def three(data):
        data["risk"]["serial_returner_refunds_90d"] = 3

    d, _ = run(_policy_with(tmp_path, three), rates, history=history)
    assert d.decision_rule == "D050-serial-returner"
    assert "serial_returner" in str(d.risk_flags)


def test_each_step_of_the_engine_runs_alone(policy, rates):
    from acorn.columns import CodedColumns
    from acorn.policy.engine import assign_liability, bear, choose_outcome, open_claims, price

    refunds, lines, orders = case(disposition="WAREHOUSE_DAMAGED")
    facts = assess(build_facts(refunds, lines, orders), empty_history(), policy)
    coded = CodedColumns(facts)
    priced = price(facts, coded, policy, rates)
    assert priced.seller_cost.tolist() == [10700]  # 119.00 less the 12.00 of referral fee given back
    assert facts["amount_reporting"].tolist() == [11900]  # EUR is the reporting currency
    liability = assign_liability(facts, coded, policy)
    assert liability.columns["liability_rule"].tolist() == ["L010-fba-warehouse-damage"]
    assert facts["claimable"].tolist() == [True]
    outcome = choose_outcome(facts, coded, policy, paused=False)
    assert policy.decision_rules[outcome.rule[0]].id == "D060-recoverable"
    assert outcome.claim.tolist() == [True]
    money = bear(facts, coded, policy, priced, liability, outcome)
    assert (money["recoverable_minor"].tolist(), money["borne_by_counterparty_minor"].tolist()) == (
        [10700],
        [10700],
    )
    claims = open_claims(facts, decide(facts, policy, rates).decisions)
    assert claims[["claim_type", "counterparty", "amount_minor"]].values.tolist() == [
        ["fba_warehouse_damage", "marketplace", 10700]
    ]
