"""
### acorn_policy_simulation: try a proposed refund policy on stored refunds, deciding nothing

Triggered by hand (Trigger with config): `policy_file` is the proposed policy (absolute, or relative to the project),
`date_from` and `date_to` the window of refund dates (UTC, end exclusive). Both the policy in force and the
proposed one decide the stored refund lines of the window; the comparison (outcomes, transitions, review
load, money in the reporting currency, claims) is printed in the task log and stored in
`core.policy_simulations` (`mart.policy_simulations`). No decision is written.

**On call.** Safe to clear: each run stores one more report. A failure naming the policy file means the
proposed file is missing or broken: the message names the rule and field.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from acorn_airflow.batch import NO_RETRY_ON_CONFIG, prepare_warehouse

log = logging.getLogger(__name__)


@task(retry_policy=NO_RETRY_ON_CONFIG)
def simulate() -> dict:
    from datetime import UTC, datetime
    from pathlib import Path

    from acorn.policy.rules import load_policy
    from acorn.policy.simulate import format_report
    from acorn.policy.simulate import simulate as run
    from acorn.settings import PROJECT_ROOT, load_settings
    from acorn_airflow.resources import warehouse

    ctx = get_current_context()
    params = ctx["params"]
    start = datetime.fromisoformat(params["date_from"]).replace(tzinfo=UTC)
    end = datetime.fromisoformat(params["date_to"]).replace(tzinfo=UTC)
    with warehouse() as conn:
        report = run(
            conn,
            load_policy(load_settings().policy_file),
            load_policy(PROJECT_ROOT / Path(params["policy_file"])),  # relative paths are the project's
            start,
            end,
            requested_by=f"dag:{ctx['run_id']}",
        )
    log.info("%s", format_report(report))
    return {k: report[k] for k in ("simulation_id", "refund_lines", "changed_lines", "review_load_delta")}


@dag(
    dag_id="acorn_policy_simulation",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "refund-ops", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "policy_file": Param(
            "include/policies/refund_policy.yaml", type="string", title="Proposed policy file"
        ),
        "date_from": Param("2026-11-02", type="string", format="date", title="First refund day (UTC)"),
        "date_to": Param("2026-11-03", type="string", format="date", title="Day after the last (UTC)"),
    },
    tags=["acorn", "refunds", "simulation"],
    doc_md=__doc__,
)
def acorn_policy_simulation():
    prepare_warehouse() >> simulate()


acorn_policy_simulation()
