from datetime import UTC, datetime

import pandas as pd
import pytest

from acorn.channels.demo.generator import generate
from acorn.money import parse_minor

DAY = datetime(2026, 11, 2, tzinfo=UTC)
NEXT = datetime(2026, 11, 3, tzinfo=UTC)


def test_same_seed_and_interval_give_the_same_records(accounts):
    a = generate(accounts["amazon-eu"], DAY, NEXT, seed=7)
    b = generate(accounts["amazon-eu"], DAY, NEXT, seed=7)
    pd.testing.assert_frame_equal(a.refunds, b.refunds)
    pd.testing.assert_frame_equal(a.orders, b.orders)
    assert a.control_totals == b.control_totals
    assert not generate(accounts["amazon-eu"], DAY, NEXT, seed=8).refunds.equals(a.refunds)


def test_a_day_is_its_hours_plus_the_events_that_arrived_late(accounts):
    account = accounts["shopify-outdoor"]
    hours = [
        generate(account, DAY + pd.Timedelta(hours=h), DAY + pd.Timedelta(hours=h + 1)) for h in range(24)
    ]
    hourly_ids = set(pd.concat([h.refunds for h in hours])["external_refund_id"].dropna())
    daily = generate(account, DAY, NEXT, as_of=NEXT + pd.Timedelta(days=1))
    daily_ids = set(daily.refunds["external_refund_id"].dropna())
    assert hourly_ids < daily_ids
    late = daily_ids - hourly_ids
    assert 0 < len(late) < 0.1 * len(daily_ids)


def test_return_rates_by_category_match_published_ranges(accounts):
    batch = generate(accounts["magento-eu"], DAY, NEXT, lines_per_hour=2000)
    lines = batch.order_lines.set_index("external_line_id")["category"]
    refunded = set(batch.refunds["external_line_id"].dropna())
    rate = lines.index.isin(list(refunded))
    by_category = pd.Series(rate, index=lines.values).groupby(level=0).mean()
    assert 0.25 <= by_category["apparel"] <= 0.40
    assert 0.08 <= by_category["electronics"] <= 0.15
    assert 0.05 <= by_category["beauty"] <= 0.12
    assert 0.05 <= by_category["home"] <= 0.10


def test_jpy_amounts_have_no_decimals(accounts):
    batch = generate(accounts["amazon-jp"], DAY, NEXT)
    assert not batch.order_lines["principal"].str.contains(".", regex=False).any()
    assert batch.refunds["currency"].eq("JPY").mean() > 0.95


def test_suspicious_and_malformed_cases_are_present(accounts):
    batch = generate(accounts["amazon-na"], DAY, NEXT, lines_per_hour=400)
    refunds = batch.refunds
    assert refunds["external_line_id"].dropna().duplicated().any(), "duplicate refunds on one line"
    assert refunds["external_refund_id"].str.endswith("-2").any()
    assert refunds["external_line_id"].isna().any(), "a row missing its order line"
    assert (refunds["currency"] == "EURO").any() or refunds["amount"].str.contains(",", regex=False).any()
    assert refunds["reason"].eq("NEW_REASON_CODE_X7").any(), "a reason code ACORN does not know"


@pytest.mark.parametrize("lines", [100, 20_000])
def test_volume_follows_the_parameter(accounts, lines):
    batch = generate(accounts["amazon-eu"], DAY, DAY + pd.Timedelta(hours=1), lines_per_hour=lines)
    assert 0.8 * lines <= len(batch.order_lines) <= 1.2 * lines


def test_control_totals_are_the_channels_own_sums(accounts):
    # repair the two ways the generator damages amounts (comma decimals, "EURO"): the repaired rows must add
    # up exactly to the channel's control totals (EUR and GBP both have two decimals, so "EURO" rows parse)
    batch = generate(accounts["amazon-eu"], DAY, NEXT)
    refunds = batch.refunds
    repaired_amount = refunds["amount"].str.replace(",", ".", regex=False)
    repaired_currency = refunds["currency"].replace("EURO", "EUR")
    minor, error = parse_minor(repaired_amount, repaired_currency)
    assert error.isna().all()
    assert int(minor.sum()) == sum(batch.control_totals.values())
    assert set(batch.control_totals) == {"EUR", "GBP"}
