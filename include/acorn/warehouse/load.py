"""Idempotent batch loads: one transaction, a ledger keyed by content, COPY into staging, upsert on keys.

A batch is one channel account and one data interval. Loading the same content twice changes nothing (the
ledger row says it was loaded); loading changed content for the same interval (late data) upserts only the
rows that differ (``IS DISTINCT FROM``). Review items and claims are inserted once and never overwritten:
their state belongs to the people who work them.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from acorn.columns import arrow_strings, id_order, id_positions, string_offsets
from acorn.errors import BatchDataError, LoadError
from acorn.schema import uid, uids
from acorn.tables import TABLES, Table
from acorn.warehouse import binary_copy

#: Rows encoded and sent per COPY chunk. Each chunk is a copy of its rows plus their binary tuples: larger
#: chunks raise the load's peak memory and gain no time.
COPY_CHUNK_ROWS = 50_000


@dataclass
class Batch:
    """Everything one batch writes, with where it came from."""

    account_id: str
    interval_start: datetime
    interval_end: datetime
    verdict: str
    frames: dict[str, pd.DataFrame]
    rows_in: dict[str, int]
    amounts_in: dict[str, int]
    landing_uri: str = ""
    dag_run_id: str | None = None
    actor: str = "acorn"
    #: whether the batch holds every refund the channel shows for its interval (not files picked by arrival)
    event_window: bool = True

    @cached_property
    def content_hash(self) -> str:
        """Hash of everything the batch would write: same content, same hash, whatever the run and however the
        frames are stored (computed once: it reads every row). The columns are hashed on two threads (hashlib
        lets go of the GIL for large buffers)."""
        names = sorted(self.frames)
        columns = [self.frames[name][column] for name in names for column in self.frames[name].columns]
        with ThreadPoolExecutor(2) as pool:
            column_digests = iter(pool.map(_column_digest, columns))
        digest = hashlib.blake2b(self.verdict.encode(), digest_size=32)
        for name in names:
            frame = self.frames[name]
            digest.update(f"{name}:{len(frame)}:{','.join(frame.columns)}".encode())
            for _ in frame.columns:
                digest.update(next(column_digests))
        return digest.hexdigest()

    @property
    def batch_id(self) -> str:
        return uid(
            "batch",
            self.account_id,
            self.interval_start.isoformat(),
            self.interval_end.isoformat(),
            self.content_hash,
        )


def _column_digest(col: pd.Series) -> bytes:
    """A digest of a column's values that depends on its content only, not on how it is chunked or stored:
    the values' bytes read in place from their buffers (no copy of the text: pandas' ``hash_pandas_object``
    goes row by row through Python objects for text)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        parts = ["\x1f".join(map(str, col.cat.categories)).encode(), col.cat.codes.to_numpy(dtype=np.int64)]
    elif isinstance(col.dtype, pd.StringDtype):
        return _text_digest(col)
    elif isinstance(col.dtype, pd.DatetimeTZDtype):
        parts = [col.array.asi8, col.isna().to_numpy()]
    else:
        missing = col.isna().to_numpy()
        values = col.to_numpy(dtype=object if missing.any() and col.dtype.kind not in "fmM" else None)
        if values.dtype == object:
            parts = [repr(values.tolist()).encode()]
        else:
            parts = [np.ascontiguousarray(values), missing]
    digest = hashlib.blake2b(digest_size=32)
    for part in parts:
        digest.update(part)
    return digest.digest()


def _text_digest(col: pd.Series) -> bytes:
    """Lengths, validity and text each get a digest fed chunk by chunk: the same values chunked otherwise
    feed each the same bytes."""
    array = col.array
    chunks = array._pa_array.chunks if isinstance(array, pd.arrays.ArrowStringArray) else [arrow_strings(col)]
    lengths, valid, text = (hashlib.blake2b(digest_size=32) for _ in range(3))
    for chunk in chunks:
        if not len(chunk):
            continue
        offsets = string_offsets(chunk)
        lengths.update(np.diff(offsets).astype(np.int64, copy=False))
        valid.update(pc.is_valid(chunk).to_numpy(zero_copy_only=False))
        data = chunk.buffers()[2]
        if data is not None:
            text.update(memoryview(data)[offsets[0] : offsets[-1]])
    return lengths.digest() + valid.digest() + text.digest()


