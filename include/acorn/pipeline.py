"""The pipeline's stages for one channel account and one data interval, free of Airflow.

Each stage reads the batch folder the previous one wrote and returns a typed report
(:mod:`acorn.stage_reports`: counts, sums per currency, the folder's URI, the interval) that is safe to pass
through XCom and to log. The account's channel is found in :mod:`acorn.channels.registry`; the landing files
are named after the tables they feed (:mod:`acorn.tables`). The DAG tasks in ``plugins/`` are
thin wrappers that supply the landing root, the warehouse connection and the settings.

    extract  -> raw_payloads.jsonl.gz (every response as received; demo: the generator's parameters),
                raw_*.parquet (the mapped text), canonical_*.parquet, quarantine_parse.parquet, control.json;
                for Amazon also settlement_refunds.parquet and reimbursements.parquet
    validate -> valid_*.parquet, quarantine.parquet, verdict.json
    decide   -> decisions.parquet, claims.parquet, review_items.parquet
    load     -> the warehouse, one transaction
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import psycopg
import pyarrow as pa

from acorn.channels import registry
from acorn.channels.base import ChannelAccount, ConnectionInfo, FetchRequest
from acorn.channels.payloads import PayloadLog, read_payloads, write_payloads
from acorn.channels.raw import RawBatch
from acorn.columns import id_positions
from acorn.landing import PathLike, read_frame, read_json, write_frame, write_json
from acorn.money import describe_sums, sums_by_currency
from acorn.normalize import Canonical, normalize
from acorn.policy.engine import CODED_COLUMNS, build_facts, decide
from acorn.policy.rules import Policy
from acorn.policy.taxonomy import Taxonomy
from acorn.privacy import scrub_payloads, scrub_raw
from acorn.review.requests import review_items
from acorn.risk.flags import assess, history_since
from acorn.stage_reports import DecideReport, ExtractReport, Interval, LoadReport, ValidateReport
from acorn.tables import DECIDED_TABLES, ENTITY_TABLES, QUARANTINE, SIDE_TABLES, TABLES
from acorn.warehouse import queries
from acorn.warehouse.load import Batch, load_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    seed: int = 7
    lines_per_hour: int = 60


def fetch(
    account: ChannelAccount,
    start: datetime,
    end: datetime,
    folder: PathLike,
    *,
    as_of: datetime,
    demo_options: DemoOptions,
    pseudonym_key: bytes,
    connection: ConnectionInfo | None = None,
    on_secret: Callable[[str], None] | None = None,
) -> tuple[RawBatch, int]:
    """Ask the account's channel for the interval; returns the raw batch and how many payloads were kept.

    The payloads are written to the landing folder before they are mapped, so a payload that does not map is
    kept (the error names it) and any batch can be replayed from its folder. Buyer e-mails are pseudonymized
    first, in the payloads and in the raw rows (``acorn.privacy``): nothing is written with one.
    """
    channel = registry.reader(account)
    received = PayloadLog()
    request = FetchRequest(
        account,
        start,
        end,
        as_of=as_of,
        now=datetime.now(UTC),
        landing=folder,
        connection=connection,
        received=received,
        on_secret=on_secret,
        options={"demo_seed": demo_options.seed, "demo_lines_per_hour": demo_options.lines_per_hour},
    )
    try:
        payloads = channel.fetch(request)
    except Exception:
        if len(received):  # what arrived before the failure is kept as received, for the next try to compare
            write_payloads(folder, scrub_payloads(received, pseudonym_key))
            log.warning(
                "%s: fetch failed; the %d payloads received before it are kept in %s",
                account.id,
                len(received),
                folder,
            )
        raise
    payloads = scrub_payloads(payloads, pseudonym_key)
    write_payloads(folder, payloads)
    for name, frame in channel.side_tables(account, payloads).items():
        write_frame(folder, name, frame)
    return scrub_raw(channel.to_raw(account, payloads), pseudonym_key), len(payloads)


def replay(account: ChannelAccount, folder: PathLike, taxonomy: Taxonomy, pseudonym_key: bytes) -> Canonical:
    """The canonical rows of a batch, mapped again from the payloads kept in its landing folder."""
    return normalize(registry.reader(account).to_raw(account, read_payloads(folder)), taxonomy, pseudonym_key)


def _counts(canonical: Canonical) -> dict[str, int]:
    return {name: len(getattr(canonical, name)) for name in ENTITY_TABLES}


def extract(
    account: ChannelAccount,
    start: datetime,
    end: datetime,
    folder: PathLike,
    *,
    as_of: datetime,
    taxonomy: Taxonomy,
    pseudonym_key: bytes,
    demo_options: DemoOptions,
    connection: ConnectionInfo | None = None,
    on_secret: Callable[[str], None] | None = None,
) -> ExtractReport:
    """Fetch, keep the raw payload as received, and map it to canonical rows."""
    raw, payloads = fetch(
        account,
        start,
        end,
        folder,
        as_of=as_of,
        demo_options=demo_options,
        pseudonym_key=pseudonym_key,
        connection=connection,
        on_secret=on_secret,
    )
    write_frame(folder, "raw_orders", raw.orders)
    write_frame(folder, "raw_order_lines", raw.order_lines)
    write_frame(folder, "raw_refunds", raw.refunds)
    canonical = normalize(raw, taxonomy, pseudonym_key)
    for name in ENTITY_TABLES:
        write_frame(folder, TABLES[name].file("canonical"), getattr(canonical, name))
    write_frame(folder, "quarantine_parse", canonical.quarantine)
    report = ExtractReport(
        account.id,
        str(folder),
        Interval(start, end),
        source=account.source,
        payloads=payloads,
        read={
            "orders": len(raw.orders),
            "order_lines": len(raw.order_lines),
            "refund_lines": len(raw.refunds),
            **({"rejected_rows": len(raw.rejects)} if raw.rejects else {}),
            **({"refunds_of_other_intervals": raw.outside_interval} if raw.outside_interval else {}),
        },
        kept=_counts(canonical),
        quarantined=len(canonical.quarantine),
        control_totals_minor=raw.control_totals,
        refunds_minor=sums_by_currency(canonical.refund_lines),
    )
    write_json(
        folder,
        "control",
        {"control_totals_minor": raw.control_totals, "read": report.read, "event_window": raw.event_window},
    )
    log.info(
        "extract %s %s: read %s; kept %s; quarantined %d; refunds %s (channel control total %s)",
        account.id,
        report.interval,
        report.read,
        report.kept,
        report.quarantined,
        describe_sums(report.refunds_minor),
        describe_sums(raw.control_totals),
    )
    return report


def validate_stage(folder: PathLike, account_id: str, start: datetime, end: datetime) -> ValidateReport:
    """Run the GX suites; quarantine failing rows; give the batch its verdict."""
    from acorn.quality.validate import validate  # GX takes seconds to import: only this stage needs it

    canonical = Canonical(
        *(read_frame(folder, TABLES[name].file("canonical")) for name in ENTITY_TABLES),
        read_frame(folder, "quarantine_parse"),
    )
    control = read_json(folder, "control")
    in_window = control.get("event_window", True)
    result = validate(
        canonical,
        account_id=account_id,
        interval_start=start if in_window else None,
        interval_end=end if in_window else None,
        control_totals=control["control_totals_minor"],
    )
    for name in ENTITY_TABLES:
        write_frame(folder, TABLES[name].file("valid"), getattr(result.canonical, name))
    write_frame(folder, QUARANTINE.file(), result.canonical.quarantine)
    report = ValidateReport(
        account_id,
        str(folder),
        Interval(start, end),
        verdict=result.verdict.status,
        checks=result.verdict.checks,
        expectations=result.expectations,
        kept=_counts(result.canonical),
        quarantined=len(result.canonical.quarantine),
        quarantined_by_field=result.canonical.quarantine["field"].value_counts().to_dict(),
        refunds_minor=sums_by_currency(result.canonical.refund_lines),
    )
    write_json(folder, "verdict", report.to_xcom())
    log.info(
        "validate %s: verdict %s; kept %s; quarantined %d %s; refunds kept %s",
        account_id,
        report.verdict,
        report.kept,
        report.quarantined,
        report.quarantined_by_field,
        describe_sums(report.refunds_minor),
    )
    return report


def decide_stage(
    conn: psycopg.Connection,
    folder: PathLike,
    account_id: str,
    start: datetime,
    end: datetime,
    policy: Policy,
    *,
    paused: bool = False,
) -> DecideReport:
    """Decide every valid refund line with the policy, the warehouse's rates and history."""
    refunds, lines, orders = (
        read_frame(folder, TABLES[name].file("valid"), CODED_COLUMNS[name])
        for name in ("refund_lines", "order_lines", "orders")
    )
    verdict = read_json(folder, "verdict")
    # refunds whose order line came in an earlier batch (looked up by id position, not in Python sets)
    missing = refunds["line_uid"][id_positions(refunds["line_uid"], lines["line_uid"]) < 0].unique().tolist()
    if missing:
        known_lines, known_orders = queries.order_context(conn, missing)
        lines = pd.concat([lines, known_lines], ignore_index=True)
        orders = pd.concat([orders, known_orders], ignore_index=True)
    facts = build_facts(refunds, lines, orders)
    history = queries.refund_history(
        conn,
        refunds["line_uid"].tolist(),
        facts["buyer_ref"].dropna().unique().tolist(),
        history_since(refunds["refunded_at"], start),
    )
    rates = queries.fx_rates(conn, start.date(), end.date())
    decided = decide(assess(facts, history, policy.serial_returner_refunds), policy, rates, paused=paused)
    hold = verdict["checks"][0] if verdict["verdict"] == "hold" else None
    items = review_items(
        decided.decisions, refunds, account_id=account_id, interval_start=start, interval_end=end, hold=hold
    )
    for name, frame in zip(DECIDED_TABLES, (decided.decisions, decided.claims, items), strict=True):
        write_frame(folder, TABLES[name].file(), frame)
    report = DecideReport(
        account_id,
        str(folder),
        Interval(start, end),
        policy_version=policy.version,
        auto_refunds_paused=paused,
        verdict=verdict["verdict"],
        outcomes=decided.decisions["outcome"].value_counts().to_dict(),
        liability=decided.decisions["liable_party"].value_counts().to_dict(),
        categories=decided.decisions["accounting_category"].value_counts().to_dict(),
        claims=len(decided.claims),
        review_items=len(items),
        refunds_reporting_minor=int(decided.decisions["amount_reporting_minor"].sum()),
        reporting_currency=policy.reporting_currency,
    )
    log.info(
        "decide %s with policy %s: outcomes %s; liability %s; claims %d; review items %d",
        account_id,
        policy.version,
        report.outcomes,
        report.liability,
        report.claims,
        len(items),
    )
    return report


