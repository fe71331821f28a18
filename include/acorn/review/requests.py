"""Review items: what a person must look at, and the answers that resolve them.

A review item is ``open`` until a reviewer answers. A run's review gate claims the open items of its batches
in one *review request* (``open_request``); the review task shows that request, and its answer resolves
exactly the request's items that are still open (``record_answer``: a compare-and-set on ``state = 'open'``,
so a second answer cannot undo the first), moving them to ``approved``, ``rejected`` or ``escalated``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import psycopg

from acorn.errors import ReviewRequestStale
from acorn.money import describe_sums
from acorn.review.answers import answer_items
from acorn.schema import uid, uids
from acorn.tables import REVIEW_ITEMS

#: Reviewer options shown in the Airflow UI, and the state each one gives the open items.
ANSWERS = {"Approve": "approved", "Reject": "rejected", "Escalate": "escalated"}
#: The review task's option that answers nothing: the items were (or will be) answered one by one on the
#: reviewer's page. ACORN gives it itself when the page answers a request's last open item.
ON_THE_PAGE = "Answered on the page"
OPTIONS = [*ANSWERS, ON_THE_PAGE]


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
    return items.astype(REVIEW_ITEMS.dtypes)


@dataclass(frozen=True)
class ReviewRequest:
    """What one review task shows a person: these items, and the accounts whose batches are missing."""

    request_id: str | None
    item_ids: list[str]
    summary: dict
    missing_accounts: list[str]
    held_elsewhere: dict[str, int]  # run id -> open items of these batches under review in that run

    def briefing(self, page_link: str | None = None) -> str:
        return briefing_markdown(self.summary, self.missing_accounts, self.held_elsewhere, page_link)


@dataclass(frozen=True)
class AnswerResult:
    answer_id: str
    request_id: str
    chosen: str
    shown: int
    resolved: list[str]
    already_answered: int
    replayed: bool = False

    def describe(self) -> str:
        said = f"{self.chosen!r} to request {self.request_id}: {len(self.resolved)} of {self.shown} items resolved"
        if self.already_answered:
            said += f"; {self.already_answered} were already answered elsewhere and were left as they were"
        left = self.shown - self.already_answered - len(self.resolved)
        if left and not self.replayed:
            said += f"; {left} stay open on the reviewer's page"
        if self.replayed:
            said += " (recorded before; nothing written again)"
        return said


#: A pending request older than this (the review task's own timeout, and an hour more) belongs to a run that
#: will never answer it; its items may be offered again.
ABANDONED_AFTER = timedelta(hours=13)


def open_request(
    conn: psycopg.Connection,
    *,
    dag_id: str,
    run_id: str,
    batch_ids: list[str],
    missing_accounts: list[str],
) -> ReviewRequest:
    """Claim the open items of these batches for one request of this run, and describe them.

    Items already in another run's pending request are not offered again (they are counted in
    ``held_elsewhere``). A rerun of the same run's gate keeps its request when the items are the same, and
    supersedes it (audited) when they changed, so an answer to the old request cannot resolve new items.
    """
    with conn.transaction():
        rows = conn.execute(
            "SELECT i.review_item_id::text, r.request_id::text, r.run_id, r.dag_id, r.state, r.created_at "
            "FROM core.review_items i LEFT JOIN core.review_requests r USING (request_id) "
            "WHERE i.state = 'open' AND i.batch_id = ANY(%s::uuid[]) ORDER BY 1 FOR UPDATE OF i",
            (batch_ids,),
        ).fetchall()
        now = conn.execute("SELECT now()").fetchone()[0]
        offered, held_elsewhere = [], {}
        for item_id, req_id, req_run, req_dag, req_state, req_created in rows:
            taken = (
                req_id is not None
                and req_state == "pending"
                and (req_dag, req_run) != (dag_id, run_id)
                and now - req_created < ABANDONED_AFTER
            )
            if taken:
                held_elsewhere[req_run] = held_elsewhere.get(req_run, 0) + 1
            else:
                offered.append(item_id)
        mine = conn.execute(
            "SELECT request_id::text, item_ids::text[] FROM core.review_requests "
            "WHERE dag_id = %s AND run_id = %s AND state = 'pending'",
            (dag_id, run_id),
        ).fetchall()
        earlier = conn.execute(
            "SELECT count(*) FROM core.review_requests WHERE dag_id = %s AND run_id = %s", (dag_id, run_id)
        ).fetchone()[0]
        same = [old_id for old_id, old_items in mine if sorted(old_items) == offered]
        if same:
            request_id = same[0]
        else:  # a closed request is never reopened: a new one gets the next number of the run
            request_id = uid("review-request", dag_id, run_id, str(earlier), *offered) if offered else None
        for old_id, old_items in mine:
            if old_id == request_id:
                continue
            conn.execute(
                "UPDATE core.review_requests SET state = 'superseded', closed_at = now() WHERE request_id = %s",
                (old_id,),
            )
            _audit(conn, "acorn", "review_request_superseded", {
                "request_id": old_id, "superseded_by": request_id, "run_id": run_id,
                "items_before": len(old_items), "items_now": len(offered),
            })  # fmt: skip
        if request_id and request_id not in {old_id for old_id, _ in mine}:
            conn.execute(
                "INSERT INTO core.review_requests (request_id, dag_id, run_id, item_ids, missing_accounts) "
                "VALUES (%s, %s, %s, %s::uuid[], %s)",
                (request_id, dag_id, run_id, offered, missing_accounts),
            )
            conn.execute(
                "UPDATE core.review_items SET request_id = %s WHERE review_item_id = ANY(%s::uuid[])",
                (request_id, offered),
            )
            _audit(conn, "acorn", "review_requested", {
                "request_id": request_id, "run_id": run_id, "dag_id": dag_id, "items": len(offered),
                "item_ids": offered, "missing_accounts": missing_accounts, "held_elsewhere": held_elsewhere,
            })  # fmt: skip
    return ReviewRequest(
        request_id=request_id,
        item_ids=offered,
        summary=items_summary(conn, offered),
        missing_accounts=missing_accounts,
        held_elsewhere=held_elsewhere,
    )


def items_summary(conn: psycopg.Connection, item_ids: list[str]) -> dict:
    """Counts and amounts per currency of these items, per account: the reviewer's briefing."""
    rows = conn.execute(
        "SELECT b.account_id, i.kind, i.currency, count(*), coalesce(sum(i.amount_minor), 0) "
        "FROM core.review_items i JOIN core.batch_ledger b USING (batch_id) "
        "WHERE i.review_item_id = ANY(%s::uuid[]) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        (item_ids,),
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


def briefing_markdown(
    summary: dict,
    missing_accounts: list[str] = (),
    held_elsewhere: dict[str, int] | None = None,
    page_link: str | None = None,
) -> str:
    """The review task's body: what is waiting, per account, with the money at stake, and what is not here;
    ``page_link`` opens the reviewer's page on exactly these items."""
    lines = [f"**{summary['items']} open review items**", ""]
    if page_link:
        lines += [f"**[Decide them line by line on the reviewer's page]({page_link})**", ""]
    lines += [
        "| account | items | kinds | amount |",
        "|---|---|---|---|",
    ]
    for account, acc in sorted(summary["by_account"].items()):
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(acc["kinds"].items()))
        lines.append(f"| {account} | {acc['items']} | {kinds} | {describe_sums(acc['amounts_minor'])} |")
    if missing_accounts:
        lines += [
            "",
            f"**Not in this review: {', '.join(missing_accounts)}**: their batches failed before loading, so "
            "their refunds are missing here. On-call clears the failed task; its items come to review then.",
        ]
    for run, count in sorted((held_elsewhere or {}).items()):
        lines += ["", f"{count} more open items of these batches are already under review in run `{run}`."]
    lines += [
        "",
        "Your answer applies to exactly the items counted above, and only to those still open.",
        "Approve releases the refund decisions; Reject marks them for contest; Escalate hands them to finance.",
        "To decide line by line, open the reviewer's page (link above); once every item there is answered, "
        f"this task goes on by itself. **{ON_THE_PAGE}** leaves the open items to the page and lets the run "
        "go on.",
    ]
    return "\n".join(lines)


