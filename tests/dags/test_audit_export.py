"""acorn_audit_export in a real dag.test() run: the last N days' operation log lands as CSV and Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg
import pyarrow.parquet as pq

from tests.dags.conftest import HOUR_END, dag, run


def test_the_export_dag_writes_the_days_log_to_the_landing_area(airflow_env, tmp_path):
    run("acorn_fx_rates_daily", HOUR_END)
    run("acorn_refunds_hourly", HOUR_END)  # loads, decides, and a reviewer answers
    result = dag("acorn_audit_export").test(run_conf={"days": 3})
    assert result.state == "success"
    files = sorted((tmp_path / "landing" / "exports").iterdir())
    assert [f.suffix for f in files] == [".csv", ".parquet"]
    assert "-3d-" in files[0].name
    csv = pd.read_csv(files[0], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    parquet = pq.read_table(files[1]).to_pandas()
    with psycopg.connect(airflow_env) as conn:
        decisions = conn.execute("SELECT count(*) FROM core.decisions").fetchone()[0]
        answers = conn.execute("SELECT count(*) FROM core.review_item_answers").fetchone()[0]
    counts = csv["record"].value_counts().to_dict()
    assert counts["decision"] == decisions
    assert counts["review_answer"] == answers > 0
    assert len(parquet) == len(csv)
    assert Path(files[0]).read_bytes().startswith(b"\xef\xbb\xbf")
