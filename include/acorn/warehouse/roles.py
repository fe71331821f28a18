"""The warehouse's login roles: the pipeline logs in as a member of ``acorn_loader``, never as the owner.

Migration 0005 creates the group roles (``acorn_loader`` writes what the tasks write, ``acorn_analyst`` reads
the marts) and 0017 narrows the loader to exactly that. This module gives a login to a group, run by the
warehouse's owner once per installation (the embedded setup and docker-compose's init job do it):

    python -m acorn.warehouse.roles OWNER_DSN acorn_pipeline loader   # password from ACORN_ROLE_PASSWORD
"""

from __future__ import annotations

import os
import sys

import psycopg
from psycopg import sql

GROUPS = {"loader": "acorn_loader", "analyst": "acorn_analyst"}
PIPELINE_LOGIN = "acorn_pipeline"


def ensure_login(conn: psycopg.Connection, name: str, group: str, password: str | None = None) -> None:
    """Create the login role ``name`` in ``group`` (loader or analyst) if missing; set its password if given."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {sorted(GROUPS)}, not {group!r}")
    role = sql.Identifier(name)
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(role))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(GROUPS[group]), role))
        if password:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(password)))


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m acorn.warehouse.roles OWNER_DSN LOGIN loader|analyst", file=sys.stderr)
        return 2
    dsn, name, group = argv
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_login(conn, name, group, os.environ.get("ACORN_ROLE_PASSWORD") or None)
    print(f"login role {name} is in {GROUPS[group]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
