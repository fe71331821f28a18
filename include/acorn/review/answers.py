"""Answers per review item: approve, reject or escalate one item or a selection, once, with a comment.

An answer is a row of ``core.review_item_answers`` (the item, the answer, the comment, who, when, and where
from: the reviewer's ``page`` or the run's review task, ``hitl``) and an event in ``core.audit_log``. A
selection is answered whole or not at all: when an item of it is unknown, or was answered by someone else
in the meantime (the compare-and-set on ``state = 'open'`` lost), nothing is written and the error says
which items and who took them, so the reviewer reloads and sees.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg

from acorn.errors import InvalidInput, ItemsTaken, UnknownItems

#: The answers and the review item state each one leaves.
ANSWER_STATES = ("approved", "rejected", "escalated")
SOURCES = ("page", "hitl")
MAX_COMMENT = 2000
MAX_SELECTION = 10_000


def as_uuid(field: str, value: object, what: str = "an id") -> str:
    """``value`` as canonical UUID text, or ``InvalidInput`` naming ``field``."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidInput(field, f"{str(value)[:64]!r} is not {what}") from None


def item_ids(values: Sequence[str], field: str = "item_ids") -> list[str]:
    """The ids as canonical UUID text, or ``InvalidInput`` naming the first that is not one."""
    if not values:
        raise InvalidInput(field, "no review item was selected")
    if len(values) > MAX_SELECTION:
        raise InvalidInput(field, f"{len(values)} items selected; at most {MAX_SELECTION} at a time")
    return sorted({as_uuid(field, value, "a review item id") for value in values})


def check_answer(answer: str, comment: str | None) -> str | None:
    """The answer and the comment as they will be stored, or ``InvalidInput`` naming what is wrong."""
    if answer not in ANSWER_STATES:
        raise InvalidInput("answer", f"{str(answer)[:32]!r} is not one of {', '.join(ANSWER_STATES)}")
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise InvalidInput("comment", f"{len(comment)} characters; at most {MAX_COMMENT}")
    return comment


def answer_items(
    conn: psycopg.Connection,
    ids: Sequence[str],
    answer: str,
    *,
    responded_by: str,
    comment: str | None = None,
    source: str = "page",
    responded_at: datetime | None = None,
    answer_id: str | None = None,
) -> list[str]:
    """Answer these open items, all of them or none; returns their ids.

    ``answer_id`` is the review task's answer (``core.review_answers``) when ``source`` is ``hitl``. Runs in
    the caller's transaction when there is one, so the review task's answer and its items commit together.
    """
    ids = item_ids(ids)
    comment = check_answer(answer, comment)
    if source not in SOURCES:
        raise InvalidInput("source", f"{source!r} is not one of {', '.join(SOURCES)}")
    if not responded_by or not responded_by.strip():
        raise InvalidInput("responded_by", "an answer needs the name of the person who gave it")
    at = responded_at or datetime.now(UTC)
    with conn.transaction():
        rows = conn.execute(
            "SELECT review_item_id::text, state, resolved_by, resolved_at, kind, refund_uid::text, currency, "
            "amount_minor, request_id::text FROM core.review_items WHERE review_item_id = ANY(%s::uuid[]) "
            "ORDER BY 1 FOR UPDATE",
            (ids,),
        ).fetchall()
        found = {r[0]: r for r in rows}
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise UnknownItems("item_ids", f"no review item {', '.join(unknown[:5])}: nothing was written")
        taken = {
            r[0]: {"state": r[1], "by": r[2] or "acorn", "at": r[3].isoformat() if r[3] else None}
            for r in rows
            if r[1] != "open"
        }
        if taken:
            raise ItemsTaken(taken)
        conn.execute(
            "INSERT INTO core.review_item_answers (review_item_id, answer, comment, responded_by, "
            "responded_at, source, answer_id) "
            "SELECT unnest(%s::uuid[]), %s, %s, %s, %s, %s, %s",
            (ids, answer, comment, responded_by, at, source, answer_id),
        )
        conn.execute(
            "UPDATE core.review_items SET state = %s, resolved_at = %s, resolved_by = %s "
            "WHERE review_item_id = ANY(%s::uuid[])",
            (answer, at, responded_by, ids),
        )
        events = [
            json.dumps(
                {
                    "review_item_id": i,
                    "answer": answer,
                    "comment": comment,
                    "source": source,
                    "kind": found[i][4],
                    "refund_uid": found[i][5],
                    "currency": found[i][6],
                    "amount_minor": found[i][7],
                    "request_id": found[i][8],
                    "answer_id": answer_id,
                }
            )
            for i in ids
        ]
        conn.execute(
            "INSERT INTO core.audit_log (occurred_at, actor, action, details) "
            "SELECT %s, %s, 'review_item_answered', unnest(%s::jsonb[])",
            (at, responded_by, events),
        )
    return ids


def requests_answered_through(conn: psycopg.Connection, ids: Sequence[str]) -> list[tuple[str, str, str]]:
    """The pending review requests holding any of these items whose items are now all answered: (request
    id, dag id, run id) of each, so that their review tasks can go on without a second click."""
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT q.request_id::text, q.dag_id, q.run_id FROM core.review_requests q "
            "WHERE q.state = 'pending' AND q.item_ids && %s::uuid[] AND NOT EXISTS ("
            "  SELECT 1 FROM core.review_items i WHERE i.review_item_id = ANY(q.item_ids) AND i.state = 'open')",
            (list(ids),),
        ).fetchall()
    ]
