"""Policy checks on the DAG files themselves, in the manner of Airflow's own example-DAG tests."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import pytest

DAGS = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
ALLOWED_TAGS = {"audit", "acorn", "refunds", "fx", "hourly", "daily", "simulation"}
EXPECTED = {
    "acorn_refunds_hourly",
    "acorn_refunds_daily",
    "acorn_fx_rates_daily",
    "acorn_policy_simulation",
    "acorn_audit_export",
}


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_dags_import_without_errors(bag):
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXPECTED


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_each_dag_has_owner_tags_retries_and_docs(bag, dag_id):
    dag = bag.dags[dag_id]
    assert Path(dag.fileloc).stem == dag_id
    assert set(dag.tags) <= ALLOWED_TAGS
    assert "acorn" in dag.tags
    assert dag.doc_md
    assert "On call" in dag.doc_md
    for task in dag.tasks:
        assert task.owner == "refund-ops", task.task_id
    assert dag.default_args["retries"] >= 1


def test_refund_dags_declare_real_data_intervals(bag):
    from airflow.sdk import CronDataIntervalTimetable

    for dag_id in ("acorn_refunds_hourly", "acorn_refunds_daily"):
        assert isinstance(bag.dags[dag_id].timetable, CronDataIntervalTimetable)


def test_hourly_dag_branches_to_review_or_skips_it(bag):
    dag = bag.dags["acorn_refunds_hourly"]
    assert dag.get_task("review_gate").downstream_task_ids == {"review_batch", "no_review_needed"}
    assert dag.get_task("review_batch").downstream_task_ids == {"record_review"}
    # one account's failure must not keep the others from their reviewer
    assert dag.get_task("review_gate").trigger_rule == "all_done_min_one_success"
    # the summary is written whatever failed; the last task then fails the run if an account is missing
    assert dag.get_task("summarize").trigger_rule == "all_done"
    assert dag.get_task("all_accounts_loaded").upstream_task_ids == {"summarize"}
    assert dag.get_task("all_accounts_loaded").downstream_task_ids == set()
    assert [t.task_id for t in dag.task_group_dict["batch"].children.values()] == [
        "batch.extract",
        "batch.validate",
        "batch.decide",
        "batch.load",
    ]


def test_parsing_reads_no_connection_and_no_variable():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import Connection, Variable

    with (
        mock.patch.object(Connection, "get", side_effect=AssertionError("connection at parse time")) as conn,
        mock.patch.object(Variable, "get", side_effect=AssertionError("variable at parse time")) as var,
    ):
        bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert conn.call_count == 0
    assert var.call_count == 0


@pytest.mark.parametrize("path", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_parsing_imports_nothing_heavy(path):
    """pandas, GX, pyarrow and psycopg load inside tasks, never in the dag-processor's parse loop."""
    probe = textwrap.dedent(f"""
        import sys, runpy
        import airflow.sdk, airflow.providers.standard.operators.hitl
        before = set(sys.modules)
        runpy.run_path({str(path)!r})
        heavy = sorted(m for m in set(sys.modules) - before
                       if m.split('.')[0] in {{'pandas', 'great_expectations', 'pyarrow', 'psycopg', 'numpy', 'yaml'}})
        print('HEAVY:' + ','.join(heavy))
    """)
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_great_expectations_is_imported_through_acorn_quality_gx_alone_and_logs_nothing_at_info():
    import subprocess
    import sys

    from tests.conftest import ROOT

    direct = [
        str(path.relative_to(ROOT))
        for folder in ("include", "plugins", "dags")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "gx.py" and re.search(r"^\s*(from|import) great_expectations", path.read_text(), re.M)
    ]
    assert direct == []
    code = (
        "import logging, sys; records = []\n"
        "class Keep(logging.Handler):\n"
        "    def emit(self, r): records.append(r)\n"
        "logging.basicConfig(level=logging.DEBUG, handlers=[Keep()])\n"
        "import acorn.quality.validate\n"
        "acorn.quality.validate._context()\n"
        "print(sorted({r.name for r in records if r.name.startswith('great_expectations') and r.levelno < 30}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_only_the_validate_stage_imports_great_expectations():
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'plugins')!r}); "
        "import acorn.pipeline, acorn_airflow.batch, acorn_airflow.review; "
        "print('great_expectations' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize(
    "error",
    [
        StopIteration(),
        OverflowError("date value out of range"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        "acorn.errors.BatchDataError",
    ],
)
def test_failures_that_a_retry_cannot_heal_fail_the_batch_task_at_once(bag, error):
    import importlib

    from airflow.sdk import RetryAction

    if isinstance(error, str):
        module, name = error.rsplit(".", 1)
        error = getattr(importlib.import_module(module), name)("refused")
    for task_id in ("batch.extract", "batch.validate", "batch.decide", "batch.load"):
        policy = bag.dags["acorn_refunds_hourly"].get_task(task_id).retry_policy
        decision = policy.evaluate(error, try_number=1, max_tries=4)
        assert decision.action == RetryAction.FAIL, task_id
        assert "runbook" in decision.reason


def test_a_stale_review_answer_fails_record_review_at_once(bag):
    from airflow.sdk import RetryAction

    from acorn.errors import ReviewRequestStale

    policy = bag.dags["acorn_refunds_hourly"].get_task("record_review").retry_policy
    decision = policy.evaluate(ReviewRequestStale("replaced"), try_number=1, max_tries=3)
    assert decision.action == RetryAction.FAIL
    assert "clear review_batch" in decision.reason


def test_a_passing_outage_is_still_retried(bag):
    from airflow.sdk import RetryAction

    from acorn.channels.http import ChannelError

    policy = bag.dags["acorn_refunds_hourly"].get_task("batch.extract").retry_policy
    assert policy.evaluate(ChannelError("HTTP 503"), try_number=1, max_tries=4).action != RetryAction.FAIL
