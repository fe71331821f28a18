"""Test set-up: Airflow pointed at a throwaway home, a real Postgres for the warehouse.

The warehouse is ``ACORN_TEST_DATABASE_URL`` when given (CI runs Postgres on 127.0.0.1:5432), else the
embedded Postgres from the pgserver wheel on its own port. Each test that needs the warehouse gets a fresh
database cloned from a migrated template, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_HOME = Path(tempfile.mkdtemp(prefix="acorn-test-"))
os.environ.update(
    {
        "ACORN_HOME": str(_HOME),
        "AIRFLOW_HOME": str(_HOME / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow' / 'airflow.db'}",
        "ACORN_PSEUDONYM_KEY": secrets.token_hex(16),  # a fresh key per session, never a fixed one
    }
)
os.environ.pop("AIRFLOW_CONN_ACORN_WAREHOUSE", None)
(_HOME / "airflow").mkdir(parents=True, exist_ok=True)
sys.path.insert(0, str(ROOT / "plugins"))

TEST_PG_PORT = 54339
LOADER_PASSWORD = secrets.token_hex(12)  # the pipeline's login in the test warehouse, fresh per session


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """DSN of a Postgres server database we may create databases from (the maintenance DB).

    An embedded server this session started is stopped at its end: left running, it held the test port and
    another clone's ``make test`` refused to start.
    """
    url = os.environ.get("ACORN_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from acorn.warehouse import embedded

    data_dir = (ROOT / ".acorn" / "test-pgdata").resolve()
    started_here = not (data_dir / "postmaster.pid").exists()
    dsn = embedded.ensure_running(data_dir, TEST_PG_PORT)
    yield dsn.rsplit("/", 1)[0] + "/postgres"
    if started_here:
        embedded.stop(data_dir)


def _with_db(dsn: str, name: str) -> str:
    base, _, rest = dsn.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> str:
    """A migrated database to clone: migrations run once per session, tests get copies."""
    import psycopg

    from acorn.warehouse.migrate import migrate
    from acorn.warehouse.roles import PIPELINE_LOGIN, ensure_login

    name = f"acorn_tpl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(_with_db(pg_server, name), autocommit=True) as conn:
        migrate(conn)
        ensure_login(conn, PIPELINE_LOGIN, "loader", LOADER_PASSWORD)
    yield name
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone_database(pg_server: str, template: str, prefix: str = "acorn_t") -> Iterator[str]:
    """A new database copied from ``template`` (yields its DSN), dropped afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        # a database's own privileges are not copied from its template: as migration 0017 sets them
        admin.execute(f'REVOKE TEMPORARY ON DATABASE "{name}" FROM PUBLIC')
        admin.execute(f'GRANT TEMPORARY ON DATABASE "{name}" TO acorn_loader')
    yield _with_db(pg_server, name)
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def warehouse_dsn(pg_server: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated warehouse database for one test."""
    yield from clone_database(pg_server, template_db)


def as_role(dsn: str, user: str, password: str | None = None) -> str:
    """The same database, logged in as another role."""
    scheme, _, rest = dsn.partition("://")
    host = rest.split("@", 1)[-1]
    return f"{scheme}://{user}" + (f":{password}" if password else "") + f"@{host}"


@pytest.fixture
def loader_dsn(warehouse_dsn: str) -> str:
    """The test warehouse as the pipeline's least-privilege login (what the DAGs connect as)."""
    from acorn.warehouse.roles import PIPELINE_LOGIN

    return as_role(warehouse_dsn, PIPELINE_LOGIN, LOADER_PASSWORD)


@pytest.fixture
def conn(warehouse_dsn: str):
    import psycopg

    with psycopg.connect(warehouse_dsn, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata DB (SQLite in the test home), created once."""
    from airflow.utils import db

    db.resetdb()


@pytest.fixture(scope="session")
def accounts():
    from acorn.channels.accounts import load_accounts
    from acorn.settings import load_settings

    return {a.id: a for a in load_accounts(load_settings().accounts_file)}


@pytest.fixture(scope="session")
def taxonomy():
    from acorn.policy.taxonomy import load_taxonomy

    return load_taxonomy()


@pytest.fixture(scope="session")
def policy():
    from acorn.policy.rules import load_policy
    from acorn.settings import load_settings

    return load_policy(load_settings().policy_file)


@pytest.fixture(scope="session")
def rates():
    from acorn.policy.fx import read_ecb_csv
    from acorn.settings import load_settings

    return read_ecb_csv(load_settings().fx_file)
