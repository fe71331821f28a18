"""Raw channel text -> the canonical model, with every unreadable value quarantined by field.

A channel mapper hands over text frames whose columns already carry canonical names (plus the channel's
external ids); this module parses them into :mod:`acorn.schema`'s dtypes. A row that cannot be parsed is not
dropped: it leaves here as a quarantine row naming the landing file's row, the field and the reason.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from acorn.channels.raw import RawBatch
from acorn.columns import arrow_strings, contains_nul, string_offsets
from acorn.money import CURRENCY_EXPONENT, parse_minor, row_exponents
from acorn.policy.taxonomy import Taxonomy
from acorn.privacy import pseudonymize
from acorn.schema import ORDER_LINES, ORDERS, REFUND_LINES, Entity, key_uids
from acorn.tables import QUARANTINE

NUL_REASON = "holds a NUL byte, which no text can store (shown as \u2400 in the record)"
#: how a NUL byte of the input is kept in a quarantined record (Postgres' text and jsonb store none)
NUL_SHOWN = "\u2400"


#: Digits alone, few enough for int64 whatever they are.
_PLAIN_WHOLE = r"^-?[0-9]{1,9}$"  # fits the warehouse's integer columns
INT_MAX = 2**31 - 1
#: where a file's row came from (file, line): kept beside the entity's columns, never loaded as data
SOURCE_COLUMNS = ("_source_file", "_source_row")

FULFILLMENT = {"AFN": "AFN", "MFN": "MFN", "store": "STORE", "STORE": "STORE"}


@dataclass
class Canonical:
    """One batch in the canonical model, plus what could not be read."""

    orders: pd.DataFrame
    order_lines: pd.DataFrame
    refund_lines: pd.DataFrame
    quarantine: pd.DataFrame


def empty_quarantine() -> pd.DataFrame:
    return QUARANTINE.empty()


def quarantine_rows(
    raw: pd.DataFrame,
    mask: pd.Series,
    *,
    account_id: str,
    entity: str,
    key_column: str,
    field: pd.Series,
    reason: pd.Series,
    check: str,
    amount_minor: pd.Series | None = None,
) -> pd.DataFrame:
    """Quarantine rows of ``raw`` where ``mask`` holds, keeping the record as received."""
    rows = raw[mask]
    if rows.empty:
        return empty_quarantine()
    source_rows = (
        rows["_source_row"] if "_source_row" in rows else pd.Series(rows.index + 1, index=rows.index)
    )
    records = rows.drop(columns=[c for c in rows.columns if c.startswith("_")])
    out = pd.DataFrame(
        {
            "account_id": account_id,
            "entity": entity,
            "source_file": rows["_source_file"].astype("string") if "_source_file" in rows else "",
            "source_row": source_rows.astype("int64"),
            "source_key": rows[key_column].astype("string").str.replace("\x00", NUL_SHOWN, regex=False),
            "field": field[mask].astype("string"),
            "reason": reason[mask].astype("string"),
            "check_name": check,
            "currency": rows["currency"].astype("string") if "currency" in rows else pd.NA,
            "amount_minor": amount_minor[mask].astype("Int64") if amount_minor is not None else pd.NA,
            "raw_record": [
                json.dumps(r, default=str, ensure_ascii=False).replace("\\u0000", NUL_SHOWN)
                for r in records.astype(object).where(records.notna(), None).to_dict("records")
            ],
        }
    )
    return out.astype(QUARANTINE.dtypes).reset_index(drop=True)


class _Errors:
    """Collects the first failing field of each row and every reason, vectorized."""

    def __init__(self, index: pd.Index) -> None:
        self.field = pd.Series(pd.NA, index=index, dtype="string")
        self.reason = pd.Series(pd.NA, index=index, dtype="string")

    def add(self, name: str, failed: pd.Series, reason: pd.Series | str) -> None:
        failed = failed.fillna(False).astype(bool)
        if not failed.any():
            return
        text = (name + ": " + reason) if isinstance(reason, str) else (name + ": " + reason.astype("string"))
        first = failed & self.field.isna()
        self.field[first] = name
        self.reason[failed] = (
            self.reason[failed]
            .fillna("")
            .str.cat(pd.Series(text, index=self.reason.index)[failed], sep="; ")
            .str.lstrip("; ")
        )

    @property
    def failed(self) -> pd.Series:
        return self.field.notna()


#: Bytes a value with Python whitespace (``str.isspace``) around it can start or end with, in UTF-8: ASCII
#: whitespace, the lead bytes of the non-ASCII spaces (U+0085, U+00A0, U+1680, U+2000-U+205F, U+3000), and
#: any continuation byte. Wider than needed: a value that only looks padded takes pandas' exact strip.
_PADDED_START = np.zeros(256, dtype=bool)
_PADDED_START[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0xC2, 0xE1, 0xE2, 0xE3]] = True
_PADDED_END = np.zeros(256, dtype=bool)
_PADDED_END[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_PADDED_END[0x80:0xC0] = True


def _clean_text(src: pd.Series) -> pd.Series:
    """Text stripped of surrounding whitespace, empty as missing. A column with nothing to strip or blank (the
    usual case, told from each value's first and last byte) is returned as it is: a million-line batch's text
    is then not held twice, once raw and once canonical."""
    text = src.astype("string")
    if isinstance(text.array, pd.arrays.ArrowStringArray) and all(
        _clean_chunk(chunk) for chunk in text.array._pa_array.chunks
    ):
        return text
    return text.str.strip().replace("", pd.NA)


def _clean_chunk(chunk: pa.Array) -> bool:
    offsets = string_offsets(chunk)
    valid = ~chunk.is_null().to_numpy(zero_copy_only=False) if chunk.null_count else slice(None)
    starts, ends = offsets[:-1][valid], offsets[1:][valid]
    if (starts == ends).any():  # an empty value
        return False
    data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8) if len(starts) else np.zeros(0, dtype=np.uint8)
    return not (_PADDED_START[data[starts]].any() or _PADDED_END[data[ends - 1]].any())


#: ISO 8601 with a zone, as the channels' APIs give it ("Z" or an offset): what Arrow's cast reads exactly as
#: pandas does.
_ZONED_ISO = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}(:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})$"


def _parse_timestamps(text: pd.Series) -> pd.Series:
    """ISO 8601 text as UTC instants, NaT where unreadable. Values with a zone are read by Arrow's cast, which
    reads them exactly as pandas does in a fraction of the time (the whole column at once when every value
    has one, the usual case); the rest (no zone, a date alone, nanoseconds, a value to quarantine) by pandas'
    ISO 8601 parser, which takes a value without a zone as UTC. An impossible date that looks zoned (February
    30th) makes Arrow refuse the column, which pandas then reads whole."""
    arr, utc = arrow_strings(text), pa.timestamp("us", "UTC")
    try:
        return pd.Series(pc.cast(arr, utc).to_pandas(), index=text.index)
    except pa.ArrowInvalid:
        zoned = pc.fill_null(pc.match_substring_regex(arr, _ZONED_ISO), False)
    try:
        parsed = pc.cast(pc.if_else(zoned, arr, pa.scalar(None, arr.type)), utc)
    except pa.ArrowInvalid:
        zoned, parsed = pa.array(np.zeros(len(arr), dtype=bool)), pa.nulls(len(arr), utc)
    out = pd.Series(parsed.to_pandas(), index=text.index)
    rest = ~zoned.to_numpy(zero_copy_only=False) & text.notna().to_numpy()
    out[rest] = pd.to_datetime(text[rest], format="ISO8601", utc=True, errors="coerce").astype(out.dtype)
    return out


def _parse_whole(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers as int64 (0 where unreadable, out of the warehouse's integer range, or missing), and
    where they were. A column of plain digits that fit (the usual case) is read by Arrow's cast; any other (a
    sign, a point, an exponent: "3.0" is a whole three) by pandas' ``to_numeric``, which is several times
    slower. ``inf``, ``1e400`` or twenty digits are not whole numbers a quantity can be."""
    arr = arrow_strings(text)
    plain = pc.match_substring_regex(arr, _PLAIN_WHOLE)
    if pc.all(pc.fill_null(plain, True)).as_py():
        num = pc.cast(pc.fill_null(arr, "0"), pa.int64()).to_numpy(zero_copy_only=False)
        return pd.Series(num, index=text.index), text.isna()
    num = pd.to_numeric(text, errors="coerce").astype("float64")
    finite = np.isfinite(num.to_numpy(na_value=np.nan))
    bad = ~finite | (num != np.floor(num.fillna(0))) | (num.abs() > INT_MAX)
    return num.where(~bad, 0).fillna(0).astype("int64"), bad


def _parse(
    raw: pd.DataFrame, entity: Entity, errors: _Errors, currency: pd.Series | None
) -> dict[str, pd.Series]:
    """Parse every raw column that carries a canonical field name, by the field's kind."""
    out: dict[str, pd.Series] = {}
    exps = None  # each row's currency exponent, looked up at the first money column
    given: dict[str, pd.Series] = {}  # of a field with default_from, the rows that gave their own value
    if currency is not None:
        known = currency.isin(list(CURRENCY_EXPONENT))
        errors.add("currency", ~known & currency.notna(), "unknown currency code")
    for f in entity.fields:
        if f.name.endswith("_minor") and f.name.removesuffix("_minor") in raw:
            src = raw[f.name.removesuffix("_minor")]
        elif f.name in raw:
            src = raw[f.name]
        elif f.default is not None:  # a raw frame of before the field existed
            src = pd.Series(f.default, index=raw.index, dtype="string")
        elif f.default_from is not None and f.default_from in raw:
            src = raw[f.default_from]
        else:
            continue
        text = _clean_text(src)
        if f.default is not None:
            text = text.fillna(f.default)
        if f.default_from is not None and f.default_from in raw:
            gave = f.name in raw or f.name.removesuffix("_minor") in raw
            given[f.name] = text.notna() if gave else pd.Series(False, index=text.index)
            fallback = _clean_text(raw[f.default_from])
            if (
                f.currency_field in given
            ):  # an amount goes with its currency: only where both are the row's own
                fallback = fallback.where(~given[f.currency_field])
            text = text.fillna(fallback)
        missing = text.isna()
        if f.required:
            errors.add(f.name, missing, "missing")
        if f.kind == "text":
            out[f.name] = text
        elif f.kind == "money" and f.currency_field is not None:
            # only what the channel gave is checked here: a value taken from the row's own is checked there
            other = out[f.currency_field]
            own_currency = given.get(f.currency_field, other.notna())
            errors.add(
                f.currency_field, ~other.isin(list(CURRENCY_EXPONENT)) & own_currency, "unknown currency code"
            )
            minor, err = parse_minor(text, row_exponents(other))
            own = given.get(f.name, ~missing)
            errors.add(f.name, err.notna() & ~missing & own & (err != "unknown currency"), err.fillna(""))
            out[f.name] = minor
        elif f.kind == "money":
            exps = row_exponents(currency) if exps is None else exps
            minor, err = parse_minor(text, exps)
            errors.add(f.name, err.notna() & ~missing & (err != "unknown currency"), err.fillna(""))
            out[f.name] = minor
        elif f.kind == "timestamp":
            ts = _parse_timestamps(text)
            errors.add(f.name, ts.isna() & ~missing, "not an ISO 8601 timestamp")
            out[f.name] = ts
        elif f.kind == "int":
            num, bad = _parse_whole(text)
            errors.add(f.name, bad & ~missing, "not a whole number (of at most ±2147483647)")
            out[f.name] = num
        elif f.kind == "bool":
            low = text.str.lower()
            errors.add(f.name, ~low.isin(["true", "false"]) & ~missing, "not true/false")
            out[f.name] = low.eq("true").fillna(False).astype(bool)
    return out


def _finish(entity: Entity, parsed: dict[str, pd.Series], ok: pd.Series) -> pd.DataFrame:
    """The parsed columns of the readable rows as the entity's frame, each column converted once and without
    the frame-wide copies (a million-line batch is held several times over otherwise)."""
    rows = ok.to_numpy()
    keep = None if rows.all() else rows
    columns = {}
    for name, dtype in entity.dtypes.items():
        column = parsed.pop(name)
        if keep is not None:
            column = column[keep]
        columns[name] = column.astype(dtype).reset_index(drop=True)
    for name in SOURCE_COLUMNS:
        if name in parsed:
            column = parsed.pop(name)
            columns[name] = (column[keep] if keep is not None else column).reset_index(drop=True)
    return pd.DataFrame(columns, copy=False)


def normalize(batch: RawBatch, taxonomy: Taxonomy, pseudonym_key: bytes) -> Canonical:
    """Parse one raw batch into canonical frames; unreadable rows become quarantine rows."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ids") as pool:
        return _normalize(batch, taxonomy, pseudonym_key, _mint_ids_beside(pool, batch))


def _mint_ids_beside(pool: ThreadPoolExecutor, batch: RawBatch) -> tuple[Future, Future, Future]:
    """The order, line and refund ids of the batch, minted on a second core while the frames are parsed:
    minting is a SHA-1 per distinct key in Python, parsing mostly Arrow's kernels, which let go of the GIL."""
    acc = batch.account_id
    return (
        pool.submit(
            key_uids,
            "order",
            acc,
            batch.orders["external_order_id"],
            batch.order_lines["external_order_id"],
            batch.refunds["external_order_id"],
        ),
        pool.submit(
            key_uids, "line", acc, batch.order_lines["external_line_id"], batch.refunds["external_line_id"]
        ),
        pool.submit(key_uids, "refund", acc, batch.refunds["external_refund_id"]),
    )


def _normalize(
    batch: RawBatch, taxonomy: Taxonomy, pseudonym_key: bytes, ids: tuple[Future, Future, Future]
) -> Canonical:
    acc, channel = batch.account_id, batch.channel
    order_ids, line_ids, refund_ids = ids

    quarantined: list[pd.DataFrame] = []

    def run(entity: Entity, raw: pd.DataFrame, key_col: str, extra) -> tuple[dict[str, pd.Series], pd.Series]:
        raw = raw.reset_index(drop=True)
        errors = _Errors(raw.index)
        for column in raw.columns:  # Postgres stores no NUL in text: that row is held back, not the batch
            if not column.startswith("_") and pd.api.types.is_string_dtype(raw[column]):
                errors.add(column, contains_nul(raw[column]), NUL_REASON)
        parsed = _parse(raw, entity, errors, raw.get("currency"))
        for column in SOURCE_COLUMNS:  # a file's rows keep their file and line for every later quarantine
            if column in raw:
                parsed[column] = raw[column]
        extra(raw, parsed, errors)
        ok = ~errors.failed
        amount = parsed.get("amount_minor")
        quarantined.append(
            quarantine_rows(
                raw,
                errors.failed,
                account_id=acc,
                entity=entity.name,
                key_column=key_col,
                field=errors.field,
                reason=errors.reason,
                check="parse",
                amount_minor=amount,
            )
        )
        return parsed, ok

    def orders_extra(raw, parsed, errors) -> None:
        parsed["account_id"] = pd.Series(acc, index=raw.index, dtype="string")
        parsed["channel"] = pd.Series(channel, index=raw.index, dtype="string")
        model = raw["fulfillment_channel"].map(FULFILLMENT).astype("string")
        errors.add("fulfillment_model", model.isna(), "not one of AFN, MFN, store")
        parsed["fulfillment_model"] = model
        parsed["buyer_ref"] = pseudonymize(raw["buyer_email"], pseudonym_key)

    def lines_extra(raw, parsed, errors) -> None:
        parsed["account_id"] = pd.Series(acc, index=raw.index, dtype="string")
        errors.add("order_uid", raw["external_order_id"].isna(), "missing order reference")

    def refunds_extra(raw, parsed, errors) -> None:
        acc_col = pd.Series(acc, index=raw.index)
        errors.add("line_uid", raw["external_line_id"].isna(), "missing order line reference")
        errors.add("order_uid", raw["external_order_id"].isna(), "missing order reference")
        parsed["account_id"] = acc_col.astype("string")
        parsed["channel"] = pd.Series(channel, index=raw.index, dtype="string")
        parsed["raw_reason"] = raw["reason"].astype("string")
        parsed["reason"] = taxonomy.normalize_reasons(channel, raw["reason"])
        parsed["disposition"] = taxonomy.normalize_dispositions(channel, raw["disposition"])

    orders, orders_ok = run(ORDERS, batch.orders, "external_order_id", orders_extra)
    lines, lines_ok = run(ORDER_LINES, batch.order_lines, "external_line_id", lines_extra)
    refunds, refunds_ok = run(REFUND_LINES, batch.refunds, "external_refund_id", refunds_extra)
    # every frame is parsed: the ids minted meanwhile join them
    orders["order_uid"], lines["order_uid"], refunds["order_uid"] = order_ids.result()
    lines["line_uid"], refunds["line_uid"] = line_ids.result()
    (refunds["refund_uid"],) = refund_ids.result()
    if batch.rejects:
        rejects = pd.DataFrame(batch.rejects).assign(account_id=acc, check_name="parse")
        if "amount" in rejects:  # a rejected row's own amount, where it reads: the money identity holds it
            text = rejects["amount"].astype("string")
            rejects["amount_minor"] = parse_minor(text, rejects["currency"].astype("string"))[0]
        quarantined.append(rejects.reindex(columns=list(QUARANTINE.dtypes)).astype(QUARANTINE.dtypes))
    quarantine = pd.concat([q for q in quarantined if len(q)] or [empty_quarantine()], ignore_index=True)
    return Canonical(
        _finish(ORDERS, orders, orders_ok),
        _finish(ORDER_LINES, lines, lines_ok),
        _finish(REFUND_LINES, refunds, refunds_ok),
        quarantine.astype(QUARANTINE.dtypes),
    )
