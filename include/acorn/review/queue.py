"""The review queue as the reviewer's page shows it: per item the facts a person decides on, filtered,
sorted and paged in the warehouse.

A page is read in two steps: the filtered and sorted ids of one page (and the selection's count and money)
over the items, their batch, refund line and latest decision only; then the facts of those ids, with the
claim and the buyer's refunds of the last 90 days, which would cost a scan per item if they were joined
before the limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg

from acorn.errors import InvalidInput
from acorn.money import format_money, to_minor
from acorn.review.answers import as_uuid
from acorn.risk.flags import SERIAL_WINDOW

#: Sort keys of the page and the column each one orders by.
SORTS = {
    "created_at": "i.created_at",
    "amount": "d.amount_reporting_minor",
    "account": "b.account_id",
    "rule": "d.decision_rule",
    "reason": "r.reason",
    "kind": "i.kind",
    "days_since_delivery": "(r.refunded_at::date - l.delivered_at::date)",
}
STATES = {"open": ("open",), "answered": ("approved", "rejected", "escalated"), "all": ()}
MAX_PAGE_SIZE = 500

_FROM = """
FROM core.review_items i
JOIN core.batch_ledger b ON b.batch_id = i.batch_id
LEFT JOIN core.refund_lines r ON r.refund_uid = i.refund_uid
LEFT JOIN core.order_lines l ON l.line_uid = r.line_uid
LEFT JOIN LATERAL (
    SELECT d.* FROM core.decisions d WHERE d.refund_uid = i.refund_uid ORDER BY d.decided_at DESC LIMIT 1
) d ON i.refund_uid IS NOT NULL
LEFT JOIN core.review_requests q ON q.request_id = i.request_id
"""


@dataclass(frozen=True)
class QueueFilter:
    """What the reviewer narrowed the queue to; every field optional. Amounts are in the reporting
    currency, in major units ("12.50"); ages in days since the item was raised."""

    state: str = "open"
    account: str | None = None
    channel: str | None = None
    kind: str | None = None
    rule: str | None = None
    reason: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_age_days: int | None = None
    max_age_days: int | None = None
    request_id: str | None = None
    run_id: str | None = None

    def where(self, reporting_currency: str) -> tuple[str, dict]:
        if self.state not in STATES:
            raise InvalidInput("state", f"{self.state!r} is not one of {', '.join(STATES)}")
        clauses, params = ["i.state <> 'withdrawn'"], {}
        if STATES[self.state]:
            clauses.append("i.state = ANY(%(states)s)")
            params["states"] = list(STATES[self.state])
        for name, column in (
            ("account", "b.account_id"),
            ("channel", "r.channel"),
            ("kind", "i.kind"),
            ("rule", "d.decision_rule"),
            ("reason", "r.reason"),
            ("run_id", "q.run_id"),
        ):
            if getattr(self, name):
                clauses.append(f"{column} = %({name})s")
                params[name] = getattr(self, name)
        if self.request_id:
            clauses.append("i.request_id = %(request_id)s::uuid")
            params["request_id"] = as_uuid("request_id", self.request_id, "a review request id")
        for name, op in (("min_amount", ">="), ("max_amount", "<=")):
            value = getattr(self, name)
            if value is not None:
                if value < 0:
                    raise InvalidInput(name, f"{value} is negative")
                clauses.append(f"d.amount_reporting_minor {op} %({name})s")
                params[name] = to_minor(value, reporting_currency)
        for name, op in (("min_age_days", "<="), ("max_age_days", ">=")):
            value = getattr(self, name)
            if value is not None:
                if value < 0:
                    raise InvalidInput(name, f"{value} is negative")
                clauses.append(f"i.created_at {op} now() - %({name})s")
                params[name] = timedelta(days=value)
        return " AND ".join(clauses), params


@dataclass
class QueuePage:
    items: list[dict]
    total: int
    page: int
    page_size: int
    amount_reporting: str
    filters: dict
    sort: str
    descending: bool
    facets: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def to_json(self) -> dict:
        return {**asdict(self), "pages": self.pages}


def list_items(
    conn: psycopg.Connection,
    filters: QueueFilter,
    *,
    reporting_currency: str,
    sort: str = "created_at",
    descending: bool = True,
    page: int = 1,
    page_size: int = 50,
    with_facets: bool = True,
) -> QueuePage:
    """One page of the queue, the selection's size and money, and (``with_facets``) the values each filter
    can take, which the page asks for once, not on every sort or page."""
    if sort not in SORTS:
        raise InvalidInput("sort", f"{sort!r} is not one of {', '.join(SORTS)}")
    if page < 1:
        raise InvalidInput("page", f"{page} is not a page number (1, 2, ...)")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("page_size", f"{page_size} is not between 1 and {MAX_PAGE_SIZE}")
    where, params = filters.where(reporting_currency)
    direction = "DESC" if descending else "ASC"
    # one pass: the page's ids, and the selection's size and money beside each (a window over the filter)
    rows = conn.execute(
        f"SELECT i.review_item_id::text, count(*) OVER (), sum(d.amount_reporting_minor) OVER () {_FROM} "
        f"WHERE {where} ORDER BY {SORTS[sort]} {direction} NULLS LAST, i.review_item_id "
        "LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": page_size, "offset": (page - 1) * page_size},
    ).fetchall()
    if rows:
        total, money = rows[0][1], rows[0][2] or 0
    else:  # past the last page, or nothing matches: the size still counts
        total, money = conn.execute(
            f"SELECT count(*), coalesce(sum(d.amount_reporting_minor), 0) {_FROM} WHERE {where}", params
        ).fetchone()
    return QueuePage(
        items=item_facts(conn, [r[0] for r in rows]),
        total=total,
        page=page,
        page_size=page_size,
        amount_reporting=format_money(int(money), reporting_currency),
        filters={k: str(v) for k, v in asdict(filters).items() if v is not None},
        sort=sort,
        descending=descending,
        facets=facets(conn, filters.state) if with_facets else {},
    )


_FACTS = """
SELECT i.review_item_id::text, i.kind, i.state, i.summary, i.created_at, i.resolved_by, i.resolved_at,
       i.request_id::text, q.run_id, b.account_id, b.batch_id::text, b.interval_start, b.interval_end,
       r.channel, r.marketplace, o.external_order_id, r.external_refund_id, l.sku, l.category,
       i.currency, i.amount_minor, d.reporting_currency, d.amount_reporting_minor, r.raw_reason, r.reason,
       r.disposition, r.refunded_at::date - l.delivered_at::date, d.outcome, d.decision_rule, pr.reason,
       d.liable_party, d.risk_flags, o.buyer_ref, r.refunded_at, i.refund_uid::text, d.policy_version,
       a.comment, a.source