def load_stage(
    conn: psycopg.Connection,
    folder: PathLike,
    account_id: str,
    start: datetime,
    end: datetime,
    dag_run_id: str | None,
) -> LoadReport:
    """Load the batch in one transaction; a replay of the same content writes nothing."""
    verdict = read_json(folder, "verdict")
    control = read_json(folder, "control")
    frames = {name: read_frame(folder, TABLES[name].file("valid")) for name in ENTITY_TABLES}
    frames.update({name: read_frame(folder, TABLES[name].file()) for name in (*DECIDED_TABLES, "quarantine")})
    for name in SIDE_TABLES:  # what only some channels report
        if (folder / f"{TABLES[name].file()}.parquet").exists():
            frames[name] = read_frame(folder, TABLES[name].file())
    pa.default_memory_pool().release_unused()  # the Parquet readers' buffers: the load's peak is its frames
    batch = Batch(
        account_id=account_id,
        interval_start=start,
        interval_end=end,
        verdict=verdict["verdict"],
        frames=frames,
        rows_in=control["read"],
        amounts_in=control["control_totals_minor"],
        landing_uri=str(folder),
        dag_run_id=dag_run_id,
        event_window=control.get("event_window", True),
    )
    result = load_batch(conn, batch)
    held = verdict["verdict"] == "hold"
    review = frames["review_items"]
    report = LoadReport(
        account_id,
        str(folder),
        Interval(start, end),
        batch_id=result.batch_id,
        replay=result.replay,
        verdict=verdict["verdict"],
        inserted=result.inserted,
        updated=result.updated,
        loaded_refunds_minor={} if held else sums_by_currency(frames["refund_lines"]),
        quarantined=len(frames["quarantine"]),
        review_items=len(review),
        review_minor=sums_by_currency(review.dropna(subset=["currency"])) if len(review) else {},
        refunds_absent_from_reread=result.absent,
        withdrawn=result.withdrawn,
    )
    if result.withdrawn:
        log.info(
            "load %s: withdrawn what the new decisions no longer derive: %s",
            account_id,
            ", ".join(f"{n} open {name.replace('_', ' ')}" for name, n in result.withdrawn.items()),
        )
    if result.absent:
        log.warning(
            "load %s: %d refunds loaded before for this interval are absent from this re-read; kept, and each "
            "is a review item (anomaly)",
            account_id,
            result.absent,
        )
    log.info(
        "load %s: batch %s %s; inserted %s; updated %s; refunds loaded %s; quarantined %d; review items %d",
        account_id,
        result.batch_id,
        "replayed (no change)" if result.replay else "written",
        result.inserted,
        result.updated,
        describe_sums(report.loaded_refunds_minor),
        report.quarantined,
        len(review),
    )
    return report
