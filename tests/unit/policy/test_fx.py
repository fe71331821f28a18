import io

import pandas as pd
import pytest

from acorn.errors import ConfigError
from acorn.policy.fx import cross_rates, read_ecb_csv

ECB = "Date,USD,JPY,XAU,\n2026-11-03,1.0800,160.00,N/A,\n2026-10-30,1.0700,161.50,2000.1,\n"


def test_ecb_file_is_read_exactly_and_unknown_currencies_are_skipped():
    rates = read_ecb_csv(io.StringIO(ECB))
    assert set(rates["currency"]) == {"USD", "JPY"}
    usd = rates[rates["currency"] == "USD"].set_index("rate_date")["rate_e6"]
    assert usd[pd.Timestamp("2026-11-03")] == 1_080_000


def test_a_malformed_rate_names_line_and_currency():
    with pytest.raises(ConfigError, match=r"line 3: USD: not a rate: '1,07'"):
        read_ecb_csv(io.StringIO(ECB.replace("1.0700", '"1,07"')))


def test_cross_rate_falls_back_to_the_last_business_day():
    rates = read_ecb_csv(io.StringIO(ECB))
    when = pd.Series(
        pd.to_datetime(["2026-11-01T09:00Z", "2026-11-03T09:00Z", "2026-10-01T09:00Z"], utc=True)
    )
    scaled, used = cross_rates(rates, pd.Series(["USD", "JPY", "USD"], dtype="string"), when, "EUR")
    # 1 USD = 1/1.07 EUR = 0.934579439... ; 1 JPY = 1/160 EUR = 0.00625
    assert scaled.tolist() == [934_579_439, 6_250_000, 0]
    assert used.tolist()[:2] == [pd.Timestamp("2026-10-30"), pd.Timestamp("2026-11-03")]
    assert pd.isna(used.iloc[2])
