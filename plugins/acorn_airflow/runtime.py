"""Local runtime for the demo, the UI and the tests: Airflow's home, metadata DB and the warehouse setting.

Must run before ``airflow`` is imported: Airflow reads its configuration once, at import.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def configure(home: Path | None = None, *, export_warehouse: bool = True) -> dict[str, str]:
    """Point Airflow at this project (DAGs, plugins, a SQLite metadata DB under ACORN_HOME) and at the
    warehouse: the user's AIRFLOW_CONN_ACORN_WAREHOUSE if set, else the embedded Postgres (started here,
    migrated as its owner, and handed to the pipeline as the least-privilege login ``acorn_pipeline``).

    With ``export_warehouse`` the DSN is put in AIRFLOW_CONN_ACORN_WAREHOUSE (``dag.test()`` runs); ``make
    up`` stores it as a Connection instead, so that an edit under Admin > Connections takes effect.
    """
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
    dsn = os.environ.get("AIRFLOW_CONN_ACORN_WAREHOUSE") or embedded_warehouse(home)
    if export_warehouse:
        os.environ["AIRFLOW_CONN_ACORN_WAREHOUSE"] = dsn
    return {**{k: os.environ[k] for k in env}, "AIRFLOW_CONN_ACORN_WAREHOUSE": dsn}


def embedded_warehouse(home: Path) -> str:
    """Start the embedded Postgres, migrate it as its owner and return the pipeline login's DSN."""
    import psycopg

    from acorn.warehouse import embedded
    from acorn.warehouse.migrate import migrate
    from acorn.warehouse.roles import PIPELINE_LOGIN, ensure_login

    port = int(os.environ.get("ACORN_EMBEDDED_PG_PORT", embedded.DEFAULT_PORT))
    owner = embedded.ensure_running(home / "pgdata", port)
    with psycopg.connect(owner, autocommit=True) as conn:
        migrate(conn)
        ensure_login(conn, PIPELINE_LOGIN, "loader")
    return embedded.dsn(port, user=PIPELINE_LOGIN)


def warehouse_dsn() -> str:
    """The warehouse DSN for direct use (psql, the summary), from the same setting the DAGs use."""
    from airflow.sdk import Connection

    conn = Connection.get("acorn_warehouse")
    auth = conn.login + (f":{conn.password}" if conn.password else "") + "@" if conn.login else ""
    return f"postgresql://{auth}{conn.host}:{conn.port or 5432}/{conn.schema}"
