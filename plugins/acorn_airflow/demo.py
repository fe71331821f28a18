"""``make demo``: the whole pipeline through Airflow on built-in demo data, then a summary.

Runs, with ``dag.test()`` against the embedded warehouse (or yours, if AIRFLOW_CONN_ACORN_WAREHOUSE is set):
the FX DAG once, the hourly DAG for every hour of the demo day, and the daily DAG that re-reads that day for
late data. The demo plays the reviewer: each waiting review task is answered Approve as ``acorn-demo`` through
Airflow's own HITL records, as the Required Actions page would (``acorn_airflow.answering``); nowhere else does
ACORN answer for a person. The last hours' review tasks are answered "Answered on the page" instead, so that
their items stay open for you on the reviewer's page (``make up``, Browse > Refund review). Running it twice duplicates nothing: the second run's batches replay.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import UTC, datetime, timedelta

from acorn_airflow.runtime import configure

DEMO_DAY = datetime(2026, 11, 2, tzinfo=UTC)
REVIEWER = ("acorn-demo", "acorn-demo (the demo's reviewer)")
LEFT_FOR_THE_PAGE = 3  # the last hourly runs whose items the demo leaves open on the reviewer's page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24, help="hourly runs to make (default: the whole day)")
    parser.add_argument(
        "--day", default=DEMO_DAY.date().isoformat(), help="demo day, UTC (default %(default)s)"
    )
    args = parser.parse_args(argv)
    day = datetime.fromisoformat(args.day).replace(tzinfo=UTC)

    env = configure()
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    print(
        f"ACORN demo: Airflow home {env['AIRFLOW_HOME']}; warehouse {_redact(env['AIRFLOW_CONN_ACORN_WAREHOUSE'])}"
    )

    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    logging.getLogger("airflow").setLevel(logging.WARNING)
    started = time.monotonic()
    db.resetdb()  # the demo's Airflow metadata is throwaway; the warehouse keeps everything
    bag = DagBag(dag_folder=env["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        print(f"DAG import errors: {bag.import_errors}", file=sys.stderr)
        return 1

    from acorn.review.requests import ON_THE_PAGE
    from acorn_airflow.answering import Reviewer, answering

    failed = []
    reviewer = Reviewer(*REVIEWER, chosen="Approve", comment="approved by the demo's reviewer")
    with answering(reviewer):
        failed += _run(bag, "acorn_fx_rates_daily", day)
        # dag.test() infers the data interval that ends at the date it is given: hour H is run as H+1
        for hour in range(1, args.hours + 1):
            if hour > args.hours - LEFT_FOR_THE_PAGE:
                reviewer.chosen, reviewer.comment = ON_THE_PAGE, "left for the reviewer's page"
            failed += _run(bag, "acorn_refunds_hourly", day + timedelta(hours=hour))
        failed += _run(bag, "acorn_refunds_daily", day + timedelta(days=2))

    import psycopg

    from acorn.warehouse.reports import format_summary, pipeline_summary
    from acorn_airflow.runtime import warehouse_dsn

    dsn = warehouse_dsn()
    with psycopg.connect(dsn) as conn:
        print(format_summary(pipeline_summary(conn)))
        left_open = conn.execute("SELECT count(*) FROM core.review_items WHERE state = 'open'").fetchone()[0]
    print(f"""
Where to look next:
  - the Airflow UI with these DAGs and this warehouse:  make up   (then http://127.0.0.1:8080)
  - the reviewer's page: Browse > Refund review in that UI, with {left_open} open review items of the last
        {LEFT_FOR_THE_PAGE} hours left for you to answer line by line (see the README's reviewer's guide)
  - the analyst views:  psql "{_redact(dsn)}" -c "SELECT * FROM mart.cost_by_liability"
        mart.refunds, mart.refund_rate, mart.review_queue, mart.claims_open, mart.quarantine_summary,
        mart.daily_refunds (see the README for every column)
  - what was held back:  SELECT entity, field, reason, raw_record FROM core.quarantine
The demo's reviewer answered {len(reviewer.answered)} review tasks as acorn-demo (Approve; the last hours'
"Answered on the page", leaving their items open).
Finished in {time.monotonic() - started:.0f} s.""")
    if failed:
        print(f"FAILED runs: {failed}", file=sys.stderr)
        return 1
    return 0


def _run(bag, dag_id: str, logical_date: datetime) -> list[str]:
    from airflow.sdk import DagRunState

    dag = bag.get_dag(dag_id)
    t0 = time.monotonic()
    run = dag.test(logical_date=logical_date)
    tis = run.get_task_instances()
    states: dict[str, int] = {}
    for ti in tis:
        states[str(ti.state)] = states.get(str(ti.state), 0) + 1
    window = f"{run.data_interval_start:%Y-%m-%d %H:%M} to {run.data_interval_end:%m-%d %H:%M}"
    print(f"  {dag_id:<22} {window}  {run.state:<8} {time.monotonic() - t0:5.1f} s  {states}")
    return [] if run.state == DagRunState.SUCCESS else [f"{dag_id}@{logical_date:%Y-%m-%dT%H:%M}"]


def _redact(dsn: str) -> str:
    """Never print a password: postgresql://user:secret@host -> postgresql://user:***@host."""
    head, sep, tail = dsn.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return dsn
    scheme, _, creds = head.partition("//")
    return f"{scheme}//{creds.split(':', 1)[0]}:***@{tail}"


if __name__ == "__main__":
    raise SystemExit(main())
