"""Versioned migrations, applied in order, once each, under an advisory lock.

``migrations/NNNN_*.sql`` are applied once and never edited (a changed checksum is an error); ``views/*.sql``
are re-applied whenever their content changes. Run ``python -m acorn.warehouse.migrate DSN`` or let the
DAGs' first task do it.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

HERE = Path(__file__).parent
MIGRATIONS = HERE / "migrations"
VIEWS = HERE / "views"

BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS public.acorn_schema_migrations (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class MigrationReport:
    applied: list[str]
    views_refreshed: list[str]
    current: str


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def migrate(conn: psycopg.Connection) -> MigrationReport:
    """Bring the warehouse to the newest version; safe to run concurrently and repeatedly."""
    applied: list[str] = []
    views: list[str] = []
    try:
        with conn.transaction():
            conn.execute(BOOTSTRAP)
    except psycopg.errors.UniqueViolation:
        pass  # another migrator created it at the same moment
    with conn.transaction():
        # one migrator at a time, by a table lock no read-only role can take (an advisory key anyone can)
        conn.execute("LOCK TABLE public.acorn_schema_migrations IN SHARE ROW EXCLUSIVE MODE")
        done = dict(conn.execute("SELECT name, checksum FROM public.acorn_schema_migrations").fetchall())
        for path in sorted(MIGRATIONS.glob("*.sql")):
            sql = path.read_text(encoding="utf-8")
            if path.name in done:
                if done[path.name] != _checksum(sql):
                    raise MigrationError(
                        f"{path}: already applied with different content; add a new migration instead"
                    )
                continue
            conn.execute(sql)
            conn.execute(
                "INSERT INTO public.acorn_schema_migrations (name, checksum) VALUES (%s, %s)",
                (path.name, _checksum(sql)),
            )
            applied.append(path.name)
        for path in sorted(VIEWS.glob("*.sql")):
            sql = path.read_text(encoding="utf-8")
            key = f"views/{path.name}"
            if done.get(key) == _checksum(sql) and not applied:
                continue
            conn.execute(sql)
            conn.execute(
                "INSERT INTO public.acorn_schema_migrations (name, checksum) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()",
                (key, _checksum(sql)),
            )
            views.append(path.name)
    current = sorted(MIGRATIONS.glob("*.sql"))[-1].name
    return MigrationReport(applied=applied, views_refreshed=views, current=current)


def pending(conn: psycopg.Connection) -> list[str]:
    """Migrations and changed views not yet applied: what a role that may not migrate checks before it works."""
    done = {}
    if conn.execute("SELECT to_regclass('public.acorn_schema_migrations')").fetchone()[0]:
        done = dict(conn.execute("SELECT name, checksum FROM public.acorn_schema_migrations").fetchall())
    todo = [p.name for p in sorted(MIGRATIONS.glob("*.sql")) if p.name not in done]
    todo += [
        f"views/{p.name}"
        for p in sorted(VIEWS.glob("*.sql"))
        if done.get(f"views/{p.name}") != _checksum(p.read_text(encoding="utf-8"))
    ]
    return todo


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m acorn.warehouse.migrate POSTGRES_DSN", file=sys.stderr)
        return 2
    with psycopg.connect(argv[0]) as conn:
        report = migrate(conn)
    print(
        f"warehouse at {report.current}; applied {report.applied or 'nothing'}; views {report.views_refreshed}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
