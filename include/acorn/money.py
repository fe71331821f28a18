"""Exact money: integer minor units beside an ISO 4217 code, never float.

Every amount in ACORN's frames is an ``int64`` count of the currency's minor unit (cents, pence; yen have
none). Parsing from channel strings, conversion between currencies and formatting for people all happen
here, so there is one place where a decimal point can go wrong.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from acorn.columns import arrow_strings, map_distinct

#: ISO 4217 minor-unit exponents of the currencies ACORN's channels settle in.
CURRENCY_EXPONENT: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CAD": 2,
    "MXN": 2,
    "JPY": 0,
    "AUD": 2,
    "CHF": 2,
    "SEK": 2,
    "PLN": 2,
}

_DECIMAL_RE = r"^(?P<sign>-?)(?P<int>\d{1,15})(?:\.(?P<frac>\d{1,6}))?$"

#: Cross rates are carried as integers scaled by this factor (rates are exact to 1e-9 of their value).
RATE_SCALE = 10**9


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def exponent(currency: str) -> int:
    """Minor-unit exponent of ``currency``; unknown codes are an error, not a guess."""
    try:
        return CURRENCY_EXPONENT[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}; known: {sorted(CURRENCY_EXPONENT)}") from None


def exponents(currencies: pd.Series) -> pd.Series:
    """Vectorized :func:`exponent`; unknown currencies give <NA>. Looked up once per distinct code."""
    exps = map_distinct(currencies.astype("string"), CURRENCY_EXPONENT.get, pa.int64())
    return pd.Series(pd.array(exps.to_numpy(zero_copy_only=False), dtype="Int64"), index=currencies.index)


#: Why an amount could not be read, by code (0: it could).
_PARSE_ERRORS = pa.array(
    [
        None,
        "not a decimal number",
        "missing amount",
        "unknown currency",
        "more decimals than the currency has",
    ],
    type=pa.string(),
)


def row_exponents(currencies: pd.Series) -> np.ndarray:
    """Each row's currency exponent, -1 for a currency that is unknown or missing."""
    return exponents(currencies).fillna(-1).to_numpy(dtype=np.int64)


def parse_minor(text: pd.Series, currencies: pd.Series | np.ndarray) -> tuple[pd.Series, pd.Series]:
    """Parse decimal strings ("12.30", "-5", "1200") into minor units of each row's currency.

    ``currencies`` holds each row's currency code, or their :func:`row_exponents` (the money columns of a
    frame share its currency column: looked up once).

    Returns ``(minor, error)``: ``minor`` is Int64 with <NA> where parsing failed, ``error`` holds the reason
    for those rows (and <NA> elsewhere). More decimals than the currency allows is an error, not a rounding:
    "1200.5" JPY cannot be a real yen amount. Runs in Arrow's C++ kernels and numpy: the pattern is
    checked, then the digits of each amount that passed, without its point, are read as an integer count of
    ``10**-decimals`` and scaled up to the currency's minor unit. Exact and within int64: the pattern allows
    at most fifteen digits before the point, and no more decimals than the currency's exponent (3 at most for
    any currency a channel settles in) pass.
    """
    arr = pc.utf8_trim_whitespace(arrow_strings(text.astype("string")))
    matched = pc.fill_null(pc.match_substring_regex(arr, _DECIMAL_RE), False).to_numpy(zero_copy_only=False)
    exp = currencies if isinstance(currencies, np.ndarray) else row_exponents(currencies)
    dot = pc.fill_null(pc.find_substring(arr, "."), -1).to_numpy(zero_copy_only=False)
    length = pc.fill_null(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False)
    decimals = np.where(dot >= 0, length - dot - 1, 0)
    error = np.where(matched, 0, 1).astype(np.int8)  # later reasons override earlier ones, as listed
    error[text.isna().to_numpy()] = 2
    error[exp < 0] = 3
    error[(error == 0) & (decimals > exp)] = 4
    ok = error == 0
    digits = pc.replace_substring(pc.if_else(pa.array(ok), arr, "0"), ".", "")
    minor = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False) * 10 ** np.where(ok, exp - decimals, 0)
    return (
        pd.Series(pd.arrays.IntegerArray(minor, ~ok), index=text.index),
        pd.Series(pd.arrays.ArrowStringArray(pc.take(_PARSE_ERRORS, pa.array(error))), index=text.index),
    )


