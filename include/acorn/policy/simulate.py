"""Policy simulation: what a proposed policy would have decided over stored refunds, without deciding.

Both the policy in force and the proposed one run over the same facts (the stored refund lines of a window,
their order context, rates and refund history), so the report shows only what the rules change: outcomes,
the transitions between them, the review load, and the money (refunded, borne by the seller, recoverable
by claims) in the reporting currency. The report is stored in ``core.policy_simulations`` (an audit of who
tried what); no decision row is written.

CLI: ``python -m acorn.policy.simulate --policy proposed.yaml --from 2026-11-02 --to 2026-11-03 [--dsn DSN]``
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psycopg

from acorn.money import describe_sums
from acorn.policy.engine import build_facts, decide
from acorn.policy.rules import Policy, load_policy
from acorn.risk.flags import assess, history_since
from acorn.schema import uid
from acorn.warehouse import queries


def _summary(decisions: pd.DataFrame) -> dict:
    outcome = decisions["outcome"].astype("string")
    return {
        "outcomes": {k: int(v) for k, v in outcome.value_counts().sort_index().items()},
        "review_items": int((decisions["outcome"] == "review").sum()),
        "refunded_reporting_minor": int(decisions["amount_reporting_minor"].sum()),
        "seller_cost_reporting_minor": int(decisions["seller_cost_reporting_minor"].sum()),
        "claims": int(decisions["claim_type"].notna().sum()),
        "recoverable_minor_by_currency": {},
    }


def compare(current: pd.DataFrame, proposed: pd.DataFrame, currency: pd.Series) -> dict:
    """Outcome counts, transitions and money, current vs proposed, for the same refund lines."""
    before, after = _summary(current), _summary(proposed)
    for summary, frame in ((before, current), (after, proposed)):
        recoverable = (
            frame.assign(currency=currency.to_numpy()).groupby("currency")["recoverable_minor"].sum()
        )
        summary["recoverable_minor_by_currency"] = {k: int(v) for k, v in recoverable.items() if v}
    # decisions hold policy text as categories; two policies have different ones, so compare the text
    now, then = current["outcome"].astype("string"), proposed["outcome"].astype("string")
    moved = pd.crosstab(now, then)
    transitions = {
        f"{a}->{b}": int(moved.loc[a, b])
        for a in moved.index
        for b in moved.columns
        if a != b and moved.loc[a, b]
    }
    return {
        "current": before,
        "proposed": after,
        "changed_lines": int((now != then).sum()),
        "transitions": transitions,
        "review_load_delta": after["review_items"] - before["review_items"],
        "rules_fired_proposed": {
            k: int(v) for k, v in proposed["decision_rule"].astype("string").value_counts().items()
        },
    }


def simulate(
    conn: psycopg.Connection,
    current: Policy,
    proposed: Policy,
    start: datetime,
    end: datetime,
    *,
    requested_by: str,
) -> dict:
    """Run both policies over the refunds posted in ``[start, end)`` and store the comparison."""
    refunds = queries.refunds_posted(conn, start, end)
    lines, orders = queries.order_context(conn, refunds["line_uid"].unique().tolist())
    facts = build_facts(refunds, lines, orders)
    history = queries.refund_history(
        conn,
        refunds["line_uid"].tolist(),
        facts["buyer_ref"].dropna().unique().tolist(),
        history_since(refunds["refunded_at"], start),
    )
    rates = queries.fx_rates(conn, start.date(), end.date())
    now = decide(assess(facts, history, current.serial_returner_refunds), current, rates).decisions
    then = decide(assess(facts, history, proposed.serial_returner_refunds), proposed, rates).decisions
    report = {
        "window": [start.isoformat(), end.isoformat()],
        "refund_lines": len(facts),
        "reporting_currency": proposed.reporting_currency,
        "current_version": current.version,
        "proposed_version": proposed.version,
        "proposed_source": proposed.source,
        **compare(now, then, facts["currency"]),
    }
    simulation_id = uid(
        "simulation", proposed.checksum, start.isoformat(), end.isoformat(), datetime.now(UTC)
    )
    with conn.transaction():
        conn.execute(
            "INSERT INTO core.policy_simulations (simulation_id, requested_by, window_start, window_end, "
            "current_version, proposed_version, proposed_source, refund_lines, report) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                simulation_id,
                requested_by,
                start,
                end,
                current.version,
                proposed.version,
                proposed.source,
                len(facts),
                json.dumps(report),
            ),
        )
        conn.execute(
            "INSERT INTO core.audit_log (actor, action, details) VALUES (%s, 'policy_simulated', %s)",
            (
                requested_by,
                json.dumps(
                    {"simulation_id": simulation_id, "proposed": proposed.version, "window": report["window"]}
                ),
            ),
        )
    return {"simulation_id": simulation_id, **report}


def format_report(report: dict) -> str:
    """The comparison as a person reads it (CLI output and task log)."""
    cur, new = report["current"], report["proposed"]
    ccy = report["reporting_currency"]
    lines = [
        f"Policy simulation over {report['refund_lines']:,} refund lines, {report['window'][0]} to {report['window'][1]}",
        f"  in force {report['current_version']}  vs  proposed {report['proposed_version']} ({report['proposed_source']})",
        f"  {'':<22}{'in force':>18}{'proposed':>18}",
    ]
    for outcome in sorted(set(cur["outcomes"]) | set(new["outcomes"])):
        lines.append(
            f"  {outcome:<22}{cur['outcomes'].get(outcome, 0):>18,}{new['outcomes'].get(outcome, 0):>18,}"
        )
    for label, key in (
        ("refunded", "refunded_reporting_minor"),
        ("borne by the seller", "seller_cost_reporting_minor"),
    ):
        lines.append(f"  {label:<22}{describe_sums({ccy: cur[key]}):>18}{describe_sums({ccy: new[key]}):>18}")
    lines += [
        f"  claims opened         {cur['claims']:>18,}{new['claims']:>18,}",
        f"  recoverable           {describe_sums(cur['recoverable_minor_by_currency'])}  ->  "
        f"{describe_sums(new['recoverable_minor_by_currency'])}",
        f"  lines whose outcome changes: {report['changed_lines']:,} {report['transitions']}",
        f"  review load: {report['review_load_delta']:+,} items",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from acorn.settings import load_settings

    parser = argparse.ArgumentParser(description="Run a proposed refund policy over stored history.")
    parser.add_argument("--policy", required=True, type=Path, help="the proposed policy file")
    parser.add_argument("--from", dest="start", required=True, help="first day, UTC (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", required=True, help="day after the last, UTC (YYYY-MM-DD)")
    parser.add_argument("--dsn", help="warehouse DSN (default: AIRFLOW_CONN_ACORN_WAREHOUSE)")
    args = parser.parse_args(argv)
    settings = load_settings()
    dsn = args.dsn or settings.warehouse_uri
    if not dsn:
        print("no warehouse: pass --dsn or set AIRFLOW_CONN_ACORN_WAREHOUSE", file=sys.stderr)
        return 2
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    end = datetime.fromisoformat(args.end).replace(tzinfo=UTC)
    with psycopg.connect(dsn, autocommit=True) as conn:
        report = simulate(
            conn,
            load_policy(settings.policy_file),
            load_policy(args.policy),
            start,
            end,
            requested_by=f"cli:{getpass.getuser()}",
        )
    print(format_report(report))
    print(f"stored as core.policy_simulations {report['simulation_id']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
