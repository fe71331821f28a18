"""
### acorn_fx_rates_daily: load the ECB reference rates into core.fx_rates

Reads an ECB-format CSV (`eurofxref-hist.csv` shape: Date, then one column per currency, units per 1 EUR)
from `ACORN_FX_FILE` (the demo ships `include/data/ecb_fx_rates.csv`, synthetic rates) and upserts it. Refunds
convert at the last rate on or before their date; a refund with no rate goes to review (rule D005).

**On call.** Safe to clear: unchanged rates are not rewritten. A failure naming the file and line means the
file is malformed: fix or replace it, then clear.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, task

from acorn_airflow.batch import NO_RETRY_ON_CONFIG, prepare_warehouse

log = logging.getLogger(__name__)


@task(retry_policy=NO_RETRY_ON_CONFIG)
def load_rates() -> int:
    from acorn.policy.fx import read_ecb_csv
    from acorn.settings import load_settings
    from acorn.warehouse.load import load_fx_rates
    from acorn_airflow.resources import warehouse

    path = load_settings().fx_file
    rates = read_ecb_csv(path)
    with warehouse() as conn:
        changed = load_fx_rates(conn, rates, source=path.name)
    log.info(
        "%d rates read from %s (%s to %s, %d currencies); %d new or changed",
        len(rates),
        path,
        f"{rates['rate_date'].min():%Y-%m-%d}",
        f"{rates['rate_date'].max():%Y-%m-%d}",
        rates["currency"].nunique(),
        changed,
    )
    return changed


@dag(
    dag_id="acorn_fx_rates_daily",
    schedule=CronTriggerTimetable("0 17 * * 1-5", timezone="Europe/Berlin"),
    start_date=pendulum.datetime(2026, 11, 1, tz="Europe/Berlin"),
    catchup=False,
    default_args={"owner": "refund-ops", "retries": 2, "retry_delay": timedelta(minutes=10)},
    tags=["acorn", "fx", "daily"],
    doc_md=__doc__,
)
def acorn_fx_rates_daily():
    prepare_warehouse() >> load_rates()


acorn_fx_rates_daily()
