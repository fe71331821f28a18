"""Fixtures of the review tests: demo batches loaded into a fresh warehouse, with their open review items."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from acorn.landing import batch_folder
from tests.integration.warehouse.test_batch_load import run_batch

START = datetime(2026, 11, 2, tzinfo=UTC)
END = START + timedelta(hours=12)


def load_demo(conn, accounts, taxonomy, policy, tmp_path, account_id, start=START, end=END):
    """One demo batch of ``account_id`` for [start, end), loaded; its load report."""
    account = accounts[account_id]
    folder = batch_folder(tmp_path, account.id, start, end)
    _, loaded = run_batch(conn, account, folder, taxonomy, policy, start=start, end=end)
    assert loaded.review_items > 0
    return loaded


@pytest.fixture(scope="session")
def loaded_template(pg_server, template_db, accounts, taxonomy, policy, tmp_path_factory):
    """A database with amazon-jp and shopify-outdoor loaded for the same 12 hours, loaded once per session
    (their landing folders in a session folder); the tests that ask for ``two_accounts`` get copies of it."""
    import psycopg

    from acorn.policy.fx import read_ecb_csv
    from acorn.settings import load_settings
    from acorn.warehouse.load import load_fx_rates
    from tests.conftest import _with_db

    name = f"acorn_tpl_review_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    landing = tmp_path_factory.mktemp("review-landing")
    with psycopg.connect(_with_db(pg_server, name), autocommit=True) as conn:
        load_fx_rates(conn, read_ecb_csv(load_settings().fx_file), "test")
        reports = {
            a: load_demo(conn, accounts, taxonomy, policy, landing, a)
            for a in ("amazon-jp", "shopify-outdoor")
        }
    yield name, reports
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def warehouse_dsn(request, pg_server, template_db):
    """The test's warehouse: a copy of the loaded one for tests that ask for ``two_accounts``, else empty."""
    from tests.conftest import clone_database

    loaded = "two_accounts" in request.fixturenames
    yield from clone_database(
        pg_server, request.getfixturevalue("loaded_template")[0] if loaded else template_db
    )


@pytest.fixture
def two_accounts(loaded_template, warehouse_dsn):
    """amazon-jp and shopify-outdoor loaded for the same 12 hours (with the demo's rates); their load
    reports by account."""
    return loaded_template[1]


def open_ids(conn, account_id=None) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT i.review_item_id::text FROM core.review_items i JOIN core.batch_ledger b USING (batch_id) "
            "WHERE i.state = 'open' AND (%(a)s::text IS NULL OR b.account_id = %(a)s) ORDER BY 1",
            {"a": account_id},
        ).fetchall()
    ]
