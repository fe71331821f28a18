"""``make up``: the Airflow UI (``airflow standalone``) on http://127.0.0.1:8080 with ACORN's DAGs and warehouse.

Login: user ``admin``; the password is generated on first start and kept in
``$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated`` (printed below). Review tasks wait under
Browse > Required Actions. Stop with Ctrl-C; ``make stop`` stops the embedded warehouse.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from acorn_airflow.runtime import configure


def main() -> int:
    env = configure(export_warehouse=False)
    port = os.environ.get("ACORN_UI_PORT", "8080")
    os.environ.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": port,
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        }
    )
    _store_warehouse_connection(env["AIRFLOW_CONN_ACORN_WAREHOUSE"])
    passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    print(f"ACORN UI on http://127.0.0.1:{port}  (user admin; password in {passwords} once started)")
    print(
        f"warehouse: the acorn_warehouse connection ({env['AIRFLOW_CONN_ACORN_WAREHOUSE'].split('@')[-1]}), "
        "kept under Admin > Connections"
    )
    os.execvp("airflow", ["airflow", "standalone"])
    return 0


def _store_warehouse_connection(dsn: str) -> None:
    """Create the ``acorn_warehouse`` Connection in Airflow's metadata DB unless it exists, so that an edit
    under Admin > Connections is what the tasks use (an AIRFLOW_CONN_ variable would silently win)."""
    subprocess.run(["airflow", "db", "migrate"], check=True, capture_output=True)
    found = subprocess.run(["airflow", "connections", "get", "acorn_warehouse"], capture_output=True)
    if found.returncode != 0:
        subprocess.run(
            ["airflow", "connections", "add", "acorn_warehouse", "--conn-uri", dsn],
            check=True,
            capture_output=True,
        )


if __name__ == "__main__":
    raise SystemExit(main())
