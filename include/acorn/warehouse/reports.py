"""Daily refresh and summaries, written for the people who read them."""

from __future__ import annotations

import json
from datetime import date

import psycopg

from acorn.money import describe_sums


def refresh_marts(conn: psycopg.Connection) -> None:
    """Refresh the materialized analyst views (through the owner's function: the loader owns no view)."""
    conn.execute("SELECT core.refresh_marts()")


def write_daily_summary(conn: psycopg.Connection, day: date) -> int:
    """One row per account and currency for ``day`` (UTC): refunds, input rows held back in that currency (XXX
    for rows without a readable one) and open review items; rewriting a day replaces its rows."""
    with conn.transaction():
        rows = conn.execute(
            """
            WITH refunds AS (
                SELECT account_id, currency, count(*) AS refund_lines, sum(amount_minor) AS refunded_minor
                FROM core.refund_lines
                WHERE refunded_at >= %(day)s AND refunded_at < %(day)s::date + 1
                GROUP BY 1, 2
            ), held AS (
                SELECT q.account_id,
                       CASE WHEN q.currency ~ '^[A-Z]{3}$' THEN q.currency ELSE 'XXX' END AS currency,
                       count(*) AS quarantined
                FROM core.quarantine q JOIN core.batch_ledger b USING (batch_id)
                WHERE b.interval_start >= %(day)s AND b.interval_end <= %(day)s::date + 1
                GROUP BY 1, 2
            ), open_items AS (
                SELECT x.account_id, x.currency, count(*) AS open_reviews
                FROM core.review_items i JOIN core.refund_lines x USING (refund_uid)
                WHERE i.state = 'open' AND x.refunded_at >= %(day)s AND x.refunded_at < %(day)s::date + 1
                GROUP BY 1, 2
            )
            INSERT INTO core.daily_summary (day, account_id, currency, refund_lines, refunded_minor, quarantined,
                                            open_reviews)
            SELECT %(day)s, account_id, currency, coalesce(r.refund_lines, 0), coalesce(r.refunded_minor, 0),
                   coalesce(h.quarantined, 0), coalesce(o.open_reviews, 0)
            FROM refunds r FULL JOIN held h USING (account_id, currency) FULL JOIN open_items o USING (account_id, currency)
            ON CONFLICT (day, account_id, currency) DO UPDATE SET
                refund_lines = EXCLUDED.refund_lines, refunded_minor = EXCLUDED.refunded_minor,
                quarantined = EXCLUDED.quarantined, open_reviews = EXCLUDED.open_reviews, written_at = now()
            """,
            {"day": day},
        ).rowcount
        conn.execute(
            "INSERT INTO core.audit_log (actor, action, details) VALUES ('acorn', 'daily_summary_written', %s)",
            (json.dumps({"day": day.isoformat(), "rows": rows}),),
        )
    return rows


