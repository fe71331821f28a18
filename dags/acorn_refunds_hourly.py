"""
### acorn_refunds_hourly: every channel account's refunds of the last hour, decided and loaded

Runs at the top of every hour for the hour before (UTC data interval [H-1, H)). One mapped `batch` per channel account
(Amazon regions, Shopify shops, Magento stores, CSV drops; see `include/config/channel_accounts.yaml` or the
Variable `acorn_channel_accounts`):

`extract` (channel -> raw + canonical Parquet in the landing area) -> `validate` (GX suites; bad rows to
`core.quarantine` with field and reason; money identity against the channel's control totals) -> `decide`
(policy in `include/policies/refund_policy.yaml`) -> `load` (one transaction, ledger, upserts).

Then `review_gate`: if the batches left open review items (policy said review, or a batch was held), the run
waits at `review_batch` in **Browse > Required Actions**. Its body links to the reviewer's page (**Browse >
Refund review**) filtered to the run's items: answer them there line by line (the task goes on by itself once
none is open), or answer Approve / Reject / Escalate for all still open. `record_review` writes the answer.
Otherwise that path is skipped. Waiting runs never keep a new hour from loading.

**On call.** Every task is safe to clear: a rerun of `load` with the same content writes nothing (the ledger
says `replayed`); `extract` re-reads the channel for the same interval. A failure that names a setting (the
`acorn_warehouse` connection, a policy or accounts file) does not retry: fix the setting, then clear.
A failed `validate`/`decide` with a held batch is not an error: the batch waits for review. See the README's
runbook for each task.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag

from acorn_airflow.batch import channel_accounts, prepare_warehouse, refund_batch
from acorn_airflow.review import all_accounts_loaded, max_active_runs, review_path


@dag(
    dag_id="acorn_refunds_hourly",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=max_active_runs(timedelta(hours=1)),  # reviews waiting never stop loads
    default_args={"owner": "refund-ops", "retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["acorn", "refunds", "hourly"],
    doc_md=__doc__,
)
def acorn_refunds_hourly():
    accounts = channel_accounts()
    prepare_warehouse() >> accounts
    loads = refund_batch.partial(lookback_hours=0).expand(account_id=accounts)
    review_path(loads) >> all_accounts_loaded()


acorn_refunds_hourly()
