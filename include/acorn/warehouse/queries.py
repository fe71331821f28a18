"""Small reads the pipeline needs from the warehouse: rates, refund history, order context."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import psycopg
from psycopg import sql

from acorn.policy.engine import LINE_CONTEXT, ORDER_CONTEXT
from acorn.policy.fx import RATES_COLUMNS
from acorn.risk.flags import HISTORY_COLUMNS
from acorn.schema import REFUND_LINES


def _frame(cur: psycopg.Cursor, dtypes: dict[str, str]) -> pd.DataFrame:
    rows = cur.fetchall()
    frame = pd.DataFrame(rows, columns=list(dtypes))
    for col, dtype in dtypes.items():
        if dtype.startswith("datetime64") and "UTC" in dtype:
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame.astype(dtypes)


def fx_rates(conn: psycopg.Connection, since: date, until: date) -> pd.DataFrame:
    """Rates from a week before ``since`` (weekends, holidays) up to ``until``."""
    cur = conn.execute(
        "SELECT rate_date, currency, (rate_per_eur * 1000000)::bigint FROM core.fx_rates "
        "WHERE rate_date BETWEEN %s::date - 10 AND %s ORDER BY rate_date",
        (since, until),
    )
    frame = pd.DataFrame(cur.fetchall(), columns=list(RATES_COLUMNS))
    frame["rate_date"] = pd.to_datetime(frame["rate_date"])
    return frame.astype(RATES_COLUMNS)


def refund_history(
    conn: psycopg.Connection, line_uids: list[str], buyer_refs: list[str], since: datetime
) -> pd.DataFrame:
    """Earlier refunds on the same lines (any time) or by the same buyers after ``since`` (the batch's first
    refund less the serial-returner window: an older refund counts towards no flag).

    Two branches: the lines' refunds through ``refund_lines(line_uid)``, the buyers' only from the window on
    (the BRIN on ``refunded_at`` lets Postgres skip older block ranges), each joined to its order by key.
    One query with the two conditions OR-ed joined every stored refund line with every order, growing with
    the whole history; two branches grow with the refunds of the last 90 days only.
    """
    cur = conn.execute(
        "SELECT r.refund_uid::text, r.line_uid::text, o.buyer_ref, r.amount_minor, r.refunded_at "
        "FROM core.refund_lines r JOIN core.orders o ON o.order_uid = r.order_uid "
        "WHERE r.line_uid = ANY(%(lines)s::uuid[]) "
        "UNION "
        "SELECT r.refund_uid::text, r.line_uid::text, o.buyer_ref, r.amount_minor, r.refunded_at "
        "FROM core.refund_lines r JOIN core.orders o ON o.order_uid = r.order_uid "
        "WHERE r.refunded_at > %(since)s AND o.buyer_ref = ANY(%(buyers)s)",
        {"lines": line_uids, "buyers": buyer_refs, "since": since},
    )
    return _frame(cur, HISTORY_COLUMNS)


def order_context(conn: psycopg.Connection, line_uids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order lines and orders already in the warehouse for refunds whose order came in an earlier batch."""
    line_cols = [c for c in LINE_CONTEXT if c != "line_uid"]
    order_cols = [c for c in ORDER_CONTEXT if c != "order_uid"]
    cur = conn.execute(
        sql.SQL(
            "SELECT l.line_uid::text, l.order_uid::text, {}, {} FROM core.order_lines l "
            "JOIN core.orders o ON o.order_uid = l.order_uid WHERE l.line_uid = ANY(%s::uuid[])"
        ).format(
            sql.SQL(", ").join(sql.Identifier("l", c) for c in line_cols),
            sql.SQL(", ").join(sql.Identifier("o", c) for c in order_cols),
        ),
        (line_uids,),
    )
    frame = pd.DataFrame(cur.fetchall(), columns=["line_uid", "order_uid", *line_cols, *order_cols])
    frame["delivered_at"] = pd.to_datetime(frame["delivered_at"], utc=True).astype("datetime64[us, UTC]")
    return frame[[*LINE_CONTEXT, "order_uid"]], frame[list(ORDER_CONTEXT)]


def refunds_posted(conn: psycopg.Connection, start: datetime, end: datetime) -> pd.DataFrame:
    """Stored refund lines posted in ``[start, end)``, in the canonical model's dtypes."""
    cols = REFUND_LINES.columns
    cur = conn.execute(
        sql.SQL(
            "SELECT {} FROM core.refund_lines WHERE refunded_at >= %s AND refunded_at < %s ORDER BY refunded_at"
        ).format(
            sql.SQL(", ").join(
                sql.SQL("{}::text").format(sql.Identifier(c)) if c.endswith("_uid") else sql.Identifier(c)
                for c in cols
            )
        ),
        (start, end),
    )
    frame = pd.DataFrame(cur.fetchall(), columns=cols)
    for col, dtype in REFUND_LINES.dtypes.items():
        if dtype.startswith("datetime64"):
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame.astype(REFUND_LINES.dtypes)
