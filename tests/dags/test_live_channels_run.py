"""The hourly DAG with live accounts of every channel, each against its fake server (a real dag.test run)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pandas as pd
import psycopg
import pytest
import yaml

from acorn.channels.accounts import parse_accounts
from acorn.settings import INCLUDE
from tests.dags.conftest import dag, run
from tests.fakes.amazon import FakeSpApi
from tests.fakes.dataset import demo_dataset
from tests.fakes.magento import FakeMagento
from tests.fakes.shopify import FakeShopify

HOUR_END = datetime(2026, 11, 2, 10, tzinfo=UTC)
START = HOUR_END - timedelta(hours=1)
CATEGORIES = {"SKU-APP": "apparel", "SKU-ELE": "electronics", "SKU-BEA": "beauty", "SKU-HOM": "home"}
ACCOUNTS = [
    {"id": "amazon-eu", "channel": "amazon", "source": "live", "region": "EU", "marketplaces": ["UK", "DE", "FR"],
     "connection_id": "amazon_eu", "sku_categories": CATEGORIES, "report_poll_s": 0.05},
    {"id": "shopify-outdoor", "channel": "shopify", "source": "live", "marketplaces": ["acorn-outdoor.myshopify.com"],
     "currency": "USD", "connection_id": "shopify_outdoor"},
    {"id": "magento-eu", "channel": "magento", "source": "live", "marketplaces": ["shop.acorn-eu.example"],
     "currency": "EUR", "connection_id": "magento_eu", "sku_categories": CATEGORIES},
    {"id": "shopify-revoked", "channel": "shopify", "source": "live", "marketplaces": ["old-shop.myshopify.com"],
     "currency": "USD", "connection_id": "shopify_revoked"},
]  # fmt: skip


def _conn(**fields) -> str:
    return json.dumps({"conn_type": "generic", **fields})


@pytest.fixture
def live_env(monkeypatch, warehouse_dsn, loader_dsn, airflow_db, tmp_path, taxonomy):
    key = os.environ["ACORN_PSEUDONYM_KEY"].encode()
    drop = tmp_path / "drop"
    drop.mkdir()
    accounts = [*ACCOUNTS, {"id": "web-shop", "channel": "csv", "source": "live", "marketplaces": ["acorn-outdoor.example"],
                            "currency": "EUR", "folder": str(drop)}]  # fmt: skip
    parsed = {a.id: a for a in parse_accounts({"accounts": accounts}, "test")}
    # amazon-eu busier: enough refunds for warehouse damage and items that never came back
    data = {name: demo_dataset(parsed[name], START, HOUR_END, taxonomy, key, lines_per_hour=300 if name == "amazon-eu" else 60)
            for name in ("amazon-eu", "shopify-outdoor", "magento-eu")}  # fmt: skip
    csv_file = drop / "refunds.csv"
    csv_file.write_bytes((INCLUDE / "data" / "csv_template" / "refunds_template.csv").read_bytes())
    arrived = (START + timedelta(minutes=10)).timestamp()
    os.utime(csv_file, (arrived, arrived))
    fakes = [
        FakeSpApi(data["amazon-eu"]),
        FakeShopify(data["shopify-outdoor"]),
        FakeMagento(data["magento-eu"]),
    ]
    amazon, shop, store = fakes
    monkeypatch.setenv("AIRFLOW_CONN_AMAZON_EU", _conn(login=amazon.client_id, password=amazon.client_secret,
                       extra={"refresh_token": amazon.refresh_token, "endpoint": amazon.url, "token_url": f"{amazon.url}/auth/o2/token"}))  # fmt: skip
    monkeypatch.setenv(
        "AIRFLOW_CONN_SHOPIFY_OUTDOOR", _conn(password=shop.token, extra={"endpoint": shop.url})
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SHOPIFY_REVOKED", _conn(password="shpat_revoked", extra={"endpoint": shop.url})
    )
    monkeypatch.setenv("AIRFLOW_CONN_MAGENTO_EU", _conn(host=store.url, password=store.token))
    path = tmp_path / "accounts.yaml"
    path.write_text(yaml.safe_dump({"accounts": accounts}))
    monkeypatch.setenv("ACORN_CHANNEL_ACCOUNTS", str(path))
    monkeypatch.setenv("ACORN_DROP_ROOT", str(tmp_path))
    monkeypatch.setenv("ACORN_LANDING_URI", (tmp_path / "landing").as_uri())
    monkeypatch.setenv("AIRFLOW_CONN_ACORN_WAREHOUSE", loader_dsn)
    yield {
        "dsn": warehouse_dsn,
        "data": data,
        "accounts": parsed,
        "landing": tmp_path / "landing",
        "key": key,
    }
    for fake in fakes:
        fake.close()


def test_hourly_dag_reads_every_channel_and_a_refused_credential_stops_only_its_account(live_env, taxonomy):
    from acorn import pipeline
    from acorn.landing import read_frame

    dag("acorn_fx_rates_daily").test(logical_date=HOUR_END)
    result, _ = run("acorn_refunds_hourly", HOUR_END)
    states = {
        (ti.task_id, ti.rendered_map_index or ti.map_index): ti.state for ti in result.get_task_instances()
    }

    assert states[("batch.extract", "shopify-revoked")] == "failed"
    # the other accounts' refunds still reach their reviewer
    assert states[("review_gate", -1)] == "success"
    assert states[("record_review", -1)] == "success"
    # ... who are told which account is missing, and so is the run's summary
    assert states[("summarize", -1)] == "success"
    with psycopg.connect(live_env["dsn"]) as conn:
        missing = conn.execute("SELECT missing_accounts FROM core.review_requests").fetchall()
    assert missing == [(["shopify-revoked"],)]
    for account in ("amazon-eu", "shopify-outdoor", "magento-eu", "web-shop"):
        assert states[("batch.load", account)] == "success", account
    with psycopg.connect(live_env["dsn"]) as conn:
        loaded = dict(
            conn.execute("SELECT account_id, count(*) FROM core.refund_lines GROUP BY 1").fetchall()
        )
        decided = conn.execute("SELECT count(*) FROM core.decisions").fetchone()[0]
        amazon_sum = conn.execute(
            "SELECT currency, sum(amount_minor) FROM core.refund_lines WHERE account_id = 'amazon-eu' GROUP BY 1"
        ).fetchall()
    for name, data in live_env["data"].items():
        assert loaded[name] == len(data.canonical.refund_lines), name
    assert loaded["web-shop"] == 3
    assert decided == sum(loaded.values())
    want = live_env["data"]["amazon-eu"].canonical.refund_lines.groupby("currency")["amount_minor"].sum()
    assert dict(amazon_sum) == {k: int(v) for k, v in want.items()}

    # settlements: every Amazon refund against the settlement that paid it, valued at the deposit date
    with psycopg.connect(live_env["dsn"]) as conn:
        settled = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE settlement_difference <> 0), "
            "count(*) FILTER (WHERE currency = 'EUR' AND fx_difference_reporting <> 0) FROM mart.refund_settlement"
        ).fetchone()
        gbp = conn.execute(
            "SELECT s.settled_minor, d.amount_reporting_minor, v.fx_difference_reporting, "
            "(SELECT rate_per_eur FROM core.fx_rates WHERE currency = 'GBP' AND rate_date <= s.deposit_date::date "
            " ORDER BY rate_date DESC LIMIT 1) "
            "FROM core.settlement_refunds s JOIN core.decisions d USING (refund_uid) "
            "JOIN mart.refund_settlement v USING (settlement_id, refund_uid) WHERE s.currency = 'GBP' LIMIT 1"
        ).fetchone()
    assert settled == (loaded["amazon-eu"], 0, 0)
    settled_minor, refunded_reporting_minor, fx_difference, gbp_per_eur = gbp
    at_deposit = (Decimal(settled_minor) / Decimal(gbp_per_eur)).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN
    )
    assert (
        fx_difference == (at_deposit - refunded_reporting_minor) / 100
    )  # worked out here from the rate table

    # reimbursements Amazon paid by itself (damaged in its warehouse or by its carrier) mark their claims
    with psycopg.connect(live_env["dsn"]) as conn:
        recovery = dict(
            conn.execute("SELECT recovery, count(*) FROM mart.claim_recovery GROUP BY 1").fetchall()
        )
        paid = conn.execute("SELECT count(*), sum(amount_minor) FROM core.reimbursements").fetchone()
    raw = live_env["data"]["amazon-eu"].raw.refunds
    damaged = raw["disposition"].isin(["WAREHOUSE_DAMAGED", "CARRIER_DAMAGED"])
    never_back = (raw["returnless"] == "true") & (
        raw["event_type"] == "REFUND"
    )  # all FBA in this sample or not
    assert 0 < paid[0] <= int((damaged | never_back).sum())
    assert recovery.get("reimbursed", 0) >= 1  # the warehouse-damage claim, already paid by Amazon
    with psycopg.connect(live_env["dsn"]) as conn:
        claims = conn.execute("SELECT count(*) FROM core.claims").fetchone()[0]
    assert sum(recovery.values()) == claims

    # a replay of the landing file gives identical canonical rows
    account = live_env["accounts"]["amazon-eu"]
    folder = next((live_env["landing"] / "amazon-eu").iterdir())
    replayed = pipeline.replay(account, folder, taxonomy, live_env["key"])
    pd.testing.assert_frame_equal(replayed.refund_lines, read_frame(folder, "canonical_refund_lines"))
    pd.testing.assert_frame_equal(replayed.orders, read_frame(folder, "canonical_orders"))
