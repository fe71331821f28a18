"""Exchange rates: ECB reference rates (units per 1 EUR) and exact cross rates at a date.

A refund converts at the last published rate on or before its date (the ECB publishes on business days).
Cross rates are integers scaled by :data:`acorn.money.RATE_SCALE`, computed once per (currency, date) with
integer arithmetic, so conversion never touches a float.
"""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from acorn.errors import ConfigError
from acorn.money import CURRENCY_EXPONENT, RATE_SCALE

RATE_DECIMALS = 6  # ECB rates have at most 5-6 decimals; stored as integers scaled by 10**6
DAY_US = 86_400 * 10**6
RATES_COLUMNS = {"rate_date": "datetime64[us]", "currency": "string", "rate_e6": "int64"}


def read_ecb_csv(source: Path | str | io.StringIO) -> pd.DataFrame:
    """Parse an ECB ``eurofxref-hist.csv``-shaped file into (rate_date, currency, rate_e6) rows.

    EUR itself is implicit (1 per 1 EUR). Unknown currencies are skipped (ACORN cannot hold their amounts anyway); "N/A" cells are gaps. A
    malformed value fails with the file, line and currency.
    """
    name = str(source) if not isinstance(source, io.StringIO) else "<ECB rates>"
    try:
        wide = pd.read_csv(source, dtype="string", skipinitialspace=True)
    except FileNotFoundError:
        raise ConfigError(name, "FX rates file not found (set ACORN_FX_FILE)") from None
    wide = wide.loc[:, ~wide.columns.str.startswith("Unnamed")]
    if "Date" not in wide:
        raise ConfigError(name, "no Date column: not an ECB rates file")
    dates = pd.to_datetime(wide["Date"], format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        line = int(dates.isna().to_numpy().nonzero()[0][0]) + 2
        raise ConfigError(name, "not a YYYY-MM-DD date", field=f"line {line}: Date")
    rows: list[tuple] = []
    for ccy in [c for c in wide.columns if c in CURRENCY_EXPONENT]:
        for i, cell in enumerate(wide[ccy]):
            if pd.isna(cell) or cell.strip() in ("", "N/A"):
                continue
            try:
                value = Decimal(cell.strip())
            except InvalidOperation:
                raise ConfigError(name, f"not a rate: {cell!r}", field=f"line {i + 2}: {ccy}") from None
            if value <= 0:
                raise ConfigError(name, "rate must be positive", field=f"line {i + 2}: {ccy}")
            rows.append((dates.iloc[i], ccy, int(value.scaleb(RATE_DECIMALS).to_integral_value())))
    frame = pd.DataFrame(rows, columns=list(RATES_COLUMNS))
    return frame.astype(RATES_COLUMNS).sort_values(["currency", "rate_date"]).reset_index(drop=True)


def cross_rates(
    rates: pd.DataFrame, currency: pd.Series, on: pd.Series, reporting: str
) -> tuple[np.ndarray, pd.Series]:
    """Scaled cross rates currency -> reporting at each row's date, and the rate date used.

    Rows without a rate on or before their date get 0 and NaT: the caller must treat them as unknown.
    """
    # a batch has a few (currency, day) pairs: rates are looked up for those, then spread to the rows
    categorical = isinstance(currency.dtype, pd.CategoricalDtype)  # its codes are used as they are
    currency_codes, currencies = pd.factorize(currency if categorical else currency.astype("string"))
    days = on.astype("datetime64[us, UTC]").array.asi8 // DAY_US
    known = (currency_codes >= 0) & on.notna().to_numpy()
    first_day = int(days[known].min()) if known.any() else 0
    pair_codes = np.full(len(on), -1, dtype=np.int64)
    pair_codes[known], pairs = pd.factorize(
        currency_codes[known].astype(np.int64) << 32 | (days[known] - first_day)
    )
    keys = pd.DataFrame(
        {
            "currency": pd.array(np.asarray(currencies, dtype=object)[pairs >> 32], dtype="string")
            if len(pairs)
            else pd.array([], dtype="string"),
            "day": ((pairs & 0xFFFFFFFF) + first_day) * DAY_US,
        }
    )
    keys["day"] = keys["day"].astype("datetime64[us]")
    keys = keys.assign(pair=np.arange(len(keys))).sort_values("day")
    rates = rates.astype(RATES_COLUMNS)
    euro = pd.DataFrame(
        {"rate_date": rates["rate_date"].unique(), "currency": "EUR", "rate_e6": 10**RATE_DECIMALS}
    )
    rates = pd.concat([rates[rates["currency"] != "EUR"], euro.astype(RATES_COLUMNS)]).sort_values(
        "rate_date"
    )

    def at(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({"currency": "string"})
        return pd.merge_asof(frame, rates, left_on="day", right_on="rate_date", by="currency")

    found = at(keys)
    rep = at(keys.assign(currency=reporting))[["rate_e6"]].rename(columns={"rate_e6": "rep_e6"})
    found["rep_e6"] = rep["rep_e6"].to_numpy()
    scaled = []
    for own, target in zip(found["rate_e6"], found["rep_e6"], strict=True):
        if pd.isna(own) or pd.isna(target):
            scaled.append(0)
        else:
            num, den = int(target) * RATE_SCALE, int(own)
            q, r = divmod(num, den)
            scaled.append(q + (1 if 2 * r > den or (2 * r == den and q % 2) else 0))
    found["rate_scaled"] = scaled
    found = found.sort_values("pair")
    rate = np.r_[found["rate_scaled"].to_numpy(dtype=np.int64), 0][pair_codes]
    used = np.r_[found["rate_date"].to_numpy(dtype="datetime64[us]"), np.datetime64("NaT", "us")][pair_codes]
    return rate, pd.Series(used, index=on.index)
