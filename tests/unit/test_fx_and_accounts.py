import io
import re

import pandas as pd
import pytest

from acorn.channels.accounts import parse_accounts
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


@pytest.mark.parametrize(
    ("account", "field"),
    [
        ({"id": "a", "channel": "ebay", "source": "demo", "marketplaces": ["X"]}, "accounts[a].channel"),
        (
            {"id": "a", "channel": "amazon", "source": "demo", "region": "EU", "marketplaces": ["US"]},
            "accounts[a].marketplaces",
        ),
        (
            {"id": "a", "channel": "shopify", "source": "live", "marketplaces": ["s"], "currency": "USD"},
            "accounts[a].connection_id",
        ),
        (
            {"id": "a", "channel": "magento", "source": "demo", "marketplaces": ["m"], "currency": "EURO"},
            "accounts[a].currency",
        ),
    ],
)
def test_channel_account_errors_name_the_field(account, field):
    with pytest.raises(ConfigError, match=re.escape(f"accounts.yaml: {field}")):
        parse_accounts({"accounts": [account]}, "accounts.yaml")


@pytest.mark.parametrize("bad", ["../../x", "/etc", "a/b", "Amazon EU", "", "x" * 64, "-lead"])
def test_an_account_id_outside_the_safe_alphabet_is_refused(bad):
    account = {"id": bad, "channel": "amazon", "source": "demo", "region": "EU", "marketplaces": ["UK"]}
    with pytest.raises(ConfigError, match=r"accounts\[\d+\]\.id|accounts\[.*\]\.id"):
        parse_accounts({"accounts": [account]}, "accounts.yaml")


def test_a_csv_account_reads_only_inside_the_drop_root(tmp_path):
    root = tmp_path / "drop"
    (root / "shop").mkdir(parents=True)
    csv = {"id": "web-shop", "channel": "csv", "source": "live", "marketplaces": ["s"], "currency": "EUR"}
    ok = parse_accounts({"accounts": [{**csv, "folder": str(root / "shop")}]}, "a.yaml", drop_root=root)
    assert ok[0].extra["folder"] == str(root / "shop")
    for folder, pattern, field in [
        (str(tmp_path), "*.csv", "folder"),
        (str(root / "shop" / ".." / ".."), "*.csv", "folder"),
        ("/etc", "*.csv", "folder"),
        (str(root / "shop"), "../../*.csv", "pattern"),
        (str(root / "shop"), "/etc/*", "pattern"),
    ]:
        account = {**csv, "folder": folder, "pattern": pattern}
        with pytest.raises(ConfigError, match=f"accounts\\[web-shop\\]\\.{field}"):
            parse_accounts({"accounts": [account]}, "a.yaml", drop_root=root)


def test_a_link_out_of_the_drop_folder_is_never_read(tmp_path):
    from datetime import UTC, datetime, timedelta

    from acorn.connectors.csv_import import CsvOptions, fetch

    folder = tmp_path / "shop"
    folder.mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("order_id\nsecret\n")
    (folder / "link.csv").symlink_to(secret)
    (folder / "real.csv").write_text("order_id\n1\n")
    now = datetime.now(UTC)
    log = fetch(CsvOptions(folder=str(folder)), now - timedelta(hours=1), now + timedelta(hours=1))
    assert [p.request for p in log.payloads] == ["real.csv"]
