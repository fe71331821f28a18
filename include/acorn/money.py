"""Exact money: integer minor units beside an ISO 4217 code, never float.

Every amount in ACORN's frames is an ``int64`` count of the currency's minor unit (cents, pence; yen have
none). Parsing from channel strings, conversion between currencies and formatting for people all happen
here, so there is one place where a decimal point can go wrong.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

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

_DECIMAL_RE = r"^\s*(?P<sign>-)?(?P<int>\d{1,15})(?:\.(?P<frac>\d{1,6}))?\s*$"

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
    """Vectorized :func:`exponent`; unknown currencies give <NA>."""
    return currencies.map(CURRENCY_EXPONENT).astype("Int64")


def parse_minor(text: pd.Series, currencies: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse decimal strings ("12.30", "-5", "1200") into minor units of each row's currency.

    Returns ``(minor, error)``: ``minor`` is Int64 with <NA> where parsing failed, ``error`` holds the reason
    for those rows (and <NA> elsewhere). More decimals than the currency allows is an error, not a rounding:
    "1200.5" JPY cannot be a real yen amount.
    """
    text = text.astype("string")
    exp = exponents(currencies)
    parts = text.str.extract(_DECIMAL_RE)
    whole = pd.to_numeric(parts["int"], errors="coerce").astype("Int64")
    frac = parts["frac"].fillna("")
    frac_len = frac.str.len().astype("Int64")
    error = pd.Series(pd.NA, index=text.index, dtype="string")
    error[exp.isna()] = "unknown currency"
    error[error.isna() & text.isna()] = "missing amount"
    error[error.isna() & whole.isna()] = "not a decimal number"
    error[error.isna() & (frac_len > exp)] = "more decimals than the currency has"
    ok = error.isna()
    scale = (10 ** exp.where(ok, 0)).astype("int64")
    padded = frac.where(ok, "").str.pad(6, side="right", fillchar="0")
    frac_minor = pd.to_numeric(padded.str.slice(0, 6), errors="coerce").fillna(0).astype("int64")
    frac_minor = frac_minor // (10 ** (6 - exp.where(ok, 0))).astype("int64")
    minor = whole.where(ok, 0).astype("int64") * scale + frac_minor
    minor = minor.where(parts["sign"].isna(), -minor)
    return minor.astype("Int64").where(ok, pd.NA), error


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


def div_half_even(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Integer division rounding half to even (banker's rounding), the accounting convention."""
    q = num // den
    r = num - q * den
    twice = 2 * r
    up = (twice > den) | ((twice == den) & (q % 2 == 1))
    return q + up


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
    num_pow = (10 ** np.clip(shift, 0, None)).astype(np.int64)
    den_pow = (10 ** np.clip(-shift, 0, None)).astype(np.int64)
    bound = int(np.abs(amount).max(initial=0)) * int(rate.max(initial=0)) * int(num_pow.max(initial=1))
    if bound < 2**62:
        return div_half_even(amount * rate * num_pow, RATE_SCALE * den_pow)
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
