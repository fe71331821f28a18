"""The run's review path as Airflow tasks: gate -> review_batch (HITL) -> record_review, then summarize.

The gate claims the run's open review items in one review request (``acorn.review.requests.open_request``); the
HITL task shows that request and carries its id in its form, so the answer resolves exactly the items the
person was shown, whatever happened to the run in between.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param, get_current_context, task

from acorn_airflow.batch import NO_RETRY_ON_CONFIG

if TYPE_CHECKING:
    from acorn.stage_reports import LoadReport

log = logging.getLogger(__name__)

REVIEW_TASK_ID = "review_batch"
NO_REVIEW_TASK_ID = "no_review_needed"
GATE_TASK_ID = "review_gate"
#: acorn.review.requests.OPTIONS (kept literal here: DAG files parse without importing the library)
REVIEW_OPTIONS = ["Approve", "Reject", "Escalate", "Answered on the page"]
PAGE_PATH = "/acorn/review/"
REVIEW_TIMEOUT = timedelta(hours=12)
REQUEST_PARAM = "request_id"


def batch_reports(loads: Any) -> list[LoadReport]:
    """The load reports of the batches that loaded, as a list.

    Airflow hands a downstream task the XCom of a mapped task group's task as a sequence, except when the
    group has exactly one instance: then ``xcom_pull`` returns that one report itself (a dict). A failed
    instance has no report and is left out.
    """
    from acorn.stage_reports import LoadReport

    if loads is None:
        return []
    if isinstance(loads, Mapping):
        return [LoadReport.from_xcom(dict(loads))]
    return [LoadReport.from_xcom(dict(r)) for r in loads if r]


def _missing_accounts(ti, reports: Iterable[LoadReport]) -> list[str]:
    configured = ti.xcom_pull(task_ids="channel_accounts") or []
    loaded = {r.account_id for r in reports}
    return sorted(set(configured) - loaded)


@task.branch(task_id=GATE_TASK_ID, retry_policy=NO_RETRY_ON_CONFIG, trigger_rule="all_done_min_one_success")
def review_gate(loads) -> str:
    """Claim the run's open review items in one request and send it to a person; else skip that path.

    Runs when every batch is done and at least one loaded: one account's failure (a revoked credential, say)
    must not keep the other accounts' refunds from their reviewer, who is told which accounts are missing.
    The run still ends failed, showing that account.
    """
    from acorn.review.requests import open_request
    from acorn_airflow.resources import warehouse

    ctx = get_current_context()
    ti = ctx["ti"]
    reports = batch_reports(loads)
    missing = _missing_accounts(ti, reports)
    with warehouse() as conn:
        request = open_request(
            conn,
            dag_id=ctx["dag"].dag_id,
            run_id=ctx["run_id"],
            batch_ids=[r.batch_id for r in reports],
            missing_accounts=missing,
        )
    ti.xcom_push(key=REQUEST_PARAM, value=request.request_id)
    ti.xcom_push(key="items", value=len(request.item_ids))
    ti.xcom_push(key="briefing", value=request.briefing(page_link(request.request_id)))
    log.info(
        "review request %s: %d open items of %d batches %s; missing accounts %s; under review elsewhere %s",
        request.request_id,
        len(request.item_ids),
        len(reports),
        request.summary["by_account"],
        missing or "none",
        request.held_elsewhere or "none",
    )
    return REVIEW_TASK_ID if request.request_id else NO_REVIEW_TASK_ID


def max_active_runs(interval: timedelta, loading: int = 4) -> int:
    """Active runs enough that waiting reviews never keep a new run from loading: every run that can be
    waiting at ``review_batch`` (each at most ``REVIEW_TIMEOUT``, then it takes its default) plus ``loading``
    runs that load at once. Four unanswered reviews stopped the hourly DAG when this was a flat 4."""
    return -(-REVIEW_TIMEOUT // interval) + loading


def page_link(request_id: str | None) -> str | None:
    """The reviewer's page on exactly this request's items, under the API server's base URL."""
    if not request_id:
        return None
    from airflow.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return f"{base}{PAGE_PATH}?request_id={request_id}"


class ReviewRequestOperator(HITLOperator):
    """The HITL task of one review request: the request's id is filled into the form when it is issued.

    Airflow stores the form with the request, so the answer comes back with the id of the request the person
    actually saw (not whatever the gate holds by the time the answer arrives).
    """

    def execute(self, context):
        request_id = context["ti"].xcom_pull(task_ids=GATE_TASK_ID, key=REQUEST_PARAM)
        answered = _answered_on_the_page(request_id)
        if answered:  # nothing left to ask: the page answered every item before this task asked
            log.info(
                "every item of review request %s was answered on the reviewer's page already", request_id
            )
            return answered
        self.params[REQUEST_PARAM] = Param(
            request_id,
            type="string",
            enum=[request_id],
            title="Review request",
            description="Filled in by ACORN: the items counted above. Do not change.",
            source="task",
        )
        return super().execute(context)


def _answered_on_the_page(request_id: str | None) -> dict | None:
    """The review task's answer when no item of the request is open any more (answered on the page between
    the gate and this task), in the shape a HITL response has; None while any is open."""
    from acorn.review.requests import ON_THE_PAGE
    from acorn_airflow.resources import warehouse

    with warehouse() as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE i.state = 'open'), max(i.resolved_by) "
            "FROM core.review_requests q JOIN core.review_items i ON i.review_item_id = ANY(q.item_ids) "
            "WHERE q.request_id = %s",
            (request_id,),
        ).fetchone()
    if not request_id or row is None or row[0] or row[1] is None:
        return None
    return {
        "chosen_options": [ON_THE_PAGE],
        "params_input": {
            REQUEST_PARAM: request_id,
            "comment": "answered on the reviewer's page before the task asked",
        },
        "responded_by_user": {
            "id": "acorn",
            "name": "acorn (every item was answered on the reviewer's page)",
        },
        "responded_at": datetime.now(UTC).isoformat(),
    }


