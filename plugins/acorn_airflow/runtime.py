"""Local runtime for the demo, the UI and the tests: Airflow's home, metadata DB and the warehouse setting.

Must run before ``airflow`` is imported: Airflow reads its configuration once, at import.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def configure(home: Path | None = None) -> dict[str, str]:
    """Point Airflow at this project (DAGs, plugins, a SQLite metadata DB under ACORN_HOME) and at the
    warehouse: the user's AIRFLOW_CONN_ACORN_WAREHOUSE if set, else the embedded Postgres (started here)."""
    home = Path(home or os.environ.get("ACORN_HOME") or PROJECT / ".acorn").resolve()
    env = {
        "ACORN_HOME": str(home),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow' / 'airflow.db'}",
    }
    for key, value in env.items():
        os.environ.setdefault(key, value)
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    if not os.environ.get("AIRFLOW_CONN_ACORN_WAREHOUSE"):
        from acorn.warehouse import embedded

        port = int(os.environ.get("ACORN_EMBEDDED_PG_PORT", embedded.DEFAULT_PORT))
        os.environ["AIRFLOW_CONN_ACORN_WAREHOUSE"] = embedded.ensure_running(home / "pgdata", port)
    return {k: os.environ[k] for k in (*env, "AIRFLOW_CONN_ACORN_WAREHOUSE")}


def warehouse_dsn() -> str:
    """The warehouse DSN for direct use (psql, the summary), from the same setting the DAGs use."""
    from airflow.sdk import Connection

    conn = Connection.get("acorn_warehouse")
    auth = conn.login + (f":{conn.password}" if conn.password else "") + "@" if conn.login else ""
    return f"postgresql://{auth}{conn.host}:{conn.port or 5432}/{conn.schema}"
