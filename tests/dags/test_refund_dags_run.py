"""Real Airflow runs (dag.test) of the refund DAGs against a real Postgres warehouse."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import yaml

from tests.dags.conftest import HOUR_END, dag, run


def _count(dsn, sql):
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchone()[0]


def test_hourly_run_loads_decides_and_sends_review_items_to_a_person(airflow_env):
    run("acorn_fx_rates_daily", HOUR_END)
    result, states = run("acorn_refunds_hourly", HOUR_END)
    assert result.state == "success"
    assert states["review_batch"] == "success"
    assert states["record_review"] == "success"
    assert states["no_review_needed"] == "skipped"
    dsn = airflow_env
    refunds = _count(dsn, "SELECT count(*) FROM core.refund_lines")
    assert refunds > 0
    assert _count(dsn, "SELECT count(*) FROM core.decisions") == refunds
    assert _count(dsn, "SELECT count(DISTINCT account_id) FROM core.batch_ledger") == 2
    assert _count(dsn, "SELECT min(interval_start) FROM core.batch_ledger") == HOUR_END - timedelta(hours=1)
    assert _count(dsn, "SELECT count(*) FROM core.review_items WHERE state = 'open'") == 0
    assert _count(dsn, "SELECT count(*) FROM core.review_items WHERE state = 'approved'") > 0
    assert _count(dsn, "SELECT responded_by FROM core.review_answers").startswith("acorn-test")

    from acorn.warehouse.reports import format_summary, pipeline_summary

    with psycopg.connect(dsn) as conn:
        summary = pipeline_summary(conn)
    assert sum(a["refund_lines_loaded"] for a in summary["accounts"]) == refunds
    assert sum(summary["outcomes"].values()) == refunds
    assert summary["credit_notes_required"] > 0  # amazon-eu sells in UK and DE
    assert "Decisions by outcome" in format_summary(summary)
    # the bearers split every refund: seller + counterparty = seller cost + the labels the seller pays
    seller_cost, labels_seller = (
        _count(dsn, "SELECT sum(seller_cost_minor) FROM core.decisions"),
        _count(
            dsn,
            "SELECT coalesce(sum(return_label_minor) FILTER (WHERE return_label_paid_by = 'seller'), 0) FROM core.decisions",
        ),
    )
    borne = sum(b["seller"] + b["counterparty"] for b in summary["borne_by"])
    assert borne == seller_cost + labels_seller
    assert sum(b["labels"] for b in summary["borne_by"]) > 0  # shopify-outdoor ships its own returns
    # the analyst view names each part's bearer for every refund
    assert _count(dsn, "SELECT count(*) FROM mart.refunds WHERE cost_bearers IS NULL") == 0
    assert _count(
        dsn, "SELECT count(*) FROM mart.refunds WHERE cost_bearers LIKE '%return label: seller'"
    ) == _count(dsn, "SELECT count(*) FROM core.decisions WHERE return_label_paid_by = 'seller'")

    before = _count(dsn, "SELECT count(*) FROM core.refund_lines")
    rerun, _ = run("acorn_refunds_hourly", HOUR_END)
    assert rerun.state == "success"
    assert _count(dsn, "SELECT count(*) FROM core.refund_lines") == before
    assert _count(dsn, "SELECT count(*) FROM core.audit_log WHERE action = 'batch_replayed'") == 2


def test_review_path_is_skipped_when_nothing_needs_a_person(airflow_env, monkeypatch, tmp_path):
    approve_all = {
        "version": "test-approve-all",
        "reporting_currency": "EUR",
        "liability_rules": [
            {"id": "L1", "liable_party": "seller", "accounting_category": "customer_return", "why": "test"}
        ],
        "decision_rules": [{"id": "D1", "outcome": "approve", "why": "test"}],
        "claim_windows": {"default": {}},
        "risk": {"serial_returner_refunds_90d": 4},
    }
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(approve_all))
    monkeypatch.setenv("ACORN_POLICY_FILE", str(path))
    run("acorn_fx_rates_daily", HOUR_END)
    result, states = run("acorn_refunds_hourly", HOUR_END)
    assert result.state == "success"
    assert states["no_review_needed"] == "success"
    assert states["review_batch"] == "skipped"
    assert states["record_review"] == "skipped"
    assert states["summarize"] == "success"
    assert _count(airflow_env, "SELECT count(*) FROM core.review_items") == 0
    assert _count(airflow_env, "SELECT count(DISTINCT policy_version) FROM core.decisions") == 1


def test_a_missing_policy_file_fails_the_decide_task_naming_the_file(airflow_env, monkeypatch, tmp_path):
    monkeypatch.setenv("ACORN_POLICY_FILE", str(tmp_path / "missing.yaml"))
    result, states = run("acorn_refunds_hourly", HOUR_END)
    assert result.state == "failed"
    assert states["batch.extract"] == "success"
    assert states["batch.decide"] == "failed"
    assert _count(airflow_env, "SELECT count(*) FROM core.refund_lines") == 0


def test_an_unreachable_warehouse_fails_at_the_first_task(airflow_env, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ACORN_WAREHOUSE", "postgresql://nobody@127.0.0.1:1/nowhere")
    result, states = run("acorn_refunds_hourly", HOUR_END)
    assert result.state == "failed"
    assert states["prepare_warehouse"] == "failed"


def test_daily_run_re_reads_the_day_and_adds_only_late_rows(airflow_env):
    dsn = airflow_env
    run("acorn_fx_rates_daily", HOUR_END)
    result, states = run("acorn_refunds_daily", datetime(2026, 11, 4, tzinfo=UTC))
    assert result.state == "success"
    assert states["daily_summary"] == "success"
    day = _count(dsn, "SELECT count(*) FROM core.refund_lines")
    assert _count(dsn, "SELECT min(refunded_at)::date FROM core.refund_lines").isoformat() == "2026-11-02"
    assert _count(dsn, "SELECT count(*) FROM core.daily_summary WHERE day = '2026-11-02'") >= 2
    assert _count(dsn, "SELECT sum(refund_lines) FROM mart.daily_refunds") == day
    rerun, _ = run("acorn_refunds_daily", datetime(2026, 11, 4, tzinfo=UTC))
    assert rerun.state == "success"
    assert _count(dsn, "SELECT count(*) FROM core.refund_lines") == day


def test_error_messages_name_the_setting(airflow_env, monkeypatch):
    from acorn.errors import WarehouseUnavailable
    from acorn_airflow.resources import warehouse

    monkeypatch.delenv("AIRFLOW_CONN_ACORN_WAREHOUSE")
    with pytest.raises(WarehouseUnavailable, match="AIRFLOW_CONN_ACORN_WAREHOUSE"):
        warehouse()
    monkeypatch.setenv("AIRFLOW_CONN_ACORN_WAREHOUSE", "postgresql://u:s3cret@127.0.0.1:1/db")
    with pytest.raises(WarehouseUnavailable, match="acorn_warehouse") as err:
        warehouse()
    assert "s3cret" not in str(err.value)
    # the variable silently beats a connection edited in the UI: the message says which one is in force
    assert "set by the environment variable AIRFLOW_CONN_ACORN_WAREHOUSE" in str(err.value)
    assert "wins over Admin > Connections" in str(err.value)


def test_policy_simulation_dag_stores_a_report(airflow_env):
    run("acorn_fx_rates_daily", HOUR_END)
    run("acorn_refunds_hourly", HOUR_END)
    decisions = _count(airflow_env, "SELECT count(*) FROM core.decisions")
    result = dag("acorn_policy_simulation").test(
        logical_date=HOUR_END,
        run_conf={
            "policy_file": "include/policies/refund_policy.yaml",
            "date_from": "2026-11-02",
            "date_to": "2026-11-03",
        },
    )
    assert result.state == "success"
    assert _count(airflow_env, "SELECT refund_lines FROM core.policy_simulations") == decisions
    assert _count(airflow_env, "SELECT (report->>'changed_lines')::int FROM core.policy_simulations") == 0
    assert _count(airflow_env, "SELECT count(*) FROM core.decisions") == decisions


def test_a_run_without_a_logical_date_fails_at_once_saying_how_to_trigger_it(airflow_env, capfd):
    result, states = run("acorn_refunds_hourly", None)
    assert result.state == "failed"
    assert states["batch.extract"] == "failed"
    said = "".join(capfd.readouterr())
    assert "triggered without a logical date" in said
    assert "--logical-date" in said
    assert _count(airflow_env, "SELECT count(*) FROM core.batch_ledger") == 0


def test_pending_migrations_stop_the_run_at_prepare_warehouse_naming_the_command(airflow_env, capfd):
    with psycopg.connect(airflow_env, autocommit=True) as owner:  # the code is newer than the warehouse
        owner.execute("DELETE FROM public.acorn_schema_migrations WHERE name LIKE '0019%%'")
    result, states = run("acorn_refunds_hourly", HOUR_END)
    assert result.state == "failed"
    assert states["prepare_warehouse"] == "failed"
    said = "".join(capfd.readouterr())
    assert "1 migrations pending (0019_answers_only_through_requests.sql)" in said
    assert "python -m acorn.warehouse.migrate OWNER_DSN" in said


def test_an_owner_connection_applies_pending_migrations(airflow_env, monkeypatch):
    with psycopg.connect(airflow_env, autocommit=True) as owner:
        owner.execute("DROP TRIGGER review_items_resolved_by_their_answer ON core.review_items")
        owner.execute("DROP TRIGGER review_answer_for_a_pending_request ON core.review_answers")
        owner.execute("DROP FUNCTION core.review_items_resolved_by_their_answer()")
        owner.execute("DROP FUNCTION core.review_answer_for_a_pending_request()")
        owner.execute("ALTER TABLE core.review_answers DROP CONSTRAINT review_answers_one_per_request")
        owner.execute("DELETE FROM public.acorn_schema_migrations WHERE name LIKE '0019%%'")
    monkeypatch.setenv("AIRFLOW_CONN_ACORN_WAREHOUSE_OWNER", airflow_env)
    run("acorn_fx_rates_daily", HOUR_END)
    assert (
        _count(airflow_env, "SELECT count(*) FROM public.acorn_schema_migrations WHERE name LIKE '0019%'")
        == 1
    )
