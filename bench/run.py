"""``make bench``: every stage and the whole pipeline, against the physical limit and the naive approach.

For each size (100k and 1M refund lines by default, 10M with ``--big``) the demo generator makes N refund
lines with their order lines and orders; then each stage is timed on those rows with its peak RSS:
normalize, validate (GX, full suite, row failures captured), decide (the join of refund lines to their order
lines and orders, then the engine with the full default policy), load (into a fresh warehouse database, one
transaction). Each stage runs in a process of its own and reads its input from a landing folder, as the
DAG's tasks do. In the same run, on the same rows:

- the physical limit of the load: psycopg 3 binary COPY of the same frames into identical tables without
  indexes or constraints (tuples built in numpy: ``write_row`` builds them a Python row at a time);
- the naive pipeline a data team writes first: the same policy applied with ``DataFrame.apply(axis=1)`` and
  the load with ``DataFrame.to_sql`` (measured on a 100k sample and extrapolated: labelled so).

The table is printed and written to ``bench/results/<UTC time>.json`` with the machine's cores and memory.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import multiprocessing
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import psycopg
import pyarrow as pa

from acorn.channels.accounts import load_accounts
from acorn.channels.demo.generator import generate
from acorn.columns import CodedColumns
from acorn.landing import read_frame, read_json, write_frame, write_json
from acorn.normalize import Canonical, normalize
from acorn.policy.engine import CODED_COLUMNS, build_facts, decide, first_match
from acorn.policy.fx import read_ecb_csv
from acorn.policy.rules import load_policy
from acorn.policy.taxonomy import load_taxonomy
from acorn.quality.validate import validate
from acorn.review.requests import review_items
from acorn.risk.flags import assess, empty_history
from acorn.schema import ENTITIES
from acorn.settings import load_settings
from acorn.tables import TABLES
from acorn.warehouse import binary_copy, embedded
from acorn.warehouse.load import Batch, load_batch, quarantine_uids
from acorn.warehouse.migrate import migrate

RESULTS = Path(__file__).parent / "results"
START = datetime(2026, 11, 2, tzinfo=UTC)
RETURN_RATE = 0.163  # refunded share of demo order lines (see acorn.channels.demo.generator)
NAIVE_SAMPLE = 100_000
TARGETS_1M = {
    "end_to_end_s": 20.0,
    "load_vs_copy": 0.60,
    "decide_lines_per_s": 1_000_000,
    "validate_s": 5.0,
    "peak_rss_gib": 2.0,
    "vs_naive": 5.0,
    "dag_parse_s": 0.3,
}


class PeakRss:
    """Samples this process's RSS every 20 ms; ``peak`` is the high-water mark of the block."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    @contextmanager
    def measure(self):
        self.peak = self.proc.memory_info().rss
        self._stop.clear()
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self.peak = max(self.peak, self.proc.memory_info().rss)