def record_answer(
    conn: psycopg.Connection,
    *,
    request_id: str,
    chosen: str,
    responded_by: str,
    responded_at: datetime,
    comment: str | None,
    dag_id: str,
    run_id: str,
    task_id: str,
) -> AnswerResult:
    """Resolve the still-open items of the request that was answered, once; say what was left alone.

    The request must be this run's. An answer to a request that a later one of the run superseded is
    refused (``ReviewRequestStale``), with nothing written: the person did not see the items now open.
    """
    if chosen not in OPTIONS:
        raise ValueError(f"unknown review answer {chosen!r}; expected one of {OPTIONS}")
    answer_id = uid("answer", dag_id, run_id, task_id, request_id)
    with conn.transaction():
        request = conn.execute(
            "SELECT dag_id, run_id, state, item_ids::text[] FROM core.review_requests WHERE request_id = %s "
            "FOR UPDATE",
            (request_id,),
        ).fetchone()
        if request is None or (request[0], request[1]) != (dag_id, run_id):
            raise ReviewRequestStale(
                f"review request {request_id!r} is not one of run {run_id} of {dag_id}: nothing was recorded"
            )
        _, _, state, item_ids = request
        done = conn.execute(
            "SELECT items_resolved, items_already_answered FROM core.review_answers WHERE answer_id = %s",
            (answer_id,),
        ).fetchone()
        if done:
            return AnswerResult(answer_id, request_id, chosen, len(item_ids), [], done[1] or 0, replayed=True)
        if state == "superseded":
            newer = conn.execute(
                "SELECT request_id, cardinality(item_ids) FROM core.review_requests "
                "WHERE dag_id = %s AND run_id = %s AND state = 'pending'",
                (dag_id, run_id),
            ).fetchone()
            raise ReviewRequestStale(
                f"the answer {chosen!r} was given to review request {request_id} ({len(item_ids)} items), "
                f"which was replaced by {newer[0] if newer else 'a newer request'} "
                f"({newer[1] if newer else '?'} items) when the review path was cleared: the reviewer did not "
                f"see those items. Nothing was recorded; clear {task_id} to ask again"
            )
        if state == "answered":  # by another answer: this one changes nothing, and says so
            _audit(conn, responded_by, "review_answer_ignored", {
                "answer": chosen, "request_id": request_id, "run_id": run_id,
                "reason": "the request was answered already",
            })  # fmt: skip
            return AnswerResult(answer_id, request_id, chosen, len(item_ids), [], len(item_ids))
        still_open = [
            r[0]
            for r in conn.execute(
                "SELECT review_item_id::text FROM core.review_items WHERE request_id = %s AND state = 'open' "
                "ORDER BY 1 FOR UPDATE",
                (request_id,),
            ).fetchall()
        ]
        already = len(item_ids) - len(still_open)
        # the answer first: the warehouse resolves an item only by an answer to the request that showed it
        conn.execute(
            "INSERT INTO core.review_answers (answer_id, dag_id, run_id, task_id, chosen_option, comment, "
            "responded_by, responded_at, items_resolved, request_id, items_shown, items_already_answered) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (answer_id, dag_id, run_id, task_id, chosen, comment, responded_by, responded_at,
             len(still_open) if chosen in ANSWERS else 0, request_id, len(item_ids), already),
        )  # fmt: skip
        resolved = []
        if still_open and chosen in ANSWERS:
            resolved = answer_items(
                conn,
                still_open,
                ANSWERS[chosen],
                responded_by=responded_by,
                comment=comment,
                source="hitl",
                responded_at=responded_at,
                answer_id=answer_id,
            )
        conn.execute(
            "UPDATE core.review_requests SET state = 'answered', closed_at = now() WHERE request_id = %s",
            (request_id,),
        )
        _audit(conn, responded_by, "review_answered", {
            "answer": chosen, "request_id": request_id, "run_id": run_id, "comment": comment,
            "items_shown": len(item_ids), "items_resolved": resolved, "items_already_answered": already,
            "items_left_open": len(still_open) - len(resolved),
        })  # fmt: skip
    return AnswerResult(answer_id, request_id, chosen, len(item_ids), resolved, already)


def _audit(conn: psycopg.Connection, actor: str, action: str, details: dict) -> None:
    conn.execute(
        "INSERT INTO core.audit_log (actor, action, details) VALUES (%s, %s, %s)",
        (actor, action, json.dumps(details)),
    )
