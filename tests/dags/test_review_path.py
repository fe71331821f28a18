"""The review path in real dag.test() runs: what a reviewer is shown is exactly what an answer resolves."""

from __future__ import annotations

import psycopg

from tests.dags.conftest import DEMO_ACCOUNTS, HOUR_END, run, write_accounts


def _one(dsn, sql, params=()):
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_a_single_account_run_reaches_its_reviewer(airflow_env, tmp_path, capfd, caplog):
    write_accounts(tmp_path / "accounts.yaml", DEMO_ACCOUNTS[:1])
    run("acorn_fx_rates_daily", HOUR_END)
    capfd.readouterr()
    result, states = run("acorn_refunds_hourly", HOUR_END)
    out = "".join(capfd.readouterr()) + caplog.text
    # the task logs say what ACORN did; GX's start-up chatter stays out
    assert "validate amazon-eu: verdict" in out
    assert "[great_expectations" not in out
    assert not [r for r in caplog.records if r.name.startswith("great_expectations") and r.levelno < 30]
    assert states["review_gate"] == "success"
    assert states["review_batch"] == "success"
    assert states["record_review"] == "success"
    assert result.state == "success"
    assert _one(airflow_env, "SELECT count(*) FROM core.review_items WHERE state = 'open'") == 0
    assert _one(airflow_env, "SELECT count(*) FROM core.review_items WHERE state = 'approved'") > 0


def test_the_answer_carries_the_request_it_was_shown_and_resolves_exactly_that(airflow_env):
    from acorn_airflow.answering import Reviewer

    run("acorn_fx_rates_daily", HOUR_END)
    reviewer = Reviewer("alice", "Alice Ops", chosen="Reject", comment="contest these")
    result, states = run("acorn_refunds_hourly", HOUR_END, reviewer=reviewer)
    assert result.state == "success"
    assert states["record_review"] == "success"
    [answered] = reviewer.answered
    request_id = answered["params"]["request_id"]
    with psycopg.connect(airflow_env) as conn:
        shown = conn.execute(
            "SELECT cardinality(item_ids), state FROM core.review_requests WHERE request_id = %s",
            (request_id,),
        ).fetchone()
        answer = conn.execute(
            "SELECT chosen_option, responded_by, comment, items_shown, items_resolved FROM core.review_answers"
        ).fetchone()
        states_now = dict(conn.execute("SELECT state, count(*) FROM core.review_items GROUP BY 1").fetchall())
    assert shown[1] == "answered"
    assert answer == ("Reject", "Alice Ops", "contest these", shown[0], shown[0])
    assert states_now == {"rejected": shown[0]}


def test_a_second_run_of_the_same_interval_offers_nothing_already_answered(airflow_env):
    run("acorn_fx_rates_daily", HOUR_END)
    run("acorn_refunds_hourly", HOUR_END)
    result, states = run("acorn_refunds_hourly", HOUR_END)
    assert result.state == "success"
    assert states["no_review_needed"] == "success"
    assert states["review_batch"] == "skipped"
    assert _one(airflow_env, "SELECT count(*) FROM core.review_requests") == 1


def test_the_batches_are_mapped_over_account_ids_so_a_cleared_task_reads_the_setting_anew(
    airflow_env, tmp_path
):
    from acorn_airflow.resources import channel_account

    result, _states = run("acorn_refunds_hourly", HOUR_END)
    [accounts] = [ti.xcom_pull(task_ids="channel_accounts") for ti in result.get_task_instances()][:1]
    assert accounts == [a["id"] for a in DEMO_ACCOUNTS]
    changed = [{**DEMO_ACCOUNTS[0], "marketplaces": ["UK"]}, DEMO_ACCOUNTS[1]]
    write_accounts(tmp_path / "accounts.yaml", changed)
    assert channel_account("amazon-eu").marketplaces == ("UK",)
