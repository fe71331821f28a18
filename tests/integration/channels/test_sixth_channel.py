"""Adding a channel is adding its package and one registry line: a sixth one, end to end into the warehouse."""

from datetime import UTC, datetime, timedelta

import pytest

from acorn import pipeline
from acorn.channels import registry
from acorn.channels.accounts import parse_accounts
from acorn.channels.base import ConnectionInfo
from acorn.errors import ConfigError
from acorn.landing import batch_folder
from tests.fakes import tinystore

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
END = START + timedelta(hours=1)
ANSWERS = [
    {"id": "1", "sold_at": "2026-10-20T08:00:00Z", "refunded_at": "2026-11-02T09:10:00Z", "buyer": "a@x.example",
     "paid": "40.00", "refunded": "40.00", "sku": "HM-1", "reason": "damaged"},
    {"id": "2", "sold_at": "2026-10-21T08:00:00Z", "refunded_at": "2026-11-02T09:20:00Z", "buyer": "b@x.example",
     "paid": "25.50", "refunded": "12.25", "sku": "HM-2", "reason": "changed mind"},
]  # fmt: skip
ACCOUNTS = {
    "accounts": [
        {"id": "tiny", "channel": "tinystore", "source": "live", "connection_id": "tiny_api",
         "marketplaces": ["tiny.example"], "currency": "EUR", "answers": ANSWERS},
    ]
}  # fmt: skip


def test_an_unregistered_channel_is_refused_by_name():
    with pytest.raises(
        ConfigError, match=r"accounts\[tiny\]\.channel.*'amazon', 'shopify', 'magento', 'csv'"
    ):
        parse_accounts(ACCOUNTS, "accounts.yaml")


def test_a_sixth_channel_is_its_package_and_one_registry_line(
    conn, fx, taxonomy, policy, tmp_path, monkeypatch
):
    monkeypatch.setitem(registry.CHANNELS, "tinystore", tinystore.CHANNEL)  # the one registry line
    [account] = parse_accounts(ACCOUNTS, "accounts.yaml")
    folder = batch_folder(tmp_path, account.id, START, END)
    extracted = pipeline.extract(
        account,
        START,
        END,
        folder,
        as_of=END,
        taxonomy=taxonomy,
        pseudonym_key=b"k",
        demo_options=pipeline.DemoOptions(),
        connection=ConnectionInfo("tiny_api", password="tiny-token"),
    )
    pipeline.validate_stage(folder, account.id, START, END)
    decided = pipeline.decide_stage(conn, folder, account.id, START, END, policy)
    loaded = pipeline.load_stage(conn, folder, account.id, START, END, "test-run")

    assert tinystore.ASKED[-1] == ("tiny", START.isoformat(), "tiny-token")
    assert extracted.payloads == 1
    assert extracted.kept["refund_lines"] == 2
    assert sum(decided.outcomes.values()) == 2
    assert loaded.loaded_refunds_minor == {"EUR": 5225}
    rows = conn.execute(
        "SELECT r.external_refund_id, r.channel, r.amount_minor, d.outcome FROM core.refund_lines r "
        "JOIN core.decisions d USING (refund_uid) ORDER BY 1"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("r-1", "tinystore", 4000), ("r-2", "tinystore", 1225)]
    assert all(r[3] in ("approve", "review", "reject", "claim") for r in rows)
    # the batch replays from its landing folder through the same interface
    again = pipeline.replay(account, folder, taxonomy, b"k")
    assert again.refund_lines["amount_minor"].tolist() == [4000, 1225]