@task(task_id="record_review", retry_policy=NO_RETRY_ON_CONFIG)
def record_review() -> dict:
    """Resolve the items of the request that was answered, and only those still open."""
    from airflow.sdk.exceptions import AirflowFailException

    from acorn.review.requests import record_answer
    from acorn_airflow.resources import warehouse

    ctx = get_current_context()
    ti = ctx["ti"]
    answer = ti.xcom_pull(task_ids=REVIEW_TASK_ID)
    if not answer:
        raise AirflowFailException(f"{REVIEW_TASK_ID} finished without an answer: clear it and answer it")
    params = answer.get("params_input") or {}
    request_id = params.get(REQUEST_PARAM) or ti.xcom_pull(task_ids=GATE_TASK_ID, key=REQUEST_PARAM)
    responded_at = answer.get("responded_at")
    responded_at = datetime.fromisoformat(str(responded_at)) if responded_at else datetime.now(UTC)
    user = answer.get("responded_by_user") or {}
    with warehouse() as conn:
        result = record_answer(
            conn,
            request_id=request_id,
            chosen=answer["chosen_options"][0],
            responded_by=str(user.get("name") or user.get("id") or "unknown"),
            responded_at=responded_at,
            comment=params.get("comment"),
            dag_id=ctx["dag"].dag_id,
            run_id=ctx["run_id"],
            task_id=REVIEW_TASK_ID,
        )
    if result.resolved or result.replayed:
        log.info("review answer by %s: %s", user, result.describe())
    else:
        log.warning("review answer by %s resolved nothing: %s", user, result.describe())
    return {
        "answer": result.chosen,
        "request_id": result.request_id,
        "shown": result.shown,
        "resolved": len(result.resolved),
        "already_answered": result.already_answered,
    }


@task(trigger_rule="all_done")
def summarize(loads) -> dict:
    """The run in one log block: per account what was read, kept, quarantined, decided and loaded, and which
    accounts have no batch (their task failed)."""
    from acorn.money import describe_sums

    ti = get_current_context()["ti"]
    reports = batch_reports(loads)
    missing = _missing_accounts(ti, reports)
    for r in reports:
        log.info(
            "%-18s %-5s %-7s inserted %s quarantined %s review %s outcomes %s refunds %s",
            r.account_id,
            r.verdict,
            "replay" if r.replay else "loaded",
            r.inserted,
            r.quarantined,
            r.review_items,
            r.outcomes,
            describe_sums(r.loaded_refunds_minor),
        )
    if missing:
        log.error("no batch loaded for %s: see the failed batch task of each", ", ".join(missing))
    return {
        "batches": len(reports),
        "missing_accounts": missing,
        "held": sum(r.verdict == "hold" for r in reports),
        "quarantined": sum(r.quarantined for r in reports),
        "review_items": sum(r.review_items for r in reports),
    }


@task(trigger_rule="all_done", retries=0)
def all_accounts_loaded() -> None:
    """The run's last task: fails the run when an account's batch did not load, after everything else ran.

    The run's summary and (in the daily DAG) the marts are written for the accounts that loaded; this task
    is what makes the run end failed so that on-call sees it.
    """
    from airflow.sdk.exceptions import AirflowFailException

    ti = get_current_context()["ti"]
    if ti.xcom_pull(task_ids="channel_accounts") is None:
        raise AirflowFailException(
            "the run failed before it read the channel accounts: see prepare_warehouse and channel_accounts"
        )
    summary = ti.xcom_pull(task_ids="summarize")
    if summary is None:
        raise AirflowFailException("summarize did not run: see the failed task before it")
    if summary["missing_accounts"]:
        raise AirflowFailException(
            f"no batch loaded for {', '.join(summary['missing_accounts'])}: clear the failed batch task of "
            "each once its cause is fixed (see the README's runbook)"
        )


def review_path(loads):
    """gate -> (review_batch -> record_review | no_review_needed) -> summarize; returns the summary task.

    The reviewer sees the counts and money per account in Browse > Required Actions. Without an answer in
    12 hours the default (Escalate) is taken, so a run never waits forever and nothing is approved silently.
    """
    gate = review_gate(loads)
    review = ReviewRequestOperator(
        task_id=REVIEW_TASK_ID,
        subject="ACORN: {{ ti.xcom_pull(task_ids='review_gate', key='items') }} refund items to review "
        "({{ data_interval_start }} to {{ data_interval_end }})",
        body="{{ ti.xcom_pull(task_ids='review_gate', key='briefing') }}",
        options=REVIEW_OPTIONS,
        defaults=["Escalate"],
        params={
            "comment": Param("", type="string", title="Comment for the audit log"),
            REQUEST_PARAM: Param("", type="string", title="Review request"),
        },
        response_timeout=REVIEW_TIMEOUT,
    )
    skip = EmptyOperator(task_id=NO_REVIEW_TASK_ID)
    done = summarize(loads)
    gate >> [review, skip]
    review >> record_review() >> done
    skip >> done
    return done
