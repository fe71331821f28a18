"""
### acorn_audit_export: the operation log of the last N days, for finance and support

Trigger it with the `days` param (default 7: when refunds go wrong, the first steps are "pause automatic
refunds, export the last 7 days of the operation log"). It writes every audit event, decision and review answer
of those days to `exports/operation-log-<days>d-<time>.csv` (UTF-8 with BOM, formula-safe) and `.parquet` in
the landing area. The same export downloads from the reviewer's page (Browse > Refund review).

**On call.** Safe to clear or trigger again: each run writes new files named by its time and changes nothing
in the warehouse. It reads with the `acorn_warehouse` connection; a failure that names it does not retry.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag

from acorn_airflow.audit_export import export_operation_log


@dag(
    dag_id="acorn_audit_export",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    params={"days": Param(7, type="integer", minimum=1, maximum=366, title="Days back from now")},
    default_args={"owner": "refund-ops", "retries": 1},
    tags=["acorn", "audit"],
    doc_md=__doc__,
)
def acorn_audit_export():
    export_operation_log()


acorn_audit_export()
