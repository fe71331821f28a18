"""A real hourly run with canary secrets in every kind of Connection, against channels that echo them back.

The canaries must appear in no output of the run: what dag.test() prints, the log records, the landing files,
Airflow's metadata database (XComs, task logs) or the warehouse.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import psycopg

from acorn.warehouse.roles import ensure_login
from tests.conftest import as_role
from tests.dags.conftest import HOUR_END, run, write_accounts
from tests.fakes.amazon import FakeSpApi
from tests.fakes.dataset import demo_dataset
from tests.fakes.magento import FakeMagento
from tests.fakes.shopify import FakeShopify

START = HOUR_END - timedelta(hours=1)
ACCOUNTS = [
    {"id": "amazon-eu", "channel": "amazon", "source": "live", "region": "EU", "marketplaces": ["UK"],
     "connection_id": "amazon_eu", "report_poll_s": 0.05},
    {"id": "shopify-outdoor", "channel": "shopify", "source": "live", "marketplaces": ["s.myshopify.com"],
     "currency": "USD", "connection_id": "shopify_outdoor"},
    {"id": "magento-eu", "channel": "magento", "source": "live", "marketplaces": ["shop.example"],
     "currency": "EUR", "connection_id": "magento_eu"},
    {"id": "amazon-na", "channel": "amazon", "source": "demo", "region": "NA", "marketplaces": ["US"]},
]  # fmt: skip


def _canary(kind: str) -> str:
    return f"CANARY{kind}{secrets.token_hex(6)}"


def _texts(root: Path):
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            yield str(path), data.decode("utf-8", errors="replace")


def test_no_canary_secret_leaves_a_run_whatever_the_channels_echo(
    airflow_env, monkeypatch, tmp_path, accounts, taxonomy, capfd, caplog
):
    from acorn.channels.accounts import parse_accounts

    parsed = {a.id: a for a in parse_accounts({"accounts": ACCOUNTS}, "test")}
    key = os.environ["ACORN_PSEUDONYM_KEY"].encode()
    data = {a: demo_dataset(parsed[a], START, HOUR_END, taxonomy, key) for a in ("amazon-eu", "shopify-outdoor", "magento-eu")}  # fmt: skip
    amazon, shop, store = FakeSpApi(data["amazon-eu"]), FakeShopify(data["shopify-outdoor"]), FakeMagento(data["magento-eu"])  # fmt: skip
    canaries = {
        "lwa secret": _canary("lwasecret"),
        "refresh token": "Atzr|" + _canary("refresh"),
        "shopify token": "shpat_" + _canary("shop"),
        "magento token": _canary("magento"),
        "warehouse password": _canary("pg"),
    }
    amazon.client_secret, amazon.refresh_token = canaries["lwa secret"], canaries["refresh token"]
    shop.token, store.token = canaries["shopify token"], canaries["magento token"]
    amazon.echo(401, "/auth/o2/token")  # LWA refuses the grant and quotes it
    shop.echo(401)
    store.echo(403)
    conn = lambda **f: json.dumps({"conn_type": "generic", **f})  # noqa: E731
    monkeypatch.setenv("AIRFLOW_CONN_AMAZON_EU", conn(login=amazon.client_id, password=amazon.client_secret,
                       extra={"refresh_token": amazon.refresh_token, "endpoint": amazon.url, "token_url": f"{amazon.url}/auth/o2/token"}))  # fmt: skip
    monkeypatch.setenv(
        "AIRFLOW_CONN_SHOPIFY_OUTDOOR", conn(password=shop.token, extra={"endpoint": shop.url})
    )
    monkeypatch.setenv("AIRFLOW_CONN_MAGENTO_EU", conn(host=store.url, password=store.token))
    with psycopg.connect(airflow_env, autocommit=True) as owner:  # a loader login whose password is a canary
        ensure_login(owner, "acorn_canary", "loader", canaries["warehouse password"])
    monkeypatch.setenv(
        "AIRFLOW_CONN_ACORN_WAREHOUSE", as_role(airflow_env, "acorn_canary", canaries["warehouse password"])
    )
    write_accounts(tmp_path / "accounts.yaml", ACCOUNTS)

    with amazon, shop, store:
        run("acorn_fx_rates_daily", HOUR_END)
        result, _ = run("acorn_refunds_hourly", HOUR_END)
    states = {(ti.task_id, ti.rendered_map_index): ti.state for ti in result.get_task_instances()}
    for account in ("amazon-eu", "shopify-outdoor", "magento-eu"):
        assert states[("batch.extract", account)] == "failed", account
    assert states[("batch.load", "amazon-na")] == "success"
    assert any(c in str(r.headers) + r.body.decode() for r in amazon.requests for c in canaries.values())

    out, err = capfd.readouterr()
    outputs = {"stdout": out, "stderr": err, "log records": caplog.text}
    outputs.update(_texts(tmp_path / "landing"))
    outputs.update(_texts(Path(os.environ["AIRFLOW_HOME"])))  # the metadata DB (XComs, errors), task logs
    with psycopg.connect(airflow_env) as wh:
        for table in ("core.audit_log", "core.batch_ledger", "core.quarantine", "core.review_requests"):
            outputs[table] = str(wh.execute(f"SELECT * FROM {table}").fetchall())
    assert "refused" in out + err + caplog.text  # the channels' errors were reported, redacted
    for what, value in canaries.items():
        leaks = [name for name, text in outputs.items() if value in text]
        assert not leaks, f"the {what} appears in {leaks}"