@dataclass
class LoadResult:
    batch_id: str
    replay: bool
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    #: refunds loaded before for this interval that the channel no longer shows
    absent: int = 0
    #: open claims and review items withdrawn because the refund's new decision no longer derives them
    withdrawn: dict[str, int] = field(default_factory=dict)


def copy_frame(
    cur: psycopg.Cursor,
    table: sql.Composable,
    frame: pd.DataFrame,
    columns: tuple[str, ...],
    order: np.ndarray | None = None,
    constants: Mapping[str, str] | None = None,
) -> None:
    """Stream a frame into ``table`` with COPY, in chunks (rows in ``order`` when given): binary tuples built in
    numpy (:mod:`acorn.warehouse.binary_copy`), or CSV built by Arrow when a column is one the binary encoder
    does not take (the savepoint undoes the partial binary COPY first). ``constants`` are columns with one
    value on every row (the batch id), written after ``columns``."""
    constants = dict(constants or {})
    types = dict(
        cur.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (table.as_string(cur),),
        ).fetchall()
    )
    try:
        with cur.connection.transaction():
            encoded = {c: binary_copy.encode_constant(v, types[c]) for c, v in constants.items()}
            _copy_binary(cur, table, frame, columns, [types[c] for c in columns], order, encoded)
        return
    except binary_copy.NotEncodable:
        pass
    frame, columns = frame.assign(**constants), (*columns, *constants)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    options = pacsv.WriteOptions(include_header=False)
    with cur.copy(copy_sql) as copy:
        for rows in _chunks(frame, order):
            chunk = pa.Table.from_pandas(rows[list(columns)], preserve_index=False)
            buf = io.BytesIO()
            pacsv.write_csv(chunk, buf, options)
            copy.write(buf.getvalue())


def _copy_binary(
    cur: psycopg.Cursor,
    table: sql.Composable,
    frame: pd.DataFrame,
    columns: tuple[str, ...],
    types: list[str],
    order: np.ndarray | None,
    constants: dict[str, bytes],
) -> None:
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, (*columns, *constants)))
    )
    # a worker thread sends each chunk while the next one is encoded (Arrow and numpy release the GIL)
    with cur.copy(copy_sql, writer=QueuedLibpqWriter(cur)) as copy:
        copy.write(binary_copy.HEADER)
        for rows in _chunks(frame, order):
            copy.write(binary_copy.encode_rows(rows[list(columns)], types, tuple(constants.values())))
        copy.write(binary_copy.TRAILER)


def _chunks(frame: pd.DataFrame, order: np.ndarray | None) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), COPY_CHUNK_ROWS):
        end = start + COPY_CHUNK_ROWS
        yield frame.iloc[start:end] if order is None else frame.iloc[order[start:end]]


def policy_rules(decisions: pd.DataFrame) -> pd.DataFrame:
    """The reason of each rule the decisions name, once per policy version and rule (core.policy_rules): kept
    there rather than on each of a million decision rows."""
    parts = []
    for kind in ("decision", "liability"):
        columns = {
            "policy_version": decisions["policy_version"],
            "rule_id": decisions[f"{kind}_rule"],
            "reason": decisions[f"{kind}_reason"],
        }
        # categoricals (as the decide task writes them) are told apart by their codes, never as text
        unique = pd.DataFrame(columns).drop_duplicates().astype("string")
        parts.append(unique.assign(kind=kind))
    return pd.concat(parts, ignore_index=True)


