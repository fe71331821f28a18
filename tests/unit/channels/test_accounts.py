import re

import pytest

from acorn.channels.accounts import parse_accounts
from acorn.errors import ConfigError

ECB = "Date,USD,JPY,XAU,\n2026-11-03,1.0800,160.00,N/A,\n2026-10-30,1.0700,161.50,2000.1,\n"


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

    from acorn.channels.csv.files import CsvOptions, fetch

    folder = tmp_path / "shop"
    folder.mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("order_id\nsecret\n")
    (folder / "link.csv").symlink_to(secret)
    (folder / "real.csv").write_text("order_id\n1\n")
    now = datetime.now(UTC)
    log = fetch(CsvOptions(folder=str(folder)), now - timedelta(hours=1), now + timedelta(hours=1))
    assert [p.request for p in log.payloads] == ["real.csv"]
