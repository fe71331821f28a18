"""The per-account batch (extract -> validate -> decide -> load) and the review path, as Airflow tasks.

Both refund DAGs map :func:`refund_batch` over the configured channel accounts; each task is a call into
``acorn.pipeline`` and passes only the batch folder's URI and a small report through XCom.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import (
    ExceptionRetryPolicy,
    Param,
    RetryAction,
    RetryRule,
    get_current_context,
    task,
    task_group,
)

#: Configuration errors, refused credentials, payloads of the wrong shape and batches whose files disagree do
#: not heal by retrying: fail at once, clearly. A channel that stayed unavailable through the client's own
#: retries is retried by Airflow.
NO_RETRY_ON_CONFIG = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception="acorn.errors.ConfigError",
            action=RetryAction.FAIL,
            reason="fix the setting, then clear",
        ),
        RetryRule(
            exception="acorn.connectors.http.CredentialError",
            action=RetryAction.FAIL,
            reason="the channel refused the credential: renew it in the connection, then clear",
        ),
        RetryRule(
            exception="acorn.connectors.http.PayloadError",
            action=RetryAction.FAIL,
            reason="the payload is kept in the landing folder; fix the mapper, then clear",
        ),
        RetryRule(
            exception="acorn.errors.LoadError",
            action=RetryAction.FAIL,
            reason="the batch's own files disagree (a decision without its refund line): clear its decide task",
        ),
    ]
)
REVIEW_TASK_ID = "review_batch"
NO_REVIEW_TASK_ID = "no_review_needed"
REVIEW_OPTIONS = ["Approve", "Reject", "Escalate"]
REVIEW_TIMEOUT = timedelta(hours=12)


def _window(report_or_none: dict | None = None, lookback_hours: int = 0) -> tuple[datetime, datetime]:
    if report_or_none is not None:
        start, end = report_or_none["window"]
        return datetime.fromisoformat(start), datetime.fromisoformat(end)
    ctx = get_current_context()
    lookback = timedelta(hours=lookback_hours)
    return ctx["data_interval_start"] - lookback, ctx["data_interval_end"] - lookback


def _label(account_id: str) -> None:
    get_current_context()["account_id"] = account_id


@task(retries=0)
def prepare_warehouse() -> dict:
    """Apply pending migrations (and refresh changed views) before anything reads or writes."""
    from acorn.warehouse.migrate import migrate
    from acorn_airflow.resources import warehouse

    with warehouse() as conn:
        report = migrate(conn)
        rates = conn.execute("SELECT count(*), max(rate_date) FROM core.fx_rates").fetchone()
    if not rates[0]:
        print(
            "WARNING: core.fx_rates is empty: run acorn_fx_rates_daily, or every refund goes to review (D005)"
        )
    return {
        "applied": report.applied,
        "views": report.views_refreshed,
        "current": report.current,
        "fx_rates": rates[0],
        "latest_rate": str(rates[1]),
    }


@task(retry_policy=NO_RETRY_ON_CONFIG)
def channel_accounts() -> list[dict]:
    """The active channel accounts (Variable acorn_channel_accounts, else the accounts file)."""
    from acorn_airflow.resources import channel_accounts as load

    accounts = [a.to_dict() for a in load()]
    print(f"{len(accounts)} channel accounts: {[a['id'] for a in accounts]}")
    return accounts


@task(
    map_index_template="{{ account_id }}",
    retries=3,
    retry_exponential_backoff=2.0,
    retry_policy=NO_RETRY_ON_CONFIG,
)
def extract(account: dict, lookback_hours: int = 0) -> dict:
    """Call the channel for the interval; keep the raw payload and the canonical rows in the landing area."""
    from acorn import pipeline
    from acorn.channels.accounts import account_from_dict
    from acorn.landing import batch_folder
    from acorn.policy.taxonomy import load_taxonomy
    from acorn.settings import load_settings
    from acorn_airflow.hooks import channel_connection, mask_minted
    from acorn_airflow.resources import landing_root

    _label(account["id"])
    settings = load_settings()
    start, end = _window(lookback_hours=lookback_hours)
    folder = batch_folder(landing_root(), account["id"], start, end)
    channel_account = account_from_dict(account)
    live = channel_account.source == "live"
    report = pipeline.extract(
        channel_account,
        start,
        end,
        folder,
        as_of=get_current_context()["data_interval_end"],
        taxonomy=load_taxonomy(),
        pseudonym_key=settings.pseudonym_key(),
        demo_options=pipeline.DemoOptions(settings.demo_seed, settings.demo_lines_per_hour),
        connection=channel_connection(channel_account) if live else None,
        on_secret=mask_minted,
    )
    return {**report, "window": [start.isoformat(), end.isoformat()]}


@task(map_index_template="{{ account_id }}", retry_policy=NO_RETRY_ON_CONFIG)
def validate(extracted: dict) -> dict:
    """GX suites: failing rows to quarantine with their reason; the batch gets a verdict."""
    from airflow.sdk import ObjectStoragePath

    from acorn import pipeline

    _label(extracted["account_id"])
    start, end = _window(extracted)
    report = pipeline.validate_stage(
        ObjectStoragePath(extracted["landing"]), extracted["account_id"], start, end
    )
    return {**report, "window": extracted["window"]}


@task(map_index_template="{{ account_id }}", retry_policy=NO_RETRY_ON_CONFIG)
def decide(validated: dict) -> dict:
    """Decide every refund line with the policy in force (and the kill switch)."""
    from airflow.sdk import ObjectStoragePath

    from acorn import pipeline
    from acorn.policy.rules import load_policy
    from acorn.settings import load_settings
    from acorn_airflow.resources import auto_refunds_paused, warehouse

    _label(validated["account_id"])
    start, end = _window(validated)
    policy = load_policy(load_settings().policy_file)
    with warehouse() as conn:
        report = pipeline.decide_stage(
            conn,
            ObjectStoragePath(validated["landing"]),
            validated["account_id"],
            start,
            end,
            policy,
            paused=auto_refunds_paused(),
        )
    return {**report, "window": validated["window"]}


@task(map_index_template="{{ account_id }}", retry_policy=NO_RETRY_ON_CONFIG)
def load(decided: dict) -> dict:
    """Load the batch in one transaction (a replay writes nothing)."""
    from airflow.sdk import ObjectStoragePath

    from acorn import pipeline
    from acorn_airflow.resources import warehouse

    _label(decided["account_id"])
    start, end = _window(decided)
    ctx = get_current_context()
    with warehouse() as conn:
        report = pipeline.load_stage(
            conn, ObjectStoragePath(decided["landing"]), decided["account_id"], start, end, ctx["run_id"]
        )
    return {**report, "window": decided["window"], "outcomes": decided["outcomes"]}


@task_group(group_id="batch")
def refund_batch(account: dict, lookback_hours: int = 0):
    """One channel account, one interval: extract -> validate -> decide -> load."""
    return load(decide(validate(extract(account, lookback_hours))))


@task.branch(retry_policy=NO_RETRY_ON_CONFIG, trigger_rule="all_done_min_one_success")
def review_gate(loads: list[dict]) -> str:
    """Send the run to a reviewer when its batches left open review items; otherwise skip that path.

    Runs when every batch is done and at least one loaded: one account's failure (a revoked credential, say)
    must not keep the other accounts' refunds from their reviewer. The run still ends failed, showing that
    account.
    """
    from acorn.review import briefing_markdown, open_items_summary
    from acorn_airflow.resources import warehouse

    loads = list(loads)
    batch_ids = [report["batch_id"] for report in loads]
    with warehouse() as conn:
        summary = open_items_summary(conn, batch_ids)
    ti = get_current_context()["ti"]
    ti.xcom_push(key="batch_ids", value=batch_ids)
    ti.xcom_push(key="items", value=summary["items"])
    ti.xcom_push(key="briefing", value=briefing_markdown(summary))
    print(f"{summary['items']} open review items in {len(batch_ids)} batches: {summary['by_account']}")
    return REVIEW_TASK_ID if summary["items"] else NO_REVIEW_TASK_ID


@task
def record_review() -> dict:
    """Write the reviewer's answer to the warehouse and resolve the reviewed items."""
    from airflow.sdk.exceptions import AirflowFailException

    from acorn.review import record_answer
    from acorn.settings import load_settings
    from acorn_airflow.resources import warehouse

    ctx = get_current_context()
    ti = ctx["ti"]
    answer = ti.xcom_pull(task_ids=REVIEW_TASK_ID)
    if not answer:
        if not load_settings().demo_mode:
            raise AirflowFailException(f"{REVIEW_TASK_ID} finished without an answer: answer it, or clear it")
        answer = {
            "chosen_options": ["Approve"],
            "params_input": {"comment": "answered automatically: ACORN_DEMO_MODE is on"},
            "responded_by_user": {"id": "acorn-demo", "name": "acorn-demo (automatic, demo mode only)"},
            "responded_at": ctx["data_interval_end"].isoformat(),
        }
    responded_at = answer.get("responded_at")
    responded_at = datetime.fromisoformat(str(responded_at)) if responded_at else ctx["data_interval_end"]
    user = answer.get("responded_by_user") or {}
    with warehouse() as conn:
        resolved = record_answer(
            conn,
            batch_ids=ti.xcom_pull(task_ids="review_gate", key="batch_ids"),
            chosen=answer["chosen_options"][0],
            responded_by=str(user.get("name") or user.get("id") or "unknown"),
            responded_at=responded_at,
            comment=(answer.get("params_input") or {}).get("comment"),
            dag_id=ctx["dag"].dag_id,
            run_id=ctx["run_id"],
            task_id=REVIEW_TASK_ID,
        )
    print(f"review answer {answer['chosen_options'][0]!r} by {user}: {resolved} items resolved")
    return {"answer": answer["chosen_options"][0], "resolved": resolved}


