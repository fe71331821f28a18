"""The review path in real dag.test() runs: what a reviewer is shown is exactly what an answer resolves."""

from __future__ import annotations

import psycopg

from tests.dags.conftest import DEMO_ACCOUNTS, HOUR_END, dag, run, write_accounts


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


def _answer_on_the_page_when_asked(owner_dsn, answered: list, stop):
    """Play the reviewer on the page: once the run's review task waits, answer one line, then the rest."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    from acorn_airflow.page.actions import answer_and_go_on

    while not stop.wait(0.5):
        try:
            with create_session() as session:
                waiting = session.scalars(
                    select(TaskInstance).where(TaskInstance.state == TaskInstanceState.AWAITING_INPUT)
                ).all()
            if not waiting:
                continue
            with psycopg.connect(owner_dsn) as conn:
                [ids] = conn.execute(
                    "SELECT item_ids::text[] FROM core.review_requests WHERE state = 'pending'"
                ).fetchone()
            answered.append(
                answer_and_go_on(ids[:1], "rejected", "one line", user_id="alice", user_name="Alice Ops")
            )
            answered.append(
                answer_and_go_on(ids[1:], "approved", "the rest", user_id="bob", user_name="Bob Ops")
            )
            return
        except Exception:  # the SQLite metadata DB is busy: try again
            continue


def test_a_run_goes_on_by_itself_once_the_page_answered_every_item_of_its_review(airflow_env):
    import threading

    from acorn_airflow.page.actions import REVIEW_TASK_ID

    run("acorn_fx_rates_daily", HOUR_END)
    answered, stop = [], threading.Event()
    page = threading.Thread(
        target=_answer_on_the_page_when_asked, args=(airflow_env, answered, stop), daemon=True
    )
    page.start()
    try:
        result = dag("acorn_refunds_hourly").test(logical_date=HOUR_END)  # nobody answers Required Actions
    finally:
        stop.set()
        page.join()
    states = {ti.task_id: ti.state for ti in result.get_task_instances() if ti.map_index in (-1, 0)}
    assert result.state == "success"
    assert states[REVIEW_TASK_ID] == "success"
    assert states["record_review"] == "success"
    [(one, first_resumed), (rest, then_resumed)] = answered
    assert len(one) == 1
    assert first_resumed == []
    assert [r["run_id"] for r in then_resumed] == [result.run_id]  # the last line: it goes on
    with psycopg.connect(airflow_env) as conn:
        rows = conn.execute(
            "SELECT source, answer, responded_by, count(*) FROM core.review_item_answers GROUP BY 1, 2, 3 ORDER BY 2"
        ).fetchall()
        hitl = conn.execute(
            "SELECT chosen_option, responded_by, items_resolved FROM core.review_answers"
        ).fetchall()
        still_open = conn.execute("SELECT count(*) FROM core.review_items WHERE state = 'open'").fetchone()[0]
    assert rows == [("page", "approved", "Bob Ops", len(rest)), ("page", "rejected", "Alice Ops", 1)]
    assert hitl == [("Answered on the page", "Bob Ops", 0)]
    assert still_open == 0


def test_waiting_reviews_never_use_up_the_hourly_dag_s_active_runs(airflow_db):
    from datetime import timedelta

    from acorn_airflow.review import REVIEW_TIMEOUT

    hourly = dag("acorn_refunds_hourly")
    waiting_at_most = REVIEW_TIMEOUT // timedelta(hours=1)  # then the review takes its default
    assert hourly.max_active_runs > waiting_at_most
    from acorn.review.requests import OPTIONS

    assert hourly.task_dict["review_batch"].options == OPTIONS
