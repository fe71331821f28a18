"""Review items: what a person must look at, and the answers that resolve them.

A review item is ``open`` until a reviewer answers; the answer moves the open items of the reviewed
batches to ``approved``, ``rejected`` or ``escalated`` (a compare-and-set on ``state = 'open'``, so a second
answer cannot undo the first).
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import psycopg

from acorn.money import describe_sums
from acorn.schema import uid, uids

REVIEW_COLUMNS = {
    "review_item_id": "string",
    "kind": "string",
    "refund_uid": "string",
    "summary": "string",
    "currency": "string",
    "amount_minor": "Int64",
}
#: Reviewer options shown in the Airflow UI, and the state each one gives the open items.
ANSWERS = {"Approve": "approved", "Reject": "rejected", "Escalate": "escalated"}


def review_items(
    decisions: pd.DataFrame,
    refunds: pd.DataFrame,
    *,
    account_id: str,
    interval_start: datetime,
    interval_end: datetime,
    hold: dict | None,
) -> pd.DataFrame:
    """One item per refund line the policy sent to review, plus one for a held batch."""
    review = decisions[decisions["outcome"] == "review"][
        ["refund_uid", "policy_version", "decision_rule", "decision_reason"]
    ]
    review = review.merge(refunds[["refund_uid", "currency", "amount_minor"]], on="refund_uid", how="left")
    items = pd.DataFrame(
        {
            "review_item_id": uids("review", review["refund_uid"], review["policy_version"]),
            "kind": "refund_decision",
            "refund_uid": review["refund_uid"],
            "summary": review["decision_rule"].astype("string")
            + ": "
            + review["decision_reason"].astype("string"),
            "currency": review["currency"],
            "amount_minor": review["amount_minor"],
        }
    )
    if hold:
        held = pd.DataFrame(
            [
                {
                    "review_item_id": uid(
                        "hold",
                        account_id,
                        interval_start.isoformat(),
                        interval_end.isoformat(),
                        json.dumps(hold, sort_keys=True),
                    ),
                    "kind": "batch_hold",
                    "refund_uid": None,
                    "summary": f"batch held before loading: {hold.get('detail', '')}",
                    "currency": None,
                    "amount_minor": None,
                }
            ]
        )
        items = pd.concat([items, held], ignore_index=True)
    return items.astype(REVIEW_COLUMNS)


def open_items_summary(conn: psycopg.Connection, batch_ids: list[str]) -> dict:
    """Counts and amounts per currency of the open items of these batches: the reviewer's briefing."""
    rows = conn.execute(
        "SELECT b.account_id, i.kind, i.currency, count(*), coalesce(sum(i.amount_minor), 0) "
        "FROM core.review_items i JOIN core.batch_ledger b USING (batch_id) "
        "WHERE i.state = 'open' AND i.batch_id = ANY(%s::uuid[]) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        (batch_ids,),
    ).fetchall()
    summary: dict = {"items": 0, "by_account": {}}
    for account, kind, currency, count, amount in rows:
        acc = summary["by_account"].setdefault(account, {"items": 0, "kinds": {}, "amounts_minor": {}})
        acc["items"] += count
        acc["kinds"][kind] = acc["kinds"].get(kind, 0) + count
        if currency:
            acc["amounts_minor"][currency] = acc["amounts_minor"].get(currency, 0) + int(amount)
        summary["items"] += count
    return summary


def briefing_markdown(summary: dict) -> str:
    """The review task's body: what is waiting, per account, with the money at stake."""
    lines = [
        f"**{summary['items']} open review items**",
        "",
        "| account | items | kinds | amount |",
        "|---|---|---|---|",
    ]
    for account, acc in sorted(summary["by_account"].items()):
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(acc["kinds"].items()))
        lines.append(f"| {account} | {acc['items']} | {kinds} | {describe_sums(acc['amounts_minor'])} |")
    lines += [
        "",
        "Details: `SELECT * FROM mart.review_queue WHERE state = 'open'`.",
        "Approve releases the refund decisions; Reject marks them for contest; Escalate hands them to finance.",
    ]
    return "\n".join(lines)


def record_answer(
    conn: psycopg.Connection,
    *,
    batch_ids: list[str],
    chosen: str,
    responded_by: str,
    responded_at: datetime,
    comment: str | None,
    dag_id: str,
    run_id: str,
    task_id: str,
) -> int:
    """Write the reviewer's answer and resolve the open items of the reviewed batches, once."""
    if chosen not in ANSWERS:
        raise ValueError(f"unknown review answer {chosen!r}; expected one of {sorted(ANSWERS)}")
    answer_id = uid("answer", dag_id, run_id, task_id)
    with conn.transaction():
        if conn.execute("SELECT 1 FROM core.review_answers WHERE answer_id = %s", (answer_id,)).fetchone():
            return 0
        resolved = conn.execute(
            "UPDATE core.review_items SET state = %s, resolved_at = %s, resolved_by = %s "
            "WHERE state = 'open' AND batch_id = ANY(%s::uuid[])",
            (ANSWERS[chosen], responded_at, responded_by, batch_ids),
        ).rowcount
        conn.execute(
            "INSERT INTO core.review_answers (answer_id, dag_id, run_id, task_id, chosen_option, comment, "
            "responded_by, responded_at, items_resolved) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (answer_id, dag_id, run_id, task_id, chosen, comment, responded_by, responded_at, resolved),
        )
        conn.execute(
            "INSERT INTO core.audit_log (actor, action, details) VALUES (%s, 'review_answered', %s)",
            (
                responded_by,
                json.dumps(
                    {
                        "answer": chosen,
                        "items_resolved": resolved,
                        "run_id": run_id,
                        "comment": comment,
                        "batch_ids": batch_ids,
                    }
                ),
            ),
        )
    return resolved
