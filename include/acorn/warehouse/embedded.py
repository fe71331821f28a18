"""An embedded, real Postgres for the demo and the tests, from the binaries of the ``pgserver`` wheel.

A newcomer's machine has Python and nothing else; this starts PostgreSQL on 127.0.0.1 with its data under
ACORN_HOME, so the warehouse is a normal TCP DSN that Airflow tasks in other processes can use too. It is
never used when the user configured their own warehouse.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

DEFAULT_PORT = 54329
DATABASE = "acorn"
SUPERUSER = "postgres"


SERVER_USER = "pgserver"
#: A warehouse takes batch loads: a larger buffer cache, and checkpoints far enough apart that a million-line
#: load is not interrupted by several (Postgres' defaults are 128MB, 1GB and 5min), and compressed full-page
#: images in the WAL (random-key index inserts write many).
#: Durability is unchanged: fsync and synchronous_commit stay on.
SERVER_SETTINGS = (
    "-c shared_buffers=256MB -c max_wal_size=4GB -c checkpoint_timeout=30min -c wal_compression=pglz"
)


def _bin(name: str) -> str:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver wheel is not installed: run `make install`")
    return str(Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / name)


def _run_as() -> dict:
    """Postgres refuses to run as root; as root, run it as an unprivileged user (created if missing)."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SERVER_USER], check=True, capture_output=True
        )
        entry = pwd.getpwnam(SERVER_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def dsn(port: int = DEFAULT_PORT, database: str = DATABASE, user: str = SUPERUSER) -> str:
    """The embedded server's DSN (it trusts local connections: no password)."""
    return f"postgresql://{user}@127.0.0.1:{port}/{database}"


def _accepting(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ensure_running(data_dir: Path, port: int = DEFAULT_PORT) -> str:
    """Start (initialising if needed) the embedded server and its database; return the DSN."""
    data_dir = data_dir.resolve()
    ids = _run_as()
    if not (data_dir / "PG_VERSION").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        if ids:
            shutil.chown(data_dir, ids["user"], ids["group"])
            _open_path_for(data_dir)
        subprocess.run(
            [
                _bin("initdb"),
                "-D",
                str(data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            **ids,
        )
    if _accepting(port) and not (data_dir / "postmaster.pid").exists():
        raise RuntimeError(
            f"port {port} is taken by a server that is not ACORN's embedded Postgres in {data_dir}: "
            "set ACORN_EMBEDDED_PG_PORT to a free port, or AIRFLOW_CONN_ACORN_WAREHOUSE to use that server"
        )
    if not _accepting(port):
        log = data_dir / "server.log"
        result = subprocess.run(
            [
                _bin("pg_ctl"),
                "-D",
                str(data_dir),
                "-l",
                str(log),
                "-w",
                "-t",
                "30",
                "-o",
                f"-h 127.0.0.1 -p {port} -k '' {SERVER_SETTINGS}",
                "start",
            ],
            capture_output=True,
            text=True,
            **ids,
        )
        if result.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else result.stderr
            raise RuntimeError(f"embedded Postgres in {data_dir} did not start on port {port}:\n{tail}")
    for _ in range(50):
        try:
            with psycopg.connect(dsn(port, "postgres"), autocommit=True) as conn:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
                    conn.execute(f'CREATE DATABASE "{DATABASE}"')
            return dsn(port)
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise RuntimeError(f"embedded Postgres on port {port} does not accept connections")


def stop(data_dir: Path) -> None:
    if (data_dir / "postmaster.pid").exists():
        subprocess.run(
            [_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
            **_run_as(),
        )


def _open_path_for(path: Path) -> None:
    """Let the unprivileged server user traverse the folders above its data directory."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


if __name__ == "__main__":
    home = Path(os.environ.get("ACORN_HOME", Path(__file__).resolve().parents[3] / ".acorn"))
    if sys.argv[1:] == ["stop"]:
        stop(home / "pgdata")
    else:
        print(ensure_running(home / "pgdata", int(os.environ.get("ACORN_EMBEDDED_PG_PORT", DEFAULT_PORT))))
