"""Answers per review item against a real Postgres: once each, all of a selection or none, audited."""

from __future__ import annotations

import psycopg
import pytest

from acorn.errors import InvalidInput, ItemsTaken, UnknownItems
from acorn.review.answers import answer_items
from acorn.review.requests import open_request, record_answer
from tests.integration.review.conftest import END, open_ids


def _count(conn, sql, params=()):
    return conn.execute(sql, params).fetchone()[0]


def test_one_line_and_a_selection_are_answered_each_as_its_own_row(conn, two_accounts):
    jp, shop = open_ids(conn, "amazon-jp"), open_ids(conn, "shopify-outdoor")
    assert answer_items(conn, jp[:1], "rejected", responded_by="alice", comment="photo shows use") == jp[:1]
    assert len(answer_items(conn, shop, "approved", responded_by="bob", comment="bulk")) == len(shop)
    rows = conn.execute(
        "SELECT answer, responded_by, source, count(*), min(comment) FROM core.review_item_answers "
        "GROUP BY 1, 2, 3 ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("approved", "bob", "page", len(shop), "bulk"),
        ("rejected", "alice", "page", 1, "photo shows use"),
    ]
    states = dict(conn.execute("SELECT state, count(*) FROM core.review_items GROUP BY 1").fetchall())
    assert states == {"approved": len(shop), "rejected": 1, "open": len(jp) - 1}
    audit = conn.execute(
        "SELECT actor, count(*) FROM core.audit_log WHERE action = 'review_item_answered' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert audit == [("alice", 1), ("bob", len(shop))]


def test_a_second_reviewer_finds_the_item_taken_and_writes_nothing(conn, two_accounts):
    ids = open_ids(conn, "amazon-jp")
    answer_items(conn, ids[:1], "approved", responded_by="alice")
    with pytest.raises(ItemsTaken, match="by alice") as taken:
        answer_items(conn, ids[:3], "rejected", responded_by="bob")
    assert set(taken.value.taken) == {ids[0]}
    assert taken.value.taken[ids[0]]["state"] == "approved"
    assert _count(conn, "SELECT count(*) FROM core.review_item_answers") == 1
    assert _count(conn, "SELECT count(*) FROM core.review_items WHERE state = 'open'") == len(open_ids(conn))
    assert len(open_ids(conn, "amazon-jp")) == len(ids) - 1  # ids[1:3] were not answered by bob either


def test_the_warehouse_refuses_a_second_answer_whoever_writes_it(conn, two_accounts):
    [first, *_] = open_ids(conn)
    answer_items(conn, [first], "approved", responded_by="alice")
    with pytest.raises(psycopg.errors.RaiseException, match="is not open"):
        conn.execute(
            "INSERT INTO core.review_item_answers (review_item_id, answer, responded_by, responded_at, source) "
            "VALUES (%s, 'rejected', 'mallory', now(), 'page')",
            (first,),
        )
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("UPDATE core.review_item_answers SET answer = 'rejected'")


BAD = [
    (["not-a-uuid"], "approved", "", InvalidInput, "item_ids"),
    (["00000000-0000-0000-0000-000000000000"], "approved", "", UnknownItems, "item_ids"),
    (None, "maybe", "", InvalidInput, "answer"),
    (None, "approved", "x" * 2001, InvalidInput, "comment"),
    ([], "approved", "", InvalidInput, "item_ids"),
]


def test_bad_answers_name_the_field_and_write_nothing(conn, two_accounts):
    for ids, answer, comment, error, field in BAD:
        ids = open_ids(conn)[:2] + (ids or []) if ids != [] else []
        with pytest.raises(error) as raised:
            answer_items(conn, ids, answer, responded_by="alice", comment=comment)
        assert raised.value.field == field
    assert _count(conn, "SELECT count(*) FROM core.review_item_answers") == 0
    assert _count(conn, "SELECT count(*) FROM core.audit_log WHERE action = 'review_item_answered'") == 0


def test_the_outcome_after_review_sits_beside_the_policy_decision_which_stays_as_it_was(conn, two_accounts):
    before = conn.execute("SELECT count(*) FROM core.decisions WHERE outcome = 'review'").fetchone()[0]
    ids = open_ids(conn, "amazon-jp")
    answer_items(conn, ids, "rejected", responded_by="alice")
    assert (
        conn.execute("SELECT count(*) FROM core.decisions WHERE outcome = 'review'").fetchone()[0] == before
    )
    outcomes = dict(
        conn.execute(
            "SELECT final_outcome, count(*) FROM mart.refund_outcomes WHERE policy_outcome = 'review' GROUP BY 1"
        ).fetchall()
    )
    refund_items = _count(
        conn,
        "SELECT count(*) FROM core.review_items WHERE review_item_id = ANY(%s::uuid[]) AND kind = 'refund_decision'",
        (ids,),
    )
    assert outcomes["reject"] == refund_items
    assert outcomes["review"] == before - refund_items  # the other account's items still wait
    approved = conn.execute(
        "SELECT count(*) FROM mart.refund_outcomes WHERE policy_outcome = 'approve' AND final_outcome = 'approve'"
    ).fetchone()[0]
    assert approved > 0


def test_the_review_task_answers_only_what_the_page_left_open(conn, two_accounts):
    batch_ids = [r.batch_id for r in two_accounts.values()]
    request = open_request(
        conn, dag_id="acorn_refunds_hourly", run_id="r1", batch_ids=batch_ids, missing_accounts=[]
    )
    on_page = request.item_ids[:2]
    answer_items(conn, on_page, "rejected", responded_by="alice", comment="on the page")
    result = record_answer(
        conn, request_id=request.request_id, chosen="Approve", responded_by="bob", responded_at=END,
        comment="the rest", dag_id="acorn_refunds_hourly", run_id="r1", task_id="review_batch",
    )  # fmt: skip
    assert result.already_answered == 2
    assert len(result.resolved) == len(request.item_ids) - 2
    rows = dict(
        conn.execute(
            "SELECT source || ':' || answer || ':' || responded_by, count(*) FROM core.review_item_answers GROUP BY 1"
        ).fetchall()
    )
    assert rows == {"page:rejected:alice": 2, "hitl:approved:bob": len(request.item_ids) - 2}


def test_answered_on_the_page_closes_the_request_and_resolves_nothing(conn, two_accounts):
    batch_ids = [r.batch_id for r in two_accounts.values()]
    request = open_request(
        conn, dag_id="acorn_refunds_hourly", run_id="r1", batch_ids=batch_ids, missing_accounts=[]
    )
    result = record_answer(
        conn, request_id=request.request_id, chosen="Answered on the page", responded_by="bob", responded_at=END,
        comment="", dag_id="acorn_refunds_hourly", run_id="r1", task_id="review_batch",
    )  # fmt: skip
    assert result.resolved == []
    assert "stay open on the reviewer's page" in result.describe()
    assert len(open_ids(conn)) == len(request.item_ids)
    state = conn.execute(
        "SELECT state FROM core.review_requests WHERE request_id = %s", (request.request_id,)
    )
    assert state.fetchone()[0] == "answered"
