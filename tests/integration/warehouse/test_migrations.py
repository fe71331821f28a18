import psycopg
import pytest

from acorn.warehouse import migrate as migrations
from acorn.warehouse.migrate import MigrationError, migrate


def test_migrations_apply_from_scratch_then_do_nothing(pg_server):
    name = "acorn_scratch_migrations"
    base = pg_server.rsplit("/", 1)[0]
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            first = migrate(conn)
            second = migrate(conn)
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                    "WHERE table_schema IN ('core', 'mart')"
                ).fetchall()
            }
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert first.applied == sorted(p.name for p in migrations.MIGRATIONS.glob("*.sql"))
    assert first.views_refreshed == ["0100_mart.sql", "0110_settlement.sql", "0120_recovery.sql"]
    assert (second.applied, second.views_refreshed) == ([], [])
    for table in (
        "core.orders",
        "core.order_lines",
        "core.refund_lines",
        "core.decisions",
        "core.review_items",
        "core.review_answers",
        "core.quarantine",
        "core.batch_ledger",
        "core.audit_log",
        "core.fx_rates",
        "core.claims",
        "mart.refunds",
        "mart.cost_by_liability",
        "mart.review_queue",
        "core.settlement_refunds",
        "mart.refund_settlement",
        "core.reimbursements",
        "mart.claim_recovery",
    ):
        assert table in tables


def test_an_edited_migration_is_refused(conn, monkeypatch, tmp_path):
    for path in migrations.MIGRATIONS.glob("*.sql"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "0001_schemas_and_reference.sql").write_text("-- edited after release\n")
    monkeypatch.setattr(migrations, "MIGRATIONS", tmp_path)
    with pytest.raises(
        MigrationError, match=r"0001_schemas_and_reference\.sql: already applied with different content"
    ):
        migrate(conn)


def test_analyst_reads_marts_but_not_core(conn):
    conn.execute("SET ROLE acorn_analyst")
    assert conn.execute("SELECT count(*) FROM mart.refunds").fetchone() == (0,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT count(*) FROM core.refund_lines")


def test_every_analyst_column_is_documented(conn):
    undocumented = conn.execute(
        """
        SELECT c.relname || '.' || a.attname FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'mart' AND a.attnum > 0 AND NOT a.attisdropped
          AND col_description(c.oid, a.attnum) IS NULL
        """
    ).fetchall()
    assert undocumented == []


def test_audit_log_is_append_only(conn):
    conn.execute("INSERT INTO core.audit_log (actor, action, details) VALUES ('t', 'test', '{}')")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("UPDATE core.audit_log SET actor = 'x'")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("DELETE FROM core.audit_log")


def test_no_analyst_column_is_a_float(conn):
    """Money in the mart is NUMERIC in major units: a float would round cents away in a SUM."""
    floats = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'mart' AND data_type IN ('double precision', 'real')"
    ).fetchall()
    assert floats == []


def test_round_half_even_in_sql(conn):
    got = conn.execute(
        "SELECT core.round_half_even(2.5, 0), core.round_half_even(3.5, 0), core.round_half_even(-2.5, 0), "
        "core.round_half_even(1.005, 2), core.round_half_even(1.015, 2), core.round_half_even(1.2345, 2)"
    ).fetchone()
    assert [str(v) for v in got] == ["2", "4", "-2", "1.00", "1.02", "1.23"]