def to_decimal(minor: int, currency: str) -> Decimal:
    """One amount as a Decimal in major units (for display and NUMERIC columns)."""
    return Decimal(int(minor)).scaleb(-exponent(currency))


def format_money(minor: int, currency: str) -> str:
    """``12345, "EUR"`` -> ``"123.45 EUR"``; ``5000, "JPY"`` -> ``"5000 JPY"``."""
    return f"{to_decimal(minor, currency):,} {currency}"


def to_minor(amount: Decimal | str, currency: str) -> int:
    """A Decimal (or decimal string) in major units as minor units; refuses to round."""
    value = Decimal(str(amount)).scaleb(exponent(currency))
    if value != value.to_integral_value():
        raise MoneyError(f"{amount} has more decimals than {currency} allows")
    return int(value)


def div_half_even(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """Integer division rounding half to even (banker's rounding), the accounting convention; ``den > 0``.

    With ``q, r = divmod(num, den)`` the quotient goes up one exactly when ``2r + (q odd) > den``: above
    half, or at half with an odd quotient. int64 by a scalar ``den`` divides once (numpy divides by a
    scalar five times faster than ``divmod`` does) and takes the remainder by a multiply; by an array, one
    ``divmod``; Python integers (object arrays, for products beyond int64) divide twice.
    """
    if np.asarray(num).dtype == object or np.ndim(den) == 0:
        q = num // den
        r = num - q * den
    else:
        q, r = np.divmod(num, den)
    return q + (2 * r + (q & 1) > den)


def convert_minor(
    amount_minor: np.ndarray,
    rate_scaled: np.ndarray,
    exp_from: np.ndarray,
    exp_to: int,
) -> np.ndarray:
    """Convert minor units with a cross rate scaled by :data:`RATE_SCALE`, exactly, half-even.

    ``target = amount * rate * 10**(exp_to - exp_from)``. Runs in int64 when the products fit and in
    Python integers otherwise, so the result is exact for any amount.
    """
    amount = np.asarray(amount_minor, dtype=np.int64)
    rate = np.asarray(rate_scaled, dtype=np.int64)
    shift = exp_to - np.asarray(exp_from, dtype=np.int64)
    powers = 10 ** np.arange(19, dtype=np.int64)  # looked up, not raised, per row
    num_pow, den_pow = powers[np.clip(shift, 0, 18)], powers[np.clip(-shift, 0, 18)]
    bound = int(np.abs(amount).max(initial=0)) * int(rate.max(initial=0)) * int(num_pow.max(initial=1))
    if bound < 2**62:
        one_den = len(den_pow) and (den_pow == den_pow[0]).all()  # a scalar divides faster
        return div_half_even(amount * rate * num_pow, RATE_SCALE * (int(den_pow[0]) if one_den else den_pow))
    num = amount.astype(object) * rate.astype(object) * num_pow.astype(object)
    return div_half_even(num, den_pow.astype(object) * RATE_SCALE).astype(np.int64)


def sums_by_currency(frame: pd.DataFrame, amount: str = "amount_minor") -> dict[str, int]:
    """Per-currency totals of an amount column, as plain ints (for logs, XCom and checks)."""
    if frame.empty:
        return {}
    totals = frame.groupby("currency", observed=True)[amount].sum()
    return {str(k): int(v) for k, v in totals.items()}


def describe_sums(sums: dict[str, int]) -> str:
    """``{"EUR": 12345}`` -> ``"123.45 EUR"``, for log lines people read."""
    return ", ".join(format_money(v, k) for k, v in sorted(sums.items())) or "nothing"