def quarantine_uids(quarantine: pd.DataFrame) -> pd.Series:
    """The identity of each held-back row across re-reads: account, entity, check, field, the record as
    received, and which copy of that record it is in its batch (a file may hold the same bad row twice)."""
    parts = [quarantine[c].fillna("") for c in ("account_id", "entity", "check_name", "field", "raw_record")]
    copy = quarantine.groupby(parts, sort=False, dropna=False).cumcount().astype("string")
    return uids("quarantine", *parts, copy)


def check_references(batch: Batch) -> None:
    """Every decision and claim names a refund line of the batch (which is written in the same transaction).

    Checked for the whole batch at once (:func:`id_positions`), instead of a foreign-key trigger per row
    (migration 0012).
    """
    refunds = batch.frames.get("refund_lines")
    known = refunds["refund_uid"] if refunds is not None else pd.Series([], dtype="string")
    for name in ("decisions", "claims"):
        frame = batch.frames.get(name)
        if frame is None or frame.empty:
            continue
        found = id_positions(frame["refund_uid"], known) >= 0
        if not found.all():
            missing = frame["refund_uid"][~found]
            raise LoadError(
                f"batch {batch.account_id} {batch.interval_start.isoformat()}: {len(missing)} {name} name refund "
                f"lines that are not in the batch (first: {missing.iloc[0]}); nothing was loaded"
            )


def _copy_fresh(
    cur: psycopg.Cursor, target: Table, frame: pd.DataFrame, batch_id: str, order: np.ndarray | None
) -> bool:
    """COPY rows straight into their table when none of their keys is there yet: the common case, in one pass
    instead of a staged copy and an upsert. A key already there aborts the COPY at once; the savepoint undoes
    it and the rows take the upsert path. Returns whether the rows went in."""
    try:
        with cur.connection.transaction():
            copy_frame(
                cur,
                sql.Identifier("core", target.name),
                frame,
                target.stored,
                order,
                {"batch_id": batch_id},
            )
    except psycopg.errors.UniqueViolation:
        return False
    return True


def _upsert(cur: psycopg.Cursor, target: Table, frame: pd.DataFrame, batch_id: str) -> tuple[int, int]:
    # rows go in nearly sorted by key: the primary key's b-tree fills page after page instead of at random
    order = id_order(frame[target.key[0]]) if target.key[0] in frame else None
    if _copy_fresh(cur, target, frame, batch_id, order):
        return len(frame), 0
    stage = sql.Identifier(f"stage_{target.name}")
    core = sql.Identifier("core", target.name)
    cols = target.stored
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            stage, sql.SQL(", ").join(map(sql.Identifier, cols)), core
        )
    )
    copy_frame(cur, stage, frame, cols, order)
    all_cols = (*cols, "batch_id")
    ident = sql.SQL(", ").join(map(sql.Identifier, all_cols))
    keys = sql.SQL(", ").join(map(sql.Identifier, target.key))
    if target.on_conflict == "nothing":
        action = sql.SQL("DO NOTHING")
    else:
        changing = [c for c in cols if c not in target.key and (not target.updates or c in target.updates)]
        only_where = sql.SQL(f" AND {target.update_only_where}" if target.update_only_where else "")
        action = sql.SQL(
            "DO UPDATE SET {sets}, batch_id = EXCLUDED.batch_id WHERE ({old}) IS DISTINCT FROM ({new}){only_where}"
        ).format(
            only_where=only_where,
            sets=sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in changing
            ),
            old=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in changing),
            new=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in changing),
        )
    query = sql.SQL(
        "WITH up AS (INSERT INTO {core} AS t ({ident}) SELECT {cols}, %(batch_id)s FROM {stage} "
        "ON CONFLICT ({keys}) {action} RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
    ).format(
        core=core,
        ident=ident,
        cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
        stage=stage,
        keys=keys,
        action=action,
    )
    inserted, updated = cur.execute(query, {"batch_id": batch_id}).fetchone()
    return int(inserted), int(updated)


