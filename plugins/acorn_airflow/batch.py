"""The per-account batch (extract -> validate -> decide -> load) and the review path, as Airflow tasks.

Both refund DAGs map :func:`refund_batch` over the configured channel accounts; each task is a call into
``acorn.pipeline`` and passes only the batch folder's URI and a small report through XCom.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from airflow.sdk import (
    ExceptionRetryPolicy,
    RetryAction,
    RetryRule,
    get_current_context,
    task,
    task_group,
)

#: Configuration errors, refused credentials, payloads of the wrong shape, data a step cannot take and batches
#: whose files disagree do not heal by retrying: fail at once, clearly. A channel that stayed unavailable
#: through the client's own retries is retried by Airflow.
NO_RETRY_ON_CONFIG = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception="acorn.errors.ConfigError",
            action=RetryAction.FAIL,
            reason="fix the setting, then clear",
        ),
        RetryRule(
            exception="acorn.channels.http.CredentialError",
            action=RetryAction.FAIL,
            reason="the channel refused the credential: renew it in the connection, then clear",
        ),
        RetryRule(
            exception="acorn.channels.http.PayloadError",
            action=RetryAction.FAIL,
            reason="the payload is kept in the landing folder; fix the mapper, then clear",
        ),
        RetryRule(
            exception=[
                "builtins.StopIteration",
                "builtins.OverflowError",
                "builtins.UnicodeError",
                "acorn.errors.BatchDataError",
            ],
            action=RetryAction.FAIL,
            reason="the batch's own data breaks this step (an empty file, a date or number out of range, text the "
            "warehouse cannot store): a retry reads the same data; see the README's runbook",
        ),
        RetryRule(
            exception="acorn.errors.ReviewRequestStale",
            action=RetryAction.FAIL,
            reason="the answer was to a review request that is no longer the one to answer: clear review_batch "
            "to ask again",
        ),
        RetryRule(
            exception="acorn.errors.LoadError",
            action=RetryAction.FAIL,
            reason="the batch's own files disagree (a decision without its refund line): clear its decide task",
        ),
    ]
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from acorn.stage_reports import StageReport

R = TypeVar("R", bound="StageReport")


def run_interval() -> tuple[datetime, datetime]:
    """The run's data interval; a run triggered without a logical date has none, and says what to do."""
    from acorn.errors import ConfigError

    ctx = get_current_context()
    start, end = ctx.get("data_interval_start"), ctx.get("data_interval_end")
    if start is None or end is None:
        raise ConfigError(
            f"run {ctx['run_id']}",
            "has no data interval: it was triggered without a logical date, so ACORN cannot tell which "
            "hours to read. Trigger it with one (the Trigger form's Logical date, or `airflow dags trigger "
            f"{ctx['dag'].dag_id} --logical-date 2026-11-02T10:00:00+00:00` for the interval ending then)",
            field="logical_date",
        )
    return start, end


def _label(account_id: str) -> None:
    get_current_context()["account_id"] = account_id


def _received(report_type: type[R], xcom: dict) -> tuple[R, ObjectStoragePath]:
    """The upstream stage's report, typed, and its landing folder; the task is labelled with the account."""
    from airflow.sdk import ObjectStoragePath

    got = report_type.from_xcom(xcom)
    _label(got.account_id)
    return got, ObjectStoragePath(got.landing)