def release_freed_memory() -> None:
    """Give memory freed by earlier stages back to the OS (Python's, Arrow's pool, glibc's heap), so a stage's
    peak RSS counts what it holds, as in the DAG where each stage runs in a process of its own."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def timed(rows: list, stage: str, n: int, fn, *args, note: str = "", **kwargs):
    release_freed_memory()
    rss = PeakRss()
    with rss.measure():
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        seconds = time.perf_counter() - t0
    rows.append(
        {
            "stage": stage,
            "rows": n,
            "seconds": seconds,
            "rows_per_s": n / seconds if seconds else None,
            "peak_rss_gib": rss.peak / 2**30,
            "note": note,
        }
    )
    print(
        f"  {stage:<28} {n:>10,} rows {seconds:8.2f} s {n / seconds:>12,.0f} rows/s "
        f"peak {rss.peak / 2**30:5.2f} GiB {note}",
        flush=True,
    )
    return out


def fresh_database(server: str) -> str:
    name = f"acorn_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
    return dsn


def drop_database(server: str, dsn: str) -> None:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')


def raw_copy(conn: psycopg.Connection, frames: dict[str, pd.DataFrame]) -> int:
    """The physical limit: psycopg 3 binary COPY of the same rows into unindexed (logged) copies of the core
    tables, the tuples built as fast as this machine builds them (the loader's own encoder, one chunk each)."""
    total = 0
    with conn.transaction(), conn.cursor() as cur:
        for name, frame in frames.items():
            table = TABLES[name]
            cols = list(table.stored)
            cur.execute(
                f"CREATE TABLE raw_{name} AS SELECT {', '.join(cols)} FROM core.{table.name} WITH NO DATA"
            )
            types = [
                r[0]
                for r in cur.execute(
                    "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = %s::regclass "
                    "AND a.attnum > 0 ORDER BY a.attnum",
                    (f"raw_{name}",),
                ).fetchall()
            ]
            with cur.copy(f"COPY raw_{name} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(binary_copy.HEADER)
                copy.write(binary_copy.encode_rows(frame[cols], types))
                copy.write(binary_copy.TRAILER)
            total += len(frame)
    return total


def naive_rule_row(row: pd.Series, policy) -> str:
    """The row-at-a-time policy a first version would have: same rules, one Python call per line."""
    for rule in policy.liability_rules:
        if all(_naive_match(row, c) for c in rule.conditions):
            row["liable_party"] = rule.liable_party
            row["claimable"] = rule.claim is not None
            break
    for rule in policy.decision_rules:
        if all(_naive_match(row, c) for c in rule.conditions):
            return rule.outcome
    return "review"


def _naive_match(row: pd.Series, cond) -> bool:
    value = row.get(cond.field)
    if value is None or (not isinstance(value, (list, str)) and pd.isna(value)):
        return cond.op == "not_in"
    if cond.op == "eq":
        return value == cond.value
    if cond.op == "in":
        return value in cond.value
    if cond.op == "not_in":
        return value not in cond.value
    return {
        "gte": value >= cond.value,
        "gt": value > cond.value,
        "lte": value <= cond.value,
        "lt": value < cond.value,
    }[cond.op]


def dag_parse_seconds() -> dict[str, float]:
    """Seconds to parse each DAG file in a process that already imported Airflow (the dag-processor's case)."""
    probe = (
        "import sys, time, runpy, airflow.sdk, airflow.providers.standard.operators.hitl\n"
        "t = time.perf_counter(); runpy.run_path(sys.argv[1]); print(time.perf_counter() - t)"
    )
    out = {}
    for path in sorted((Path(__file__).parents[1] / "dags").glob("*.py")):
        runs = [
            float(
                subprocess.run(
                    [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            for _ in range(3)
        ]
        out[path.stem] = min(runs)
    return out


def bench_size(n_refunds: int, server: str) -> dict:
    """One size: each stage in a process of its own, handing its output to the next through a landing folder
    (Parquet, as the DAG's tasks do), so each stage's peak memory is what its task would hold."""
    print(f"\n{n_refunds:,} refund lines")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="acorn-bench-") as landing:
        folder = Path(landing)
        for stage in (_generate_stage, _normalize_stage, _validate_stage, _decide_stage, _load_stage):
            rows += in_own_process(stage, folder, n_refunds, server)
    return _summarize(rows[0]["rows"], rows)


def in_own_process(fn, *args):
    """``fn(*args)`` in a fresh (spawned) process: what one stage keeps in memory, or leaves fragmented, does
    not count in the next stage's peak."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _context() -> dict:
    settings = load_settings()
    return {
        "account": {a.id: a for a in load_accounts(settings.accounts_file)}["amazon-eu"],
        "taxonomy": load_taxonomy(),
        "policy": load_policy(settings.policy_file),
        "rates": read_ecb_csv(settings.fx_file),
    }


def _window(ctx: dict) -> dict:
    return {
        "account_id": ctx["account"].id,
        "interval_start": START,
        "interval_end": START + timedelta(days=1),
    }


def _generate_stage(folder: Path, n_refunds: int, server: str) -> list[dict]:
    """The demo channel's day with ``n_refunds`` refund lines (only the refunded order lines and orders)."""
    account, rows = _context()["account"], []
    per_hour = int(n_refunds / RETURN_RATE / 24) + 1
    print(f"  demo account {account.id}, {per_hour:,} order lines an hour, 24 hours", flush=True)
    raw = timed(
        rows,
        "generate (demo channel)",
        n_refunds,
        generate,
        account,
        START,
        START + timedelta(days=1),
        lines_per_hour=per_hour,
        refunds_only=True,
    )
    rows[-1]["rows"] = len(raw.refunds)
    with (folder / "raw.pickle").open("wb") as fh:
        pickle.dump(raw, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return rows


def _normalize_stage(folder: Path, n_refunds: int, server: str) -> list[dict]:
    ctx, rows = _context(), []
    with (folder / "raw.pickle").open("rb") as fh:
        raw = pickle.load(fh)
    (folder / "raw.pickle").unlink()
    write_json(folder, "control", raw.control_totals)
    write_json(folder, "read", {"refund_lines": len(raw.refunds)})  # the rows every stage's rate is per
    canonical = timed(rows, "normalize", len(raw.refunds), normalize, raw, ctx["taxonomy"], b"bench-key")
    for name in (*ENTITIES, "quarantine"):
        write_frame(folder, f"canonical_{name}", getattr(canonical, name))
    return rows


def _validate_stage(folder: Path, n_refunds: int, server: str) -> list[dict]:
    ctx, rows = _context(), []
    canonical = Canonical(
        **{name: read_frame(folder, f"canonical_{name}") for name in (*ENTITIES, "quarantine")}
    )
    validated = timed(
        rows,
        "validate (GX, full suite)",
        read_json(folder, "read")["refund_lines"],
        validate,
        canonical,
        **_window(ctx),
        control_totals=read_json(folder, "control"),
    )
    for name in (*ENTITIES, "quarantine"):
        write_frame(folder, f"valid_{name}", getattr(validated.canonical, name))
    return rows


def _decide_stage(folder: Path, n_refunds: int, server: str) -> list[dict]:
    """The join and the engine as the decide task runs them, the rules alone, and the naive rules on a sample."""
    ctx, rows = _context(), []
    # as in the DAG, the rules' text columns are read as categoricals
    landed = {name: read_frame(folder, f"valid_{name}", CODED_COLUMNS[name]) for name in ENTITIES}
    n = len(landed["refund_lines"])
    facts = timed(
        rows,
        "decide: join order context",
        n,
        build_facts,
        landed["refund_lines"],
        landed["order_lines"],
        landed["orders"],
        note="refund lines to their order lines and orders",
    )
    flagged = timed(
        rows,
        "decide: risk flags",
        n,
        assess,
        facts,
        empty_history(),
        ctx["policy"].serial_returner_refunds,
        note="duplicates, above paid, serial returners",
    )
    decided = timed(rows, "decide: engine (full policy)", n, decide, flagged, ctx["policy"], ctx["rates"])
    timed(
        rows,
        "decide: rules alone",
        n,
        _rules_alone,
        decided.facts,
        ctx["policy"],
        note="liability + outcome, 25 rules",
    )
    items = review_items(decided.decisions, landed["refund_lines"], **_window(ctx), hold=None)
    write_frame(folder, "decisions", decided.decisions)
    write_frame(folder, "claims", decided.claims)
    write_frame(folder, "review_items", items)
    sample = decided.facts.iloc[:NAIVE_SAMPLE].copy()
    del landed, facts, flagged, decided
    timed(
        rows,
        "naive: apply(axis=1) rules",
        len(sample),
        lambda: sample.apply(naive_rule_row, axis=1, args=(ctx["policy"],)),
        note=f"{len(sample):,}-row sample",
    )
    return rows


def _load_stage(folder: Path, n_refunds: int, server: str) -> list[dict]:
    """The load as the load task runs it (its frames read from the landing as text), then, on the same rows,
    the raw binary COPY limit and the naive ``to_sql`` on a sample."""
    ctx, rows = _context(), []
    frames = {name: read_frame(folder, f"valid_{name}") for name in (*ENTITIES, "quarantine")}
    frames |= {name: read_frame(folder, name) for name in ("decisions", "claims", "review_items")}
    total_rows = sum(len(f) for f in frames.values())
    # the raw COPY writes what the loader writes: the quarantine's ids are minted by the loader, not landed
    with_minted = {**frames, "quarantine": frames["quarantine"].assign(quarantine_uid=quarantine_uids)}
    n = len(frames["refund_lines"])
    dsn = fresh_database(server)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            window = _window(ctx)
            batch = Batch(
                window["account_id"], window["interval_start"], window["interval_end"], "pass", frames, {}, {}
            )
            timed(
                rows,
                "load (one transaction)",
                total_rows,
                lambda: load_batch(conn, batch),
                note=f"{total_rows:,} rows in {len(frames)} tables",
            )
            timed(
                rows,
                "limit: binary COPY",
                total_rows,
                lambda: raw_copy(conn, with_minted),
                note="numpy-built tuples, no indexes",
            )
            share = min(NAIVE_SAMPLE, n) / n
            naive_frames = {k: f.iloc[: int(len(f) * share) + 1] for k, f in frames.items()}
            sample_rows = sum(len(f) for f in naive_frames.values())
            engine_url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
            timed(
                rows,
                "naive: to_sql",
                sample_rows,
                lambda: _to_sql(engine_url, naive_frames),
                note=f"{sample_rows:,}-row sample",
            )
    finally:
        drop_database(server, dsn)
    return rows


def _rules_alone(facts: pd.DataFrame, policy) -> None:
    """Liability and outcome rules over the decided facts, their text columns encoded once for both."""
    coded = CodedColumns(facts)
    first_match(facts, policy.liability_rules, coded)
    first_match(facts, policy.decision_rules, coded)


def _to_sql(url: str, frames: dict[str, pd.DataFrame]) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as con:
        for name, frame in frames.items():
            frame.to_sql(f"naive_{name}", con, schema="public", if_exists="append", index=False)
    engine.dispose()


def _summarize(n: int, rows: list[dict]) -> dict:
    by = {r["stage"]: r for r in rows}
    load, limit = by["load (one transaction)"], by["limit: binary COPY"]
    to_sql, apply_ = by["naive: to_sql"], by["naive: apply(axis=1) rules"]
    join, risk, engine = (
        by[f"decide: {s}"] for s in ("join order context", "risk flags", "engine (full policy)")
    )
    decide_stage = {
        "stage": "decide (join + engine)",
        "rows": engine["rows"],
        "seconds": join["seconds"] + risk["seconds"] + engine["seconds"],
        "peak_rss_gib": max(join["peak_rss_gib"], risk["peak_rss_gib"], engine["peak_rss_gib"]),
        "note": "the DAG's decide task, without its Parquet reads",
    }
    decide_stage["rows_per_s"] = decide_stage["rows"] / decide_stage["seconds"]
    rows.insert(rows.index(engine) + 1, decide_stage)
    by[decide_stage["stage"]] = decide_stage
    pipeline_stages = [
        "normalize",
        "validate (GX, full suite)",
        "decide (join + engine)",
        "load (one transaction)",
    ]
    end_to_end = sum(by[s]["seconds"] for s in pipeline_stages)
    naive_load_s = load["rows"] / to_sql["rows_per_s"]
    naive_rules_s = n / apply_["rows_per_s"]
    naive_total = (  # the naive pipeline is given our join: only its rules and its load differ
        by["normalize"]["seconds"]
        + by["validate (GX, full suite)"]["seconds"]
        + join["seconds"]
        + naive_rules_s
        + naive_load_s
    )
    limit_rate = limit["rows_per_s"]
    for r in rows:
        r["vs_limit"] = (
            r["rows_per_s"] / limit_rate
            if r["stage"].startswith(("load", "limit", "naive: to_sql"))
            else None
        )
    engine["vs_naive"] = engine["rows_per_s"] / apply_["rows_per_s"]
    load["vs_naive"] = load["rows_per_s"] / to_sql["rows_per_s"]
    rows.append(
        {
            "stage": "pipeline end to end",
            "rows": n,
            "seconds": end_to_end,
            "rows_per_s": n / end_to_end,
            "peak_rss_gib": max(by[s]["peak_rss_gib"] for s in pipeline_stages),
            "vs_limit": None,
            "vs_naive": naive_total / end_to_end,
            "note": "normalize + validate + decide + load",
        }
    )
    rows.append(
        {
            "stage": "naive pipeline (extrapolated)",
            "rows": n,
            "seconds": naive_total,
            "rows_per_s": n / naive_total,
            "peak_rss_gib": None,
            "vs_limit": None,
            "vs_naive": 1.0,
            "note": "same normalize/validate; apply(axis=1) rules and to_sql load from the samples",
        }
    )
    return {"refund_lines": n, "stages": rows}


def print_table(result: dict) -> None:
    print(f"\n{result['refund_lines']:,} refund lines")
    print("| stage | rows | seconds | rows/s | vs raw COPY | vs naive | peak RSS GiB | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in result["stages"]:

        def f(v, fmt):
            return "" if v is None else format(v, fmt)

        print(
            f"| {r['stage']} | {r['rows']:,} | {r['seconds']:.2f} | {f(r['rows_per_s'], ',.0f')} | "
            f"{f(r.get('vs_limit'), '.2f')} | {f(r.get('vs_naive'), '.1f')} | {f(r['peak_rss_gib'], '.2f')} | "
            f"{r.get('note', '')} |"
        )


def check_targets(result: dict, parse: dict[str, float]) -> list[tuple[str, str, str, bool]]:
    by = {r["stage"]: r for r in result["stages"]}
    e2e = by["pipeline end to end"]
    checks = [
        (
            "end to end",
            f"{e2e['seconds']:.1f} s",
            f"<= {TARGETS_1M['end_to_end_s']} s",
            e2e["seconds"] <= TARGETS_1M["end_to_end_s"],
        ),
        (
            "load vs raw COPY",
            f"{by['load (one transaction)']['vs_limit']:.2f}",
            f">= {TARGETS_1M['load_vs_copy']}",
            by["load (one transaction)"]["vs_limit"] >= TARGETS_1M["load_vs_copy"],
        ),
        (
            "decide (join + engine)",
            f"{by['decide (join + engine)']['rows_per_s']:,.0f} lines/s",
            ">= 1,000,000 lines/s",
            by["decide (join + engine)"]["rows_per_s"] >= TARGETS_1M["decide_lines_per_s"],
        ),
        (
            "decide: engine alone",
            f"{by['decide: engine (full policy)']['rows_per_s']:,.0f} lines/s",
            ">= 1,000,000 lines/s",
            by["decide: engine (full policy)"]["rows_per_s"] >= TARGETS_1M["decide_lines_per_s"],
        ),
        (
            "decide: rules alone",
            f"{by['decide: rules alone']['rows_per_s']:,.0f} lines/s",
            ">= 1,000,000 lines/s",
            by["decide: rules alone"]["rows_per_s"] >= TARGETS_1M["decide_lines_per_s"],
        ),
        (
            "validate",
            f"{by['validate (GX, full suite)']['seconds']:.1f} s",
            f"<= {TARGETS_1M['validate_s']} s",
            by["validate (GX, full suite)"]["seconds"] <= TARGETS_1M["validate_s"],
        ),
        (
            "peak memory",
            f"{e2e['peak_rss_gib']:.2f} GiB",
            f"<= {TARGETS_1M['peak_rss_gib']} GiB",
            e2e["peak_rss_gib"] <= TARGETS_1M["peak_rss_gib"],
        ),
        (
            "vs naive pipeline",
            f"{e2e['vs_naive']:.1f}x",
            f">= {TARGETS_1M['vs_naive']}x",
            e2e["vs_naive"] >= TARGETS_1M["vs_naive"],
        ),
        (
            "DAG parse (slowest file)",
            f"{max(parse.values()):.3f} s",
            f"<= {TARGETS_1M['dag_parse_s']} s",
            max(parse.values()) <= TARGETS_1M["dag_parse_s"],
        ),
    ]
    print(f"\nTargets at {result['refund_lines']:,} refund lines:")
    for name, got, want, ok in checks:
        print(f"  {'met   ' if ok else 'MISSED'} {name:<26} {got:>22}  (target {want})")
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--big", action="store_true", help="also 10M refund lines (needs time and memory)")
    args = parser.parse_args(argv)
    sizes = args.sizes + ([10_000_000] if args.big else [])
    settings = load_settings()
    server = (
        os.environ.get("ACORN_BENCH_DATABASE_URL")
        or embedded.ensure_running(settings.home / "pgdata").rsplit("/", 1)[0] + "/postgres"
    )
    with psycopg.connect(server) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
        fsync = conn.execute("SHOW fsync").fetchone()[0]
    machine = {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "postgres": pg_version,
        "fsync": fsync,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }
    print(f"machine: {machine}")
    results = [bench_size(n, server) for n in sizes]
    parse = dag_parse_seconds()
    print(f"\nDAG parse seconds (best of 3, Airflow already imported): {parse}")
    for result in results:
        print_table(result)
    nearest = min(results, key=lambda r: abs(r["refund_lines"] - 1_000_000))
    checks = check_targets(nearest, parse)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "machine": machine,
                "results": results,
                "dag_parse_seconds": parse,
                "targets": [{"name": n, "got": g, "target": w, "met": ok} for n, g, w, ok in checks],
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