def load_batch(conn: psycopg.Connection, batch: Batch) -> LoadResult:
    """Load one batch in one transaction; a replay of loaded content is a no-op that says so.

    A value the warehouse refuses (text it cannot encode, a number out of range) fails the whole batch with a
    :class:`BatchDataError` naming it; nothing of the batch is written.
    """
    try:
        return _load_batch(conn, batch)
    except psycopg.errors.DataError as exc:
        diag = exc.diag
        raise BatchDataError(
            f"batch of {batch.account_id} [{batch.interval_start:%Y-%m-%d %H:%M}, "
            f"{batch.interval_end:%Y-%m-%d %H:%M}): the warehouse refused a value "
            f"({diag.sqlstate}: {diag.message_primary}; {diag.context or 'no context'}); nothing was loaded"
        ) from exc


def _load_batch(conn: psycopg.Connection, batch: Batch) -> LoadResult:
    batch_id = batch.batch_id
    lock_key = f"{batch.account_id}|{batch.interval_start.isoformat()}|{batch.interval_end.isoformat()}"
    with conn.transaction(), conn.cursor() as cur:
        # a row lock on a table only the loader can reach (an advisory key can be taken by any role)
        cur.execute("INSERT INTO core.load_locks VALUES (%s) ON CONFLICT DO NOTHING", (lock_key,))
        cur.execute("SELECT 1 FROM core.load_locks WHERE lock_key = %s FOR UPDATE", (lock_key,))
        if cur.execute("SELECT 1 FROM core.batch_ledger WHERE batch_id = %s", (batch_id,)).fetchone():
            _audit(
                cur,
                batch,
                batch_id,
                "batch_replayed",
                {"note": "same content already loaded; nothing written"},
            )
            return LoadResult(batch_id, replay=True)
        held = batch.verdict == "hold"
        if not held:
            check_references(batch)
        loaded_rows = {
            name: 0 if held and not TABLES[name].held_load else len(f) for name, f in batch.frames.items()
        }
        cur.execute(
            "INSERT INTO core.batch_ledger (batch_id, account_id, interval_start, interval_end, content_hash, "
            "status, verdict, landing_uri, rows_in, rows_loaded, amounts_in, dag_run_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                batch_id,
                batch.account_id,
                batch.interval_start,
                batch.interval_end,
                batch.content_hash,
                "held" if held else "loaded",
                batch.verdict,
                batch.landing_uri,
                json.dumps(batch.rows_in),
                json.dumps(loaded_rows),
                json.dumps(batch.amounts_in),
                batch.dag_run_id,
            ),
        )
        result = LoadResult(batch_id, replay=False)
        frames = batch.frames
        if "decisions" in frames:
            frames = {**frames, "policy_rules": policy_rules(frames["decisions"])}
        if "quarantine" in frames:
            frames = {**frames, "quarantine": frames["quarantine"].assign(quarantine_uid=quarantine_uids)}
        for name, table in TABLES.items():
            frame = frames.get(name)
            if frame is None or frame.empty or (held and not table.held_load):
                continue
            result.inserted[name], result.updated[name] = _upsert(cur, table, frame, batch_id)
        if not held:
            result.withdrawn = _withdraw_replaced(cur, batch, batch_id)
        if not held and batch.event_window:
            result.absent = _report_absent(cur, batch, batch_id)
        _audit(
            cur,
            batch,
            batch_id,
            "batch_held" if held else "batch_loaded",
            {
                "inserted": result.inserted,
                "updated": result.updated,
                "rows_in": batch.rows_in,
                "amounts_in_minor": batch.amounts_in,
            },
        )
    return result