@task(retries=0)
def prepare_warehouse() -> dict:
    """Check that the warehouse is at the current migration (apply them when an owner connection is given).

    The pipeline works as a least-privilege login (``acorn_loader``): it may not migrate. With the Airflow
    connection ``acorn_warehouse_owner`` defined, pending migrations are applied with it; without, they fail
    this task with the command that applies them.
    """
    from acorn.errors import WarehouseUnavailable
    from acorn.warehouse.migrate import migrate, pending
    from acorn_airflow.resources import warehouse, warehouse_owner

    applied: list[str] = []
    owner = warehouse_owner()
    if owner is not None:
        with owner:
            applied = migrate(owner).applied
    with warehouse() as conn:
        todo = pending(conn)
        if todo:
            raise WarehouseUnavailable(
                f"the warehouse has {len(todo)} migrations pending ({', '.join(todo[:3])}): apply them as "
                "the warehouse owner with `python -m acorn.warehouse.migrate OWNER_DSN`, or define the "
                "Airflow connection 'acorn_warehouse_owner', then clear this task"
            )
        role = conn.execute(
            "SELECT current_user, rolsuper, pg_has_role(current_user, 'acorn_loader', 'MEMBER') "
            "FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        rates = conn.execute("SELECT count(*), max(rate_date) FROM core.fx_rates").fetchone()
    if role[1] or not role[2]:
        log.warning(
            "the pipeline connects as %s, %s: give acorn_warehouse a login in acorn_loader instead "
            "(python -m acorn.warehouse.roles OWNER_DSN acorn_pipeline loader)",
            role[0],
            "a superuser" if role[1] else "not a member of acorn_loader",
        )
    if not rates[0]:
        log.warning("core.fx_rates is empty: run acorn_fx_rates_daily, or every refund goes to review (D005)")
    log.info("warehouse ready as %s; migrations applied now: %s", role[0], applied or "none")
    return {"applied": applied, "role": role[0], "fx_rates": rates[0], "latest_rate": str(rates[1])}


@task(retry_policy=NO_RETRY_ON_CONFIG)
def channel_accounts() -> list[str]:
    """The ids of the active channel accounts (Variable acorn_channel_accounts, else the accounts file).

    Only ids travel: each batch reads its account's settings when it runs, so a fixed setting takes effect
    when the failed task is cleared.
    """
    from acorn_airflow.resources import channel_accounts as load

    ids = [a.id for a in load()]
    log.info("%d channel accounts: %s", len(ids), ", ".join(ids))
    return ids


@task(
    map_index_template="{{ account_id }}",
    retries=3,
    retry_exponential_backoff=2.0,
    retry_policy=NO_RETRY_ON_CONFIG,
)
def extract(account_id: str, lookback_hours: int = 0) -> dict:
    """Call the channel for the interval; keep the raw payload and the canonical rows in the landing area."""
    from acorn import pipeline
    from acorn.landing import batch_folder
    from acorn.policy.taxonomy import load_taxonomy
    from acorn.settings import load_settings
    from acorn_airflow.hooks import channel_connection, mask_minted
    from acorn_airflow.resources import channel_account as read_account
    from acorn_airflow.resources import landing_root

    _label(account_id)
    settings = load_settings()
    run_start, run_end = run_interval()
    start, end = run_start - timedelta(hours=lookback_hours), run_end - timedelta(hours=lookback_hours)
    channel_account = read_account(account_id)
    folder = batch_folder(landing_root(), account_id, start, end)
    live = channel_account.source == "live"
    report = pipeline.extract(
        channel_account,
        start,
        end,
        folder,
        as_of=run_end,
        taxonomy=load_taxonomy(),
        pseudonym_key=settings.pseudonym_key(),
        demo_options=pipeline.DemoOptions(settings.demo_seed, settings.demo_lines_per_hour),
        connection=channel_connection(channel_account) if live else None,
        on_secret=mask_minted,
    )
    return report.to_xcom()


@task(map_index_template="{{ account_id }}", retry_policy=NO_RETRY_ON_CONFIG)
def validate(extracted: dict) -> dict:
    """GX suites: failing rows to quarantine with their reason; the batch gets a verdict."""
    from acorn import pipeline
    from acorn.stage_reports import ExtractReport

    got, folder = _received(ExtractReport, extracted)
    interval = got.interval
    return pipeline.validate_stage(folder, got.account_id, interval.start, interval.end).to_xcom()


@task(map_index_template="{{ account_id }}", retry_policy=NO_RETRY_ON_CONFIG)
def decide(validated: dict) -> dict:
    """Decide every refund line with the policy in force (and the kill switch)."""
    from acorn import pipeline
    from acorn.policy.rules import load_policy
    from acorn.settings import load_settings
    from acorn.stage_reports import ValidateReport
    from acorn_airflow.resources import auto_refunds_paused, warehouse

    got, folder = _received(ValidateReport, validated)
    interval = got.interval
    policy = load_policy(load_settings().policy_file)
    with warehouse() as conn:
        report = pipeline.decide_stage(
            conn, folder, got.account_id, interval.start, interval.end, policy, paused=auto_refunds_paused()
        )
    return report.to_xcom()


@task(map_index_template="{{ account_id }}", retry_policy=NO_RETRY_ON_CONFIG)
def load(decided: dict) -> dict:
    """Load the batch in one transaction (a replay writes nothing)."""
    from acorn import pipeline
    from acorn.stage_reports import DecideReport
    from acorn_airflow.resources import warehouse

    got, folder = _received(DecideReport, decided)
    interval = got.interval
    run_id = get_current_context()["run_id"]
    with warehouse() as conn:
        report = pipeline.load_stage(conn, folder, got.account_id, interval.start, interval.end, run_id)
    return dataclasses.replace(report, outcomes=got.outcomes).to_xcom()


@task_group(group_id="batch")
def refund_batch(account_id: str, lookback_hours: int = 0):
    """One channel account, one interval: extract -> validate -> decide -> load."""
    return load(decide(validate(extract(account_id, lookback_hours))))
