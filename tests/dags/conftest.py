"""Fixtures for real ``dag.test()`` runs: demo accounts, the test warehouse as ``acorn_warehouse``."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import yaml

HOUR_END = datetime(2026, 11, 2, 10, tzinfo=UTC)  # dag.test() runs the interval [09:00, 10:00)
DEMO_ACCOUNTS = [
    {"id": "amazon-eu", "channel": "amazon", "source": "demo", "region": "EU", "marketplaces": ["UK", "DE"]},
    {"id": "shopify-outdoor", "channel": "shopify", "source": "demo", "marketplaces": ["s.example"],
     "currency": "USD"},
]  # fmt: skip


def write_accounts(path, accounts) -> None:
    path.write_text(yaml.safe_dump({"accounts": accounts}))


@pytest.fixture
def airflow_env(monkeypatch, warehouse_dsn, loader_dsn, airflow_db, tmp_path):
    """Two demo accounts, the test warehouse as the acorn_warehouse connection (the pipeline's
    least-privilege login, as in every documented setup); returns the owner's DSN, for the assertions."""
    path = tmp_path / "accounts.yaml"
    write_accounts(path, DEMO_ACCOUNTS)
    monkeypatch.setenv("ACORN_CHANNEL_ACCOUNTS", str(path))
    monkeypatch.setenv("ACORN_LANDING_URI", (tmp_path / "landing").as_uri())
    monkeypatch.setenv("ACORN_DEMO_LINES_PER_HOUR", "120")
    monkeypatch.setenv("AIRFLOW_CONN_ACORN_WAREHOUSE", loader_dsn)
    return warehouse_dsn


def dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).get_dag(dag_id)


def run(dag_id: str, when: datetime, reviewer=None, **kwargs):
    """One dag.test() run; a waiting review task is answered through Airflow's HITL records by ``reviewer``
    (default: Approve, as ``acorn-test``)."""
    from acorn_airflow.answering import Reviewer, answering

    reviewer = reviewer or Reviewer("acorn-test", "acorn-test (a test reviewer)", comment="test answer")
    with answering(reviewer):
        result = dag(dag_id).test(logical_date=when, **kwargs)
    return result, {ti.task_id: ti.state for ti in result.get_task_instances() if ti.map_index in (-1, 0)}
