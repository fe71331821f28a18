"""Review requests against a real Postgres: an answer resolves exactly what its request showed."""

from __future__ import annotations

import pytest

from acorn.errors import ReviewRequestStale
from acorn.review.requests import open_request, record_answer
from tests.integration.review.conftest import END, load_demo


def _load(conn, accounts, taxonomy, policy, tmp_path, account_id):
    return load_demo(conn, accounts, taxonomy, policy, tmp_path, account_id)


def _answer(conn, request_id, chosen="Approve", run_id="r1", **kw):
    return record_answer(
        conn,
        request_id=request_id,
        chosen=chosen,
        responded_by=kw.get("responded_by", "alice"),
        responded_at=END,
        comment="checked",
        dag_id="acorn_refunds_hourly",
        run_id=run_id,
        task_id="review_batch",
    )


def _request(conn, batch_ids, run_id="r1", missing=()):
    return open_request(
        conn,
        dag_id="acorn_refunds_hourly",
        run_id=run_id,
        batch_ids=batch_ids,
        missing_accounts=list(missing),
    )


def _states(conn):
    return dict(
        conn.execute(
            "SELECT b.account_id || ':' || i.state, count(*) FROM core.review_items i "
            "JOIN core.batch_ledger b USING (batch_id) GROUP BY 1"
        ).fetchall()
    )


def test_an_answer_resolves_the_items_its_request_showed_and_no_others(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    jp = _load(conn, accounts, taxonomy, policy, tmp_path, "amazon-jp")
    shown = _request(conn, [jp.batch_id], missing=["shopify-outdoor"])
    assert len(shown.item_ids) == jp.review_items
    assert "Not in this review: shopify-outdoor" in shown.briefing()
    # the failed account is fixed and its batch loads before the reviewer answers
    shop = _load(conn, accounts, taxonomy, policy, tmp_path, "shopify-outdoor")
    result = _answer(conn, shown.request_id)
    assert len(result.resolved) == jp.review_items
    assert _states(conn) == {
        "amazon-jp:approved": jp.review_items,
        "shopify-outdoor:open": shop.review_items,
    }
    answers = conn.execute("SELECT items_shown, items_resolved, request_id::text FROM core.review_answers")
    assert answers.fetchall() == [(jp.review_items, jp.review_items, shown.request_id)]


def test_a_cleared_gate_with_new_items_supersedes_its_request_and_the_old_answer_is_refused(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    jp = _load(conn, accounts, taxonomy, policy, tmp_path, "amazon-jp")
    first = _request(conn, [jp.batch_id])
    assert _request(conn, [jp.batch_id]).request_id == first.request_id  # same items: same request
    shop = _load(conn, accounts, taxonomy, policy, tmp_path, "shopify-outdoor")
    second = _request(conn, [jp.batch_id, shop.batch_id])
    assert second.request_id != first.request_id
    assert len(second.item_ids) == jp.review_items + shop.review_items
    with pytest.raises(ReviewRequestStale, match=f"replaced by {second.request_id}"):
        _answer(conn, first.request_id)
    assert conn.execute("SELECT count(*) FROM core.review_answers").fetchone()[0] == 0
    assert set(_states(conn)) == {"amazon-jp:open", "shopify-outdoor:open"}
    assert len(_answer(conn, second.request_id, "Reject").resolved) == len(second.item_ids)
    audit = conn.execute(
        "SELECT action, count(*) FROM core.audit_log WHERE action LIKE 'review%%' GROUP BY 1"
    )
    assert dict(audit.fetchall()) == {
        "review_requested": 2,
        "review_request_superseded": 1,
        "review_answered": 1,
        "review_item_answered": len(second.item_ids),  # and one answer row per item, from the review task
    }
    rows = conn.execute("SELECT source, answer, count(*) FROM core.review_item_answers GROUP BY 1, 2")
    assert rows.fetchall() == [("hitl", "rejected", len(second.item_ids))]


def test_an_item_under_review_in_one_run_is_not_offered_in_another(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    jp = _load(conn, accounts, taxonomy, policy, tmp_path, "amazon-jp")
    scheduled = _request(conn, [jp.batch_id], run_id="scheduled__2026-11-02T12")
    manual = _request(conn, [jp.batch_id], run_id="manual__2026-11-02T12:05")
    assert manual.request_id is None
    assert manual.item_ids == []
    assert manual.held_elsewhere == {"scheduled__2026-11-02T12": jp.review_items}
    assert "already under review in run `scheduled__2026-11-02T12`" in manual.briefing()
    with pytest.raises(ReviewRequestStale, match="is not one of run"):
        _answer(conn, scheduled.request_id, run_id="manual__2026-11-02T12:05")
    result = _answer(conn, scheduled.request_id, run_id="scheduled__2026-11-02T12")
    assert len(result.resolved) == jp.review_items
    again = _answer(conn, scheduled.request_id, run_id="scheduled__2026-11-02T12")
    assert again.replayed
    assert again.resolved == []
    assert conn.execute("SELECT count(*) FROM core.review_answers").fetchone()[0] == 1


def test_an_answer_that_finds_its_items_answered_already_says_so(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    jp = _load(conn, accounts, taxonomy, policy, tmp_path, "amazon-jp")
    shown = _request(conn, [jp.batch_id], run_id="r1")
    # r1 never answered in time (its review task timed out unseen): a later run may offer the items again
    conn.execute("UPDATE core.review_requests SET created_at = now() - interval '14 hours'")
    later = _request(conn, [jp.batch_id], run_id="r2")
    assert later.item_ids == shown.item_ids
    _answer(conn, later.request_id, "Reject", run_id="r2", responded_by="bob")
    result = _answer(conn, shown.request_id, run_id="r1")
    assert result.resolved == []
    assert result.already_answered == jp.review_items
    assert "0 of" in result.describe()
    assert "already answered" in result.describe()
    assert _states(conn) == {"amazon-jp:rejected": jp.review_items}


def test_an_item_is_resolved_only_by_its_own_answer_and_requests_by_their_run(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    import psycopg

    jp = _load(conn, accounts, taxonomy, policy, tmp_path, "amazon-jp")
    shown = _request(conn, [jp.batch_id])
    with pytest.raises(psycopg.errors.RaiseException, match="only be approved by its own answer"):
        conn.execute("UPDATE core.review_items SET state = 'approved', resolved_by = 'mallory'")
    forged = (
        "INSERT INTO core.review_answers (answer_id, dag_id, run_id, task_id, chosen_option, responded_by, "
        "responded_at, items_resolved, request_id) VALUES (gen_random_uuid(), 'acorn_refunds_hourly', %s, "
        "'review_batch', 'Approve', 'mallory', now(), 0, %s)"
    )
    with pytest.raises(psycopg.errors.RaiseException, match="not for a pending review request of run"):
        conn.execute(forged, ("another-run", shown.request_id))
    _answer(conn, shown.request_id)
    with pytest.raises(psycopg.errors.RaiseException, match="not for a pending review request"):
        conn.execute(forged, ("r1", shown.request_id))  # a second answer to an answered request
    assert conn.execute("SELECT count(*) FROM core.review_answers").fetchone()[0] == 1