#: Withdraw the open claims and refund-decision review items of the decided refunds (first list) that the batch
#: no longer derives (not in the second). What this batch wrote (its batch id) it derives: only earlier
#: batches' rows are looked at. Both lists are a batch long: they are hash-joined (:func:`hash_joins_only`),
#: never searched one element at a time.
WITHDRAW = {
    "claims": (
        "UPDATE core.claims t SET state = 'withdrawn', withdrawn_at = now() "
        "WHERE t.state = 'open' AND t.batch_id <> %s AND t.refund_uid IN (SELECT unnest(%s::uuid[])) "
        "AND NOT EXISTS (SELECT FROM unnest(%s::uuid[]) AS k(id) WHERE k.id = t.claim_id) "
        "RETURNING t.claim_id::text, t.currency, t.amount_minor"
    ),
    "review_items": (
        "UPDATE core.review_items t SET state = 'withdrawn', resolved_at = now(), resolved_by = %s "
        "WHERE t.state = 'open' AND t.kind = 'refund_decision' AND t.batch_id <> %s "
        "AND t.refund_uid IN (SELECT unnest(%s::uuid[])) "
        "AND NOT EXISTS (SELECT FROM unnest(%s::uuid[]) AS k(id) WHERE k.id = t.review_item_id) "
        "RETURNING t.review_item_id::text, t.currency, t.amount_minor"
    ),
}


@contextmanager
def hash_joins_only(cur: psycopg.Cursor) -> Iterator[psycopg.Cursor]:
    """Statements that join a batch's ids with rows the transaction has just written, planned without nested
    loops. The new rows have no statistics yet and an array parameter's length is unknown, so the planner
    takes both sides for a few rows and nests the loops: quadratic in the batch (a million-line batch's half
    a million review items kept the server busy for minutes). Hash joins are linear whatever the estimate."""
    before = cur.execute("SELECT current_setting('enable_nestloop')").fetchone()[0]
    cur.execute("SELECT set_config('enable_nestloop', 'off', true)")
    try:
        yield cur
    finally:
        cur.execute("SELECT set_config('enable_nestloop', %s, true)", (before,))


def _withdraw_replaced(cur: psycopg.Cursor, batch: Batch, batch_id: str) -> dict[str, int]:
    """Open claims and open review items of the refunds this batch decided that their decision now no longer
    derives (a corrected refund decided review instead of claim; the item of an earlier policy version):
    withdrawn, audited with their money, so that nobody files a claim or answers a question that no longer
    stands. What a person filed or answered is not touched (the warehouse refuses it)."""
    decisions = batch.frames.get("decisions")
    if decisions is None or decisions.empty:
        return {}
    decided = decisions["refund_uid"].astype(str).unique().tolist()
    keep: dict[str, list[str]] = {}
    for name, key in (("claims", "claim_id"), ("review_items", "review_item_id")):
        frame = batch.frames.get(name)
        keep[name] = [] if frame is None or frame.empty else frame[key].astype(str).tolist()
    with hash_joins_only(cur):
        withdrawn = {
            "claims": cur.execute(WITHDRAW["claims"], (batch_id, decided, keep["claims"])).fetchall(),
            "review_items": cur.execute(
                WITHDRAW["review_items"], (batch.actor, batch_id, decided, keep["review_items"])
            ).fetchall(),
        }
    for name, rows in withdrawn.items():
        if rows:
            sums: dict[str, int] = {}
            for _id, currency, amount in rows:
                sums[currency] = sums.get(currency, 0) + int(amount or 0)
            _audit(cur, batch, batch_id, f"{name}_withdrawn", {
                "count": len(rows), "amounts_minor": sums, "ids": [r[0] for r in rows],
                "reason": "the refund's new decision no longer derives it",
            })  # fmt: skip
    return {name: len(rows) for name, rows in withdrawn.items() if rows}


