"""The reviewer's page against a queue of at least 10,000 open items: is it responsive?

Loads demo days into a fresh warehouse until 10,000+ review items are open, then times what the page asks
(best of 5, warm): the first page, other sorts and filters, a deep page, the filter values, a bulk answer of
500 items and the 7-day export. Beside them, in the same run, the floors: counting the open items, and
reading every open item with its facts in one query (what a page without server-side paging would cost).

    make bench-review            # results in bench/results/review-<time>.json
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from acorn import pipeline
from acorn.channels.accounts import load_accounts
from acorn.landing import batch_folder
from acorn.policy.fx import read_ecb_csv
from acorn.policy.rules import load_policy
from acorn.policy.taxonomy import load_taxonomy
from acorn.review.answers import answer_items
from acorn.review.export import operation_log
from acorn.review.queue import QueueFilter, facets, list_items
from acorn.settings import load_settings
from acorn.warehouse import embedded
from acorn.warehouse.load import load_fx_rates
from bench.run import drop_database, fresh_database

RESULTS = Path(__file__).parent / "results"
TARGET_ITEMS = 10_000
START = datetime(2026, 11, 2, tzinfo=UTC)


def fill(conn: psycopg.Connection, landing: Path) -> int:
    """Demo days of amazon-eu, 6,000 order lines an hour, until TARGET_ITEMS review items are open."""
    settings = load_settings()
    account = {a.id: a for a in load_accounts(settings.accounts_file)}["amazon-eu"]
    taxonomy, policy = load_taxonomy(), load_policy(settings.policy_file)
    load_fx_rates(conn, read_ecb_csv(settings.fx_file), "bench")
    day, open_items = 0, 0
    while open_items < TARGET_ITEMS:
        start = START + timedelta(days=day)
        end = start + timedelta(days=1)
        folder = batch_folder(landing, account.id, start, end)
        pipeline.extract(account, start, end, folder, as_of=end, taxonomy=taxonomy, pseudonym_key=b"bench",
                         demo_options=pipeline.DemoOptions(lines_per_hour=6_000))  # fmt: skip
        pipeline.validate_stage(folder, account.id, start, end)
        pipeline.decide_stage(conn, folder, account.id, start, end, policy)
        pipeline.load_stage(conn, folder, account.id, start, end, "bench")
        open_items = conn.execute("SELECT count(*) FROM core.review_items WHERE state = 'open'").fetchone()[0]
        day += 1
        print(f"  day {day}: {open_items:,} open review items", flush=True)
    return open_items


def best_ms(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(min(times), 1)


def measure(conn: psycopg.Connection) -> dict[str, float]:
    q = QueueFilter()
    page = list_items(conn, q, reporting_currency="EUR", page_size=50)
    rule = page.items[0]["rule"]
    full_facts = (
        "SELECT i.review_item_id, r.*, d.*, l.sku, o.external_order_id FROM core.review_items i "
        "LEFT JOIN core.refund_lines r USING (refund_uid) LEFT JOIN core.order_lines l ON l.line_uid = r.line_uid "
        "LEFT JOIN core.orders o ON o.order_uid = r.order_uid LEFT JOIN LATERAL (SELECT * FROM core.decisions d "
        "WHERE d.refund_uid = i.refund_uid ORDER BY decided_at DESC LIMIT 1) d ON true WHERE i.state = 'open'"
    )
    figures = {
        "floor: count the open items": best_ms(
            lambda: conn.execute("SELECT count(*) FROM core.review_items WHERE state = 'open'").fetchone()
        ),
        "floor: every open item with its facts, unpaged": best_ms(
            lambda: conn.execute(full_facts).fetchall()
        ),
        "first view: page 1 and the filter values": best_ms(
            lambda: list_items(conn, q, reporting_currency="EUR")
        ),
        "next page, sort or filter (50, newest first)": best_ms(
            lambda: list_items(conn, q, reporting_currency="EUR", with_facets=False)
        ),
        "sorted by amount": best_ms(
            lambda: list_items(conn, q, reporting_currency="EUR", sort="amount", with_facets=False)
        ),
        "sorted by days since delivery": best_ms(
            lambda: list_items(
                conn, q, reporting_currency="EUR", sort="days_since_delivery", with_facets=False
            )
        ),
        "filtered: account + rule + amount range": best_ms(
            lambda: list_items(
                conn,
                QueueFilter(account="amazon-eu", rule=rule, min_amount=10, max_amount=500),
                reporting_currency="EUR",
                with_facets=False,
            )
        ),
        "page 100 of 50": best_ms(
            lambda: list_items(conn, q, reporting_currency="EUR", page=100, with_facets=False)
        ),
        "200 per page": best_ms(
            lambda: list_items(conn, q, reporting_currency="EUR", page_size=200, with_facets=False)
        ),
        "filter values (facets)": best_ms(lambda: facets(conn)),
        "export 7 days (all decisions)": best_ms(
            lambda: operation_log(conn, 7, datetime.now(UTC) + timedelta(minutes=1)), repeat=2
        ),
    }
    sql = "SELECT review_item_id::text FROM core.review_items WHERE state = 'open' LIMIT 500"
    ids = [r[0] for r in conn.execute(sql).fetchall()]
    t = time.perf_counter()
    answer_items(conn, ids, "approved", responded_by="bench", comment="bulk")
    figures["bulk answer of 500 items"] = round((time.perf_counter() - t) * 1000, 1)
    return figures


def main() -> int:
    settings = load_settings()
    server = (
        os.environ.get("ACORN_BENCH_DATABASE_URL")
        or embedded.ensure_running(settings.home / "pgdata").rsplit("/", 1)[0] + "/postgres"
    )
    dsn = fresh_database(server)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn, tempfile.TemporaryDirectory() as landing:
            items = fill(conn, Path(landing))
            conn.execute("ANALYZE")  # as autovacuum would have by the time a person opens the page
            decisions = conn.execute("SELECT count(*) FROM core.decisions").fetchone()[0]
            figures = measure(conn)
    finally:
        drop_database(server, dsn)
    print(f"\nreviewer's page queries, {items:,} open items, {decisions:,} decisions (best of 5, ms):")
    for name, ms in figures.items():
        print(f"  {name:<50} {ms:>9,.1f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"review-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"open_items": items, "decisions": decisions, "ms": figures}, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
