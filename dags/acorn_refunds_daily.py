"""
### acorn_refunds_daily: re-read yesterday for late data, refresh the analyst views, write the daily summary

Runs at 00:00 UTC; its data interval is [D+1, D+2) and it re-reads day D, the day that ended 24 hours
before the interval began, when the channels' late events (Amazon finances lag up to 48 h; the demo channel's up to 20 h) have
arrived. The same `batch` as the hourly DAG runs per channel account; rows already loaded by the hourly runs
are upserted unchanged, late rows are added and decided, and their review items go to a reviewer as in the
hourly DAG. Then `refresh_marts` refreshes `mart.daily_refunds` and
`daily_summary` writes `core.daily_summary` for day D.

**On call.** Safe to clear any task; the summary for a day is replaced, never duplicated.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

from acorn_airflow.batch import channel_accounts, prepare_warehouse, refund_batch, run_interval
from acorn_airflow.review import all_accounts_loaded, review_path

LOOKBACK_HOURS = 24

log = logging.getLogger(__name__)


@task
def refresh_marts() -> None:
    from acorn.warehouse.reports import refresh_marts as refresh
    from acorn_airflow.resources import warehouse

    with warehouse() as conn:
        refresh(conn)


@task
def daily_summary() -> int:
    from acorn.warehouse.reports import write_daily_summary
    from acorn_airflow.resources import warehouse

    day = (run_interval()[0] - timedelta(hours=LOOKBACK_HOURS)).date()
    with warehouse() as conn:
        rows = write_daily_summary(conn, day)
    log.info("daily summary for %s: %d rows (account x currency) in core.daily_summary", day, rows)
    return rows


@dag(
    dag_id="acorn_refunds_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "refund-ops", "retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["acorn", "refunds", "daily"],
    doc_md=__doc__,
)
def acorn_refunds_daily():
    accounts = channel_accounts()
    prepare_warehouse() >> accounts
    loads = refund_batch.partial(lookback_hours=LOOKBACK_HOURS).expand(account_id=accounts)
    summary = review_path(loads)
    summary >> refresh_marts() >> daily_summary()
    summary >> all_accounts_loaded()


acorn_refunds_daily()
