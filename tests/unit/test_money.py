from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from acorn.money import (
    RATE_SCALE,
    MoneyError,
    convert_minor,
    format_money,
    parse_minor,
    to_decimal,
    to_minor,
)


def test_parse_minor_reads_each_currency_in_its_own_minor_units():
    text = pd.Series(["12.30", "1200", "-5.5", "0.07", "15000"], dtype="string")
    ccy = pd.Series(["EUR", "JPY", "USD", "GBP", "JPY"], dtype="string")
    minor, error = parse_minor(text, ccy)
    assert minor.tolist() == [1230, 1200, -550, 7, 15000]
    assert error.isna().all()


@pytest.mark.parametrize(
    ("text", "currency", "reason"),
    [
        ("12,30", "EUR", "not a decimal number"),
        ("1200.5", "JPY", "more decimals than the currency has"),
        ("1.234", "USD", "more decimals than the currency has"),
        ("10.00", "EURO", "unknown currency"),
        (None, "EUR", "missing amount"),
        ("1e5", "USD", "not a decimal number"),
    ],
)
def test_parse_minor_names_the_reason_instead_of_guessing(text, currency, reason):
    minor, error = parse_minor(pd.Series([text], dtype="string"), pd.Series([currency], dtype="string"))
    assert minor.isna().all()
    assert error.iloc[0] == reason


def test_convert_minor_rounds_half_to_even():
    # 1.00 EUR at rate 0.5 -> 0.50; 0.01 EUR at 0.5 -> 0.005 -> 0.00 (even); 0.03 at 0.5 -> 0.015 -> 0.02
    rate = np.full(3, RATE_SCALE // 2)
    out = convert_minor(np.array([100, 1, 3]), rate, np.array([2, 2, 2]), 2)
    assert out.tolist() == [50, 0, 2]


def test_convert_minor_moves_between_exponents_exactly():
    # 5000 JPY at 1 JPY = 0.0061 EUR -> 30.50 EUR; 12.34 EUR at 161.04 JPY/EUR -> 1987.2336 -> 1987 JPY
    out = convert_minor(np.array([5000, 1234]), np.array([6_100_000, 161_040_000_000]), np.array([0, 2]), 2)
    assert out[0] == 3050
    out_jpy = convert_minor(np.array([1234]), np.array([161_040_000_000]), np.array([2]), 0)
    assert out_jpy.tolist() == [1987]


def test_convert_minor_stays_exact_beyond_int64_products():
    amount = np.array([9_000_000_000_000])  # 90bn in cents
    rate = np.array([161_040_000_000])  # EUR -> JPY
    out = convert_minor(amount, rate, np.array([2]), 0)
    assert int(out[0]) == 9_000_000_000_000 * 161_040_000_000 // (RATE_SCALE * 100)


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["EUR", "USD", "JPY", "GBP"]))
def test_decimal_round_trip_is_exact(minor, currency):
    assert to_minor(to_decimal(minor, currency), currency) == minor


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=10**12))
def test_conversion_matches_decimal_arithmetic(amount, rate):
    expected = (Decimal(amount) * Decimal(rate) / Decimal(RATE_SCALE)).to_integral_value()  # ROUND_HALF_EVEN
    assert int(convert_minor(np.array([amount]), np.array([rate]), np.array([2]), 2)[0]) == int(expected)


def test_to_minor_refuses_to_round():
    with pytest.raises(MoneyError, match="more decimals than JPY"):
        to_minor("10.5", "JPY")


def test_format_money_reads_like_money():
    assert format_money(123456, "EUR") == "1,234.56 EUR"
    assert format_money(5000, "JPY") == "5,000 JPY"


def test_parse_minor_stays_exact_for_amounts_beyond_int64_at_six_places():
    # 15 digits read at six decimal places pass 2**63; in the currency's minor units they fit
    text = pd.Series(["999999999999999", "-123456789012345.6", "9223372036854.775807"], dtype="string")
    ccy = pd.Series(["EUR", "USD", "EUR"], dtype="string")
    minor, error = parse_minor(text, ccy)
    assert minor.tolist()[:2] == [99_999_999_999_999_900, -12_345_678_901_234_560]
    assert error.tolist() == [pd.NA, pd.NA, "more decimals than the currency has"]