def _report_absent(cur: psycopg.Cursor, batch: Batch, batch_id: str) -> int:
    """Refunds an earlier batch loaded for this interval that this re-read neither loads nor quarantines:
    kept (a refund does not vanish from the warehouse), audited, and each put before a person as an
    ``anomaly`` review item, once. Nothing is asked on a first load of an interval."""
    earlier = cur.execute(
        "SELECT 1 FROM core.batch_ledger WHERE account_id = %s AND interval_start < %s AND interval_end > %s "
        "AND batch_id <> %s AND status = 'loaded' LIMIT 1",
        (batch.account_id, batch.interval_end, batch.interval_start, batch_id),
    ).fetchone()
    if earlier is None:
        return 0
    refunds = batch.frames.get("refund_lines", pd.DataFrame({"refund_uid": []}))
    quarantined = batch.frames.get("quarantine", pd.DataFrame({"source_key": []}))
    present = [str(u) for u in refunds["refund_uid"]]
    held = [str(k) for k in quarantined.get("source_key", pd.Series(dtype="string")).dropna()]
    absent = cur.execute(
        "SELECT refund_uid::text, external_refund_id, currency, amount_minor FROM core.refund_lines "
        "WHERE account_id = %s AND refunded_at >= %s AND refunded_at < %s "
        "AND NOT (refund_uid = ANY(%s::uuid[])) AND NOT (external_refund_id = ANY(%s::text[])) "
        "ORDER BY refunded_at, refund_uid",
        (batch.account_id, batch.interval_start, batch.interval_end, present, held),
    ).fetchall()
    if not absent:
        return 0
    sums: dict[str, int] = {}
    for _uid, _ext, currency, amount in absent:
        sums[currency] = sums.get(currency, 0) + int(amount)
    _audit(
        cur,
        batch,
        batch_id,
        "refunds_absent_from_reread",
        {"count": len(absent), "amounts_minor": sums, "first": [a[1] for a in absent[:20]]},
    )
    cur.executemany(
        "INSERT INTO core.review_items (review_item_id, batch_id, kind, refund_uid, summary, currency, "
        "amount_minor) VALUES (%s, %s, 'anomaly', %s, %s, %s, %s) ON CONFLICT (review_item_id) DO NOTHING",
        [
            (
                uid("absent", refund),
                batch_id,
                refund,
                f"refund {ext} ({amount} {currency} minor units) was loaded for this interval but the "
                "channel's re-export no longer shows it: check it in the channel (kept in the warehouse)",
                currency,
                amount,
            )
            for refund, ext, currency, amount in absent
        ],
    )
    return len(absent)


def _audit(cur: psycopg.Cursor, batch: Batch, batch_id: str, action: str, details: dict) -> None:
    details = {
        "account_id": batch.account_id,
        "interval_start": batch.interval_start.isoformat(),
        "interval_end": batch.interval_end.isoformat(),
        "dag_run_id": batch.dag_run_id,
        **details,
    }
    cur.execute(
        "INSERT INTO core.audit_log (actor, action, batch_id, details) VALUES (%s, %s, %s, %s)",
        (batch.actor, action, batch_id, json.dumps(details)),
    )


def load_fx_rates(conn: psycopg.Connection, rates: pd.DataFrame, source: str) -> int:
    """Upsert ECB rates (rate_date, currency, rate_e6); returns rows inserted or changed."""
    frame = rates.assign(
        rate_per_eur=lambda f: f["rate_e6"].map(lambda v: f"{v // 10**6}.{v % 10**6:06d}"),
        rate_date=lambda f: f["rate_date"].dt.strftime("%Y-%m-%d"),
        source=source,
    )
    cols = ("rate_date", "currency", "rate_per_eur", "source")
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE stage_fx ON COMMIT DROP AS SELECT rate_date, currency, rate_per_eur, source "
            "FROM core.fx_rates WITH NO DATA"
        )
        copy_frame(cur, sql.Identifier("stage_fx"), frame, cols)
        changed = cur.execute(
            "INSERT INTO core.fx_rates AS t (rate_date, currency, rate_per_eur, source) "
            "SELECT rate_date, currency, rate_per_eur, source FROM stage_fx "
            "ON CONFLICT (rate_date, currency) DO UPDATE SET rate_per_eur = EXCLUDED.rate_per_eur, "
            "source = EXCLUDED.source, loaded_at = now() WHERE t.rate_per_eur IS DISTINCT FROM EXCLUDED.rate_per_eur"
        ).rowcount
        cur.execute(
            "INSERT INTO core.audit_log (actor, action, details) VALUES ('acorn', 'fx_rates_loaded', %s)",
            (json.dumps({"source": source, "rows_changed": changed, "rows_read": len(frame)}),),
        )
    return changed
