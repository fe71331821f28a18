"""The operation log of the last N days: audit events, decisions and review answers, in one table.

What finance and support open first when refunds go wrong ("pause automatic refunds, export the last 7 days
of the operation log"): CSV for spreadsheet programs (UTF-8 with a BOM; a cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` so that no program runs it as a
formula) and Parquet for analysts. Money is text in its currency and minor units, never a float.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from acorn.errors import InvalidInput

MAX_DAYS = 366
COLUMNS = {
    "occurred_at": "string",
    "record": "string",
    "actor": "string",
    "action": "string",
    "account_id": "string",
    "batch_id": "string",
    "refund_uid": "string",
    "review_item_id": "string",
    "rule": "string",
    "currency": "string",
    "amount_minor": "Int64",
    "amount": "string",
    "comment": "string",
    "details": "string",
}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_LOG = """
SELECT to_json(l.occurred_at) #>> '{}', l.record, l.actor, l.action, l.account_id, l.batch_id, l.refund_uid,
       l.review_item_id, l.rule, l.currency, l.amount_minor,
       round(l.amount_minor::numeric / 10::numeric ^ c.exponent, c.exponent)::text, l.comment, l.details
FROM (
    SELECT a.occurred_at, 'audit_log' AS record, a.actor, a.action, b.account_id, a.batch_id::text AS batch_id,
           a.details->>'refund_uid' AS refund_uid, a.details->>'review_item_id' AS review_item_id,
           NULL AS rule, a.details->>'currency' AS currency, (a.details->>'amount_minor')::bigint AS amount_minor,
           a.details->>'comment' AS comment, a.details::text AS details
    FROM core.audit_log a LEFT JOIN core.batch_ledger b ON b.batch_id = a.batch_id
    WHERE a.occurred_at >= %(since)s AND a.occurred_at < %(until)s
    UNION ALL
    SELECT d.decided_at, 'decision', 'policy ' || d.policy_version, d.outcome, r.account_id, d.batch_id::text,
           d.refund_uid::text, NULL, d.decision_rule, r.currency, r.amount_minor, NULL,
           json_build_object('liable_party', d.liable_party, 'accounting_category', d.accounting_category,
                             'risk_flags', d.risk_flags, 'reporting_currency', d.reporting_currency,
                             'amount_reporting_minor', d.amount_reporting_minor)::text
    FROM core.decisions d JOIN core.refund_lines r USING (refund_uid)
    WHERE d.decided_at >= %(since)s AND d.decided_at < %(until)s
    UNION ALL
    SELECT x.responded_at, 'review_answer', x.responded_by, x.answer, b.account_id, i.batch_id::text,
           i.refund_uid::text, x.review_item_id::text, NULL, i.currency, i.amount_minor, x.comment,
           json_build_object('source', x.source, 'kind', i.kind, 'answer_id', x.answer_id)::text
    FROM core.review_item_answers x JOIN core.review_items i USING (review_item_id)
    JOIN core.batch_ledger b ON b.batch_id = i.batch_id
    WHERE x.responded_at >= %(since)s AND x.responded_at < %(until)s
) l
LEFT JOIN core.currency c ON c.code = l.currency
ORDER BY l.occurred_at, l.record
"""


def operation_log(conn: psycopg.Connection, days: int, until: datetime) -> pd.DataFrame:
    """Every audit event, decision and review answer of the ``days`` days before ``until``, oldest first;
    times in ISO 8601 and amounts as exact text in their currency's minor digits, made by the warehouse."""
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput("days", f"{days!r} is not a number of days between 1 and {MAX_DAYS}")
    rows = conn.execute(_LOG, {"since": until - timedelta(days=days), "until": until}).fetchall()
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype(COLUMNS)


def formula_safe(value: object) -> object:
    """A cell a spreadsheet program shows as text: ``'`` before a leading =, +, -, @, tab or CR."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a BOM, every text cell formula-safe."""
    safe = frame.astype(object).map(formula_safe)
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def to_parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out, compression="zstd")
    return out.getvalue()