FROM core.review_items i
JOIN core.batch_ledger b ON b.batch_id = i.batch_id
LEFT JOIN core.refund_lines r ON r.refund_uid = i.refund_uid
LEFT JOIN core.order_lines l ON l.line_uid = r.line_uid
LEFT JOIN core.orders o ON o.order_uid = r.order_uid
LEFT JOIN LATERAL (
    SELECT d.* FROM core.decisions d WHERE d.refund_uid = i.refund_uid ORDER BY d.decided_at DESC LIMIT 1
) d ON i.refund_uid IS NOT NULL
LEFT JOIN core.policy_rules pr
       ON (pr.policy_version, pr.kind, pr.rule_id) = (d.policy_version, 'decision', d.decision_rule)
LEFT JOIN core.review_requests q ON q.request_id = i.request_id
LEFT JOIN core.review_item_answers a ON a.review_item_id = i.review_item_id
WHERE i.review_item_id = ANY(%s::uuid[])
"""
_FACT_NAMES = (
    "review_item_id", "kind", "state", "summary", "created_at", "answered_by", "answered_at", "request_id",
    "run_id", "account_id", "batch_id", "interval_start", "interval_end", "channel", "marketplace", "order_id",
    "refund_id", "sku", "category", "currency", "amount_minor", "reporting_currency", "amount_reporting_minor",
    "channel_reason", "reason", "disposition", "days_since_delivery", "policy_outcome", "rule", "rule_reason",
    "liable_party", "risk_flags", "buyer_ref", "refunded_at", "refund_uid", "policy_version", "answer_comment",
    "answered_from",
)  # fmt: skip


def item_facts(conn: psycopg.Connection, ids: list[str]) -> list[dict]:
    """The facts of these items, in the order of ``ids``: money as text in its currency (never a float),
    the buyer's refunds in the 90 days up to this one, and the refund's latest claim."""
    if not ids:
        return []
    rows = {r[0]: dict(zip(_FACT_NAMES, r, strict=True)) for r in conn.execute(_FACTS, (ids,)).fetchall()}
    refunds = [r["refund_uid"] for r in rows.values() if r["refund_uid"]]
    claims = {
        c[0]: {"claim_id": c[1], "claim_type": c[2], "counterparty": c[3], "state": c[4],
               "amount": format_money(c[6], c[5]), "deadline": c[7].isoformat()}
        for c in conn.execute(
            "SELECT DISTINCT ON (refund_uid) refund_uid::text, claim_id::text, claim_type, counterparty, state, "
            "currency, amount_minor, deadline FROM core.claims WHERE refund_uid = ANY(%s::uuid[]) "
            "ORDER BY refund_uid, created_at DESC",
            (refunds,),
        ).fetchall()
    }  # fmt: skip
    buyers = _buyer_refunds_90d([r for r in rows.values() if r["buyer_ref"]], conn)
    out = []
    for item_id in ids:
        row = rows[item_id]
        money_minor, money_reporting = row.pop("amount_minor"), row.pop("amount_reporting_minor")
        row["amount"] = format_money(money_minor, row["currency"]) if row["currency"] else None
        row["amount_reporting"] = (
            format_money(money_reporting, row["reporting_currency"]) if row["reporting_currency"] else None
        )
        row["claim"] = claims.get(row["refund_uid"])
        row["buyer_refunds_90d"] = buyers.get(item_id)
        row["risk_flags"] = [f for f in (row["risk_flags"] or "").split(",") if f]
        row["raw_payloads"] = f"batches/{row['batch_id']}/raw_payloads"
        for key in ("created_at", "answered_at", "interval_start", "interval_end", "refunded_at"):
            row[key] = row[key].isoformat() if row[key] else None
        out.append(row)
    return out


def _buyer_refunds_90d(rows: list[dict], conn: psycopg.Connection) -> dict[str, int]:
    """Per item, the refunds of its (pseudonymized) buyer in the 90 days up to and including its refund."""
    if not rows:
        return {}
    since = min(r["refunded_at"] for r in rows) - SERIAL_WINDOW
    history: dict[str, list[datetime]] = {}
    for buyer, at in conn.execute(
        "SELECT o.buyer_ref, r.refunded_at FROM core.refund_lines r JOIN core.orders o USING (order_uid) "
        "WHERE r.refunded_at > %s AND o.buyer_ref = ANY(%s)",
        (since, sorted({r["buyer_ref"] for r in rows})),
    ).fetchall():
        history.setdefault(buyer, []).append(at)
    return {
        r["review_item_id"]: sum(
            r["refunded_at"] - SERIAL_WINDOW < at <= r["refunded_at"]
            for at in history.get(r["buyer_ref"], [])
        )
        for r in rows
    }


def facets(conn: psycopg.Connection, state: str = "open") -> dict[str, list[str]]:
    """The values each filter can take among the items in ``state``, for the page's drop-downs."""
    states = list(STATES.get(state) or ("open", "approved", "rejected", "escalated"))
    row = conn.execute(
        "SELECT array_agg(DISTINCT b.account_id), array_agg(DISTINCT r.channel), array_agg(DISTINCT i.kind), "
        "array_agg(DISTINCT d.decision_rule), array_agg(DISTINCT r.reason) "
        f"{_FROM} WHERE i.state = ANY(%s)",
        (states,),
    ).fetchone()
    names = ("account", "channel", "kind", "rule", "reason")
    return {
        n: sorted(v for v in (values or []) if v is not None) for n, values in zip(names, row, strict=True)
    }