@task(trigger_rule="none_failed_min_one_success")
def summarize(loads: list[dict]) -> dict:
    """The run in one log block: per account what was read, kept, quarantined, decided and loaded."""
    from acorn.money import describe_sums

    loads = list(loads)
    for r in loads:
        print(
            f"{r['account_id']:<18} {r['verdict']:<5} {'replay' if r['replay'] else 'loaded':<7} "
            f"inserted {r['inserted']} quarantined {r['quarantined']} review {r['review_items']} "
            f"outcomes {r['outcomes']} refunds {describe_sums(r['loaded_refunds_minor'])}"
        )
    return {
        "batches": len(loads),
        "held": sum(r["verdict"] == "hold" for r in loads),
        "quarantined": sum(r["quarantined"] for r in loads),
        "review_items": sum(r["review_items"] for r in loads),
    }


def review_path(loads):
    """gate -> (review_batch -> record_review | no_review_needed) -> summarize; returns the summary task.

    The reviewer sees the counts and money per account in Browse > Required Actions. Without an answer in
    12 hours the default (Escalate) is taken, so a run never waits forever and nothing is approved silently.
    """
    gate = review_gate(loads)
    review = HITLOperator(
        task_id=REVIEW_TASK_ID,
        subject="ACORN: {{ ti.xcom_pull(task_ids='review_gate', key='items') }} refund items to review "
        "({{ data_interval_start }} to {{ data_interval_end }})",
        body="{{ ti.xcom_pull(task_ids='review_gate', key='briefing') }}",
        options=REVIEW_OPTIONS,
        defaults=["Escalate"],
        params={"comment": Param("", type="string", title="Comment for the audit log")},
        response_timeout=REVIEW_TIMEOUT,
    )
    skip = EmptyOperator(task_id=NO_REVIEW_TASK_ID)
    done = summarize(loads)
    gate >> [review, skip]
    review >> record_review() >> done
    skip >> done
    return done
