"""The warehouse's roles, probed as each: the loader writes what its tasks write and can alter nothing else;
the analyst can neither write, nor stall a load, nor create temporary tables."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from acorn.landing import batch_folder
from acorn.review.requests import open_request, record_answer
from acorn.warehouse.migrate import pending
from acorn.warehouse.roles import ensure_login
from tests.conftest import as_role
from tests.integration.warehouse.test_batch_load import run_batch

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
END = START + timedelta(hours=1)
ANALYST_PASSWORD = secrets.token_hex(12)


@pytest.fixture
def loader(loader_dsn):
    with psycopg.connect(loader_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def analyst(conn, warehouse_dsn):
    ensure_login(conn, "acorn_test_analyst", "analyst", ANALYST_PASSWORD)
    with psycopg.connect(
        as_role(warehouse_dsn, "acorn_test_analyst", ANALYST_PASSWORD), autocommit=True
    ) as c:
        yield c


@pytest.fixture
def loaded(loader, fx, accounts, taxonomy, policy, tmp_path):
    """One batch loaded and its review items answered, all as the loader."""
    account = accounts["amazon-jp"]
    _, report = run_batch(loader, account, batch_folder(tmp_path, account.id, START, END), taxonomy, policy)
    request = open_request(loader, dag_id="d", run_id="r", batch_ids=[report.batch_id], missing_accounts=[])
    record_answer(
        loader, request_id=request.request_id, chosen="Approve", responded_by="alice", responded_at=END,
        comment=None, dag_id="d", run_id="r", task_id="review_batch",
    )  # fmt: skip
    return report


REFUSED_TO_THE_LOADER = [
    "SET session_replication_role = replica",
    "ALTER TABLE core.audit_log DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_log_append_only ON core.audit_log",
    "DELETE FROM core.audit_log",
    "UPDATE core.audit_log SET actor = 'someone else'",
    "TRUNCATE core.audit_log",
    "INSERT INTO core.review_answers SELECT * FROM core.review_answers",  # allowed: see below
    "UPDATE core.review_answers SET chosen_option = 'Approve'",
    "DELETE FROM core.review_answers",
    "DELETE FROM core.decisions",
    "DELETE FROM core.claims",
    "UPDATE core.claims SET claim_type = 'other'",
    "UPDATE core.quarantine SET reason = ''",
    "DELETE FROM core.quarantine",
    "UPDATE core.batch_ledger SET status = 'loaded'",
    "UPDATE core.review_items SET kind = 'anomaly'",
    "ALTER TABLE core.decisions ADD COLUMN x int",
    "DROP VIEW mart.refunds",
    "REFRESH MATERIALIZED VIEW mart.daily_refunds",
]


@pytest.mark.parametrize("statement", [s for s in REFUSED_TO_THE_LOADER if not s.startswith("INSERT")])
def test_the_loader_cannot_alter_the_audit_trail_or_rewrite_what_its_tasks_do_not(loaded, loader, statement):
    before = loader.execute("SELECT count(*) FROM core.audit_log").fetchone()[0]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        loader.execute(statement)
    assert loader.execute("SELECT count(*) FROM core.audit_log").fetchone()[0] == before


def test_an_answered_review_item_is_not_answered_again_even_by_the_loader(loaded, loader):
    with pytest.raises(psycopg.errors.RaiseException, match="answered item is not changed"):
        loader.execute("UPDATE core.review_items SET state = 'rejected', resolved_by = 'mallory'")
    states = loader.execute("SELECT DISTINCT state, resolved_by FROM core.review_items").fetchall()
    assert states == [("approved", "alice")]


def test_the_loader_corrects_a_review_item_only_while_nobody_answered_it(loaded, loader):
    """A re-export's correction reaches open review items and claims (the loader may update their money);
    an answered item stays as the person saw it, whoever tries."""
    with pytest.raises(
        psycopg.errors.RaiseException, match="is approved already: only an open one is corrected"
    ):
        loader.execute("UPDATE core.review_items SET summary = 'changed'")


def test_the_pipeline_works_as_the_loader_and_cannot_migrate(loaded, loader):
    assert loaded.inserted["refund_lines"] > 0
    assert pending(loader) == []
    loader.execute("SELECT core.refresh_marts()")  # the owner's function: the loader owns no view
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        loader.execute("CREATE TABLE core.anything (x int)")


def test_the_analyst_can_neither_write_nor_create_temporary_tables(loaded, analyst):
    assert analyst.execute("SELECT count(*) FROM mart.refunds").fetchone()[0] > 0
    for statement in (
        "CREATE TEMP TABLE t (x int)",
        "SELECT * FROM core.load_locks FOR UPDATE",
        "SELECT count(*) FROM core.refund_lines",
        "INSERT INTO core.audit_log (actor, action, details) VALUES ('a', 'b', '{}')",
        "LOCK TABLE public.acorn_schema_migrations",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), analyst.transaction():
            analyst.execute(statement)


def test_an_analyst_holding_advisory_locks_does_not_stall_a_load(
    analyst, loader, fx, accounts, taxonomy, policy, tmp_path
):
    account = accounts["amazon-jp"]
    key = f"{account.id}|{START.isoformat()}|{END.isoformat()}"
    analyst.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))  # the loader's old lock
    analyst.execute("SELECT pg_advisory_lock(%s)", (0x41434F524E,))  # the migrator's old lock
    loader.execute("SET statement_timeout = '20s'")
    done: list = []
    worker = threading.Thread(
        target=lambda: done.append(
            run_batch(loader, account, batch_folder(tmp_path, account.id, START, END), taxonomy, policy)
        )
    )
    worker.start()
    worker.join(60)
    assert done, "the load waited on the analyst's advisory lock"
    assert done[0][1].inserted["refund_lines"] > 0
