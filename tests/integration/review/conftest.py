"""Fixtures of the review tests: demo batches loaded into a fresh warehouse, with their open review items."""

from __future__ import annotations

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


@pytest.fixture
def two_accounts(conn, fx, accounts, taxonomy, policy, tmp_path):
    """amazon-jp and shopify-outdoor loaded for the same 12 hours; their load reports by account."""
    return {
        a: load_demo(conn, accounts, taxonomy, policy, tmp_path, a) for a in ("amazon-jp", "shopify-outdoor")
    }


def open_ids(conn, account_id=None) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT i.review_item_id::text FROM core.review_items i JOIN core.batch_ledger b USING (batch_id) "
            "WHERE i.state = 'open' AND (%(a)s::text IS NULL OR b.account_id = %(a)s) ORDER BY 1",
            {"a": account_id},
        ).fetchall()
    ]