def pipeline_summary(conn: psycopg.Connection) -> dict:
    """What the warehouse holds, per channel and outcome: the demo's closing summary."""
    q = conn.execute
    accounts = q(
        """
        SELECT o.account_id, min(o.channel),
               (SELECT count(*) FROM core.order_lines l WHERE l.account_id = o.account_id),
               (SELECT count(*) FROM core.refund_lines r WHERE r.account_id = o.account_id),
               (SELECT count(*) FROM core.refund_lines r JOIN core.batch_ledger b USING (batch_id)
                 WHERE r.account_id = o.account_id AND b.interval_end - b.interval_start > interval '1 hour'),
               (SELECT count(DISTINCT (q.entity, coalesce(q.source_key, ''), q.reason)) FROM core.quarantine q
                 WHERE q.account_id = o.account_id),
               (SELECT count(*) FROM core.batch_ledger b WHERE b.account_id = o.account_id)
        FROM core.orders o GROUP BY o.account_id ORDER BY o.account_id
        """
    ).fetchall()
    current = "(SELECT DISTINCT ON (refund_uid) * FROM core.decisions ORDER BY refund_uid, decided_at DESC) d"
    outcomes = dict(q(f"SELECT outcome, count(*) FROM {current} GROUP BY 1 ORDER BY 2 DESC").fetchall())
    liability = dict(q(f"SELECT liable_party, count(*) FROM {current} GROUP BY 1 ORDER BY 2 DESC").fetchall())
    categories = dict(
        q(f"SELECT accounting_category, count(*) FROM {current} GROUP BY 1 ORDER BY 2 DESC").fetchall()
    )
    refunded = dict(q("SELECT currency, sum(amount_minor) FROM core.refund_lines GROUP BY 1").fetchall())
    reporting = q(
        f"SELECT reporting_currency, sum(amount_reporting_minor), sum(seller_cost_reporting_minor) FROM {current} "
        "GROUP BY 1"
    ).fetchall()
    claims = q(
        "SELECT claim_type, count(*), currency, sum(amount_minor) FROM core.claims WHERE state <> 'withdrawn' "
        "GROUP BY 1, 3 ORDER BY 1, 3"
    ).fetchall()
    reviews = dict(q("SELECT state, count(*) FROM core.review_items GROUP BY 1").fetchall())
    credit_notes = q(f"SELECT count(*) FILTER (WHERE credit_note_required) FROM {current}").fetchone()[0]
    bearers = q(
        "SELECT r.currency, sum(d.borne_by_seller_minor), sum(d.borne_by_counterparty_minor), "
        f"sum(d.borne_by_customer_minor), count(*) FILTER (WHERE d.return_label_minor > 0) FROM {current} "
        "JOIN core.refund_lines r USING (refund_uid) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return {
        "accounts": [
            {
                "account_id": a,
                "channel": c,
                "order_lines": ol,
                "refund_lines_loaded": rl,
                "late": late,
                "quarantined_rows": qr,
                "batches": n,
            }
            for a, c, ol, rl, late, qr, n in accounts
        ],
        "outcomes": outcomes,
        "liability": liability,
        "categories": categories,
        "refunded_minor": {k: int(v) for k, v in refunded.items()},
        "reporting": [
            {"currency": c, "refunded_minor": int(a), "seller_cost_minor": int(s)} for c, a, s in reporting
        ],
        "claims": [{"type": t, "count": n, "currency": c, "amount_minor": int(a)} for t, n, c, a in claims],
        "review_items": reviews,
        "credit_notes_required": int(credit_notes or 0),
        "borne_by": [
            {"currency": c, "seller": int(s), "counterparty": int(m), "customer": int(b), "labels": int(n)}
            for c, s, m, b, n in bearers
        ],
    }


def format_summary(summary: dict) -> str:
    """The summary as a person reads it at the end of ``make demo``."""
    out = [
        "",
        "ACORN demo summary",
        "=" * 78,
        "",
        "Per channel account: order lines and refund lines loaded into core (of those, found late by the",
        "daily re-read), and input rows quarantined with their field and reason:",
    ]
    out.append(
        f"  {'account':<17}{'channel':<9}{'batches':>8}{'order lines':>13}{'refunds':>9}{'late':>6}"
        f"{'quarantined':>13}"
    )
    for a in summary["accounts"]:
        out.append(
            f"  {a['account_id']:<17}{a['channel']:<9}{a['batches']:>8}{a['order_lines']:>13}"
            f"{a['refund_lines_loaded']:>9}{a['late']:>6}{a['quarantined_rows']:>13}"
        )
    out += [
        "",
        "Decisions by outcome:     " + ", ".join(f"{k} {v}" for k, v in summary["outcomes"].items()),
        "Liability:                " + ", ".join(f"{k} {v}" for k, v in summary["liability"].items()),
        "Accounting category:      " + ", ".join(f"{k} {v}" for k, v in summary["categories"].items()),
        "Review items:             " + ", ".join(f"{k} {v}" for k, v in summary["review_items"].items()),
        f"Credit notes required:    {summary['credit_notes_required']} (EU VAT marketplaces)",
        "",
        "Money refunded per currency: " + describe_sums(summary["refunded_minor"]),
    ]
    for rep in summary["reporting"]:
        out.append(
            f"In the reporting currency:   {describe_sums({rep['currency']: rep['refunded_minor']})} refunded, "
            f"{describe_sums({rep['currency']: rep['seller_cost_minor']})} borne by the seller after fees"
        )
    out += ["", "Who bears it (seller after fees and labels / marketplace or carrier / buyer), per currency:"]
    for b in summary["borne_by"]:
        ccy = b["currency"]
        out.append(
            f"  {ccy}  {describe_sums({ccy: b['seller']})} / {describe_sums({ccy: b['counterparty']})} / "
            f"{describe_sums({ccy: b['customer']})}  ({b['labels']} return labels)"
        )
    out += ["", "Claims opened:"]
    by_type: dict[str, list[str]] = {}
    for c in summary["claims"]:
        by_type.setdefault(c["type"], []).append(
            f"{c['count']} for {describe_sums({c['currency']: c['amount_minor']})}"
        )
    out += [f"  {t:<22}{'; '.join(v)}" for t, v in sorted(by_type.items())] or ["  none"]
    return "\n".join(out)
