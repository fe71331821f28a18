"""CSV import for any other store: a documented template, dropped as files into a folder.

A run takes the files that arrived in its interval (by modification time), each as received. Reading is
defensive, as spreadsheet exports need: the encoding is detected (UTF-8, UTF-8 with BOM, cp1252, Shift_JIS;
or set per account) and recorded; the delimiter is the one of ``, ; TAB |`` the header holds most of; a ``;``-delimited file is read
with decimal commas (``1.234,56``); a file above the size limit is refused whole and reported; a row with the
wrong number of fields, or an id that Excel turned into ``1.23457E+15``, is quarantined with its file, line
and field. One row is one refunded line with its order line and order (see ``include/data/csv_template``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import charset_normalizer
import pandas as pd

from acorn.channels.accounts import ChannelAccount
from acorn.channels.raw import (
    RAW_LINE_COLUMNS,
    RAW_ORDER_COLUMNS,
    RAW_REFUND_COLUMNS,
    RawBatch,
    control_totals,
    reject,
    with_rejected_amounts,
)
from acorn.connectors.http import PayloadError
from acorn.connectors.payloads import PayloadLog
from acorn.errors import ConfigError

#: template column -> (entity, raw contract column); the order of the template's header
TEMPLATE: dict[str, tuple[str, str]] = {
    "order_id": ("orders", "external_order_id"),
    "order_date": ("orders", "purchased_at"),
    "marketplace": ("orders", "marketplace"),
    "currency": ("orders", "currency"),
    "fulfillment": ("orders", "fulfillment_channel"),
    "buyer_email": ("orders", "buyer_email"),
    "order_total": ("orders", "order_total"),
    "line_id": ("order_lines", "external_line_id"),
    "sku": ("order_lines", "sku"),
    "category": ("order_lines", "category"),
    "quantity": ("order_lines", "quantity"),
    "line_principal": ("order_lines", "principal"),
    "line_shipping": ("order_lines", "shipping"),
    "line_tax": ("order_lines", "tax"),
    "line_promotion": ("order_lines", "promotion"),
    "shipped_at": ("order_lines", "shipped_at"),
    "delivered_at": ("order_lines", "delivered_at"),
    "refund_id": ("refunds", "external_refund_id"),
    "refunded_at": ("refunds", "refunded_at"),
    "refund_quantity": ("refunds", "quantity"),
    "refund_principal": ("refunds", "principal"),
    "refund_shipping": ("refunds", "shipping"),
    "refund_tax": ("refunds", "tax"),
    "refund_promotion": ("refunds", "promotion"),
    "restocking_fee": ("refunds", "restocking_fee"),
    "refund_amount": ("refunds", "amount"),
    "reason": ("refunds", "reason"),
    "disposition": ("refunds", "disposition"),
    "returnless": ("refunds", "returnless"),
    "return_received_at": ("refunds", "return_received_at"),
}
#: columns a file may leave out, and the value they take
DEFAULTS = {
    "fulfillment": "store",
    "buyer_email": "",
    "line_shipping": "0",
    "line_tax": "0",
    "line_promotion": "0",
    "delivered_at": "",
    "refund_shipping": "0",
    "refund_tax": "0",
    "refund_promotion": "0",
    "restocking_fee": "0",
    "disposition": "",
    "returnless": "false",
    "return_received_at": "",
}
MONEY = {
    c
    for c, (_, raw) in TEMPLATE.items()
    if raw in {"order_total", "principal", "shipping", "tax", "promotion", "restocking_fee", "amount"}
}
IDS = ("order_id", "line_id", "refund_id")
EXCEL_NUMBER = re.compile(r"^\d(\.\d+)?E\+\d+$", re.IGNORECASE)
ENCODINGS = ("shift_jis", "cp1252")
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CsvOptions:
    """Per account (``extra`` of the channel account): the drop folder and how to read it."""

    folder: str
    pattern: str = "*.csv"
    max_bytes: int = 200 * 2**20
    encoding: str | None = None
    delimiter: str | None = None
    decimal_comma: bool | None = None

    @classmethod
    def from_account(cls, account: ChannelAccount) -> CsvOptions:
        extra = account.extra
        if not extra.get("folder"):
            raise ConfigError(
                f"channel account {account.id}", "a csv account needs its drop folder", field="folder"
            )
        known = {
            k: extra[k]
            for k in ("folder", "pattern", "max_bytes", "encoding", "delimiter", "decimal_comma")
            if k in extra
        }
        return cls(**known)


def fetch(options: CsvOptions, start: datetime, end: datetime) -> PayloadLog:
    """The files that arrived in ``[start, end)``, as received; a file above the limit is logged, not read."""
    log = PayloadLog()
    lo, hi = start.timestamp(), end.timestamp()
    folder = Path(options.folder).resolve()
    for path in sorted(folder.glob(options.pattern)):
        if not path.resolve().is_relative_to(folder) or not path.is_file():
            continue  # a link out of the drop folder, or a folder: never read
        stat = path.stat()
        if not lo <= stat.st_mtime < hi:
            continue
        if stat.st_size > options.max_bytes:
            note = json.dumps({"file": path.name, "bytes": stat.st_size, "limit": options.max_bytes})
            log.add("csv:too_large", path.name, 413, note)
            continue
        log.add("csv", path.name, 200, path.read_bytes(), binary=True)
    return log


def detect_encoding(data: bytes, configured: str | None = None) -> str:
    """The file's encoding: as configured, else BOM or valid UTF-8, else the likelier of Shift_JIS and cp1252."""
    if configured:
        return configured
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data, cp_isolation=list(ENCODINGS)).best()
    return best.encoding if best is not None else "cp1252"


def _decimal_comma(value: str) -> str:
    """``1.234,56`` -> ``1234.56`` (thousands dots dropped, the comma made the decimal point)."""
    return value.replace(".", "").replace(",", ".") if "," in value else value


def _read(payload_name: str, data: bytes, options: CsvOptions) -> tuple[str, str, list[str], list[list[str]]]:
    encoding = detect_encoding(data, options.encoding)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise PayloadError(
            f"file {payload_name}",
            "encoding",
            f"not {encoding} (byte {exc.start}); set the account's encoding",
        ) from None
    # the header names the template's columns, so the delimiter is the candidate it holds most of
    first_line = text.split("\n", 1)[0]
    delimiter = options.delimiter or max(DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader, [])]  # an empty file has no header
        rows = list(reader)
    except csv.Error as exc:
        raise PayloadError(
            f"file {payload_name}", f"line {reader.line_num}", f"not readable as CSV: {exc}"
        ) from None
    return encoding, delimiter, header, rows


def to_raw(account: ChannelAccount, log: PayloadLog, options: CsvOptions | None = None) -> RawBatch:
    """Map every file of the log: one template row -> an order, an order line and a refund line."""
    options = options or CsvOptions(folder="")
    frames: dict[str, list[dict[str, Any]]] = {"orders": [], "order_lines": [], "refunds": []}
    rejects: list[dict[str, Any]] = []
    for p in log.payloads:
        if p.kind == "csv:too_large":
            info = json.loads(p.body)
            rejects.append(
                _reject(
                    info["file"],
                    0,
                    None,
                    "(file)",
                    f"file of {info['bytes']} bytes is above the limit of {info['limit']}; split it",
                    {"file": info["file"]},
                )
            )
            continue
        if p.kind != "csv":
            continue
        encoding, delimiter, header, rows = _read(p.request, p.content(), options)
        source = f"{p.request} ({encoding})"
        if not header:
            reason = "empty file: no header row and no data; nothing read from it"
            rejects.append(_reject(p.request, 0, None, "(file)", reason, {"file": p.request}))
            continue
        missing = [c for c in TEMPLATE if c not in header and c not in DEFAULTS]
        if missing:
            raise PayloadError(
                f"file {p.request}",
                missing[0],
                f"required column missing (and {len(missing) - 1} more); see the template",
            )
        comma = options.decimal_comma if options.decimal_comma is not None else delimiter == ";"
        for number, values in enumerate(rows, start=2):
            if not any(v.strip() for v in values):
                continue
            record = dict(zip(header, values, strict=False))
            if len(values) != len(header):
                rejects.append(
                    _reject(
                        source,
                        number,
                        record.get("refund_id"),
                        "(row)",
                        f"{len(values)} fields where the header has {len(header)}",
                        record,
                        split=False,
                    )
                )
                continue
            bad_id = next((c for c in IDS if EXCEL_NUMBER.match(record.get(c, "").strip())), None)
            if bad_id:
                rejects.append(
                    _reject(
                        source,
                        number,
                        record.get("refund_id"),
                        bad_id,
                        "looks like a number Excel rewrote (1.23E+15): the id is lost; export ids as text",
                        record,
                    )
                )
                continue
            out: dict[str, dict[str, Any]] = {"orders": {}, "order_lines": {}, "refunds": {}}
            for column, (entity, raw_name) in TEMPLATE.items():
                value = record.get(column, DEFAULTS.get(column, "")).strip()
                if comma and column in MONEY:
                    value = _decimal_comma(value)
                out[entity][raw_name] = value or None
            out["order_lines"]["external_order_id"] = out["orders"]["external_order_id"]
            out["order_lines"]["currency"] = out["orders"]["currency"]
            out["order_lines"]["referral_fee"] = "0"
            out["order_lines"]["shipped_late"] = "false"
            out["orders"]["ship_method"] = "SELLER_LABEL"
            out["refunds"].update(
                external_line_id=out["order_lines"]["external_line_id"],
                external_order_id=out["orders"]["external_order_id"],
                marketplace=out["orders"]["marketplace"],
                currency=out["orders"]["currency"],
                event_type="REFUND",
            )
            for entity, row in out.items():
                frames[entity].append({**row, "_source_file": source, "_source_row": number})
    orders = _frame(frames["orders"], RAW_ORDER_COLUMNS, "external_order_id")
    lines = _frame(frames["order_lines"], RAW_LINE_COLUMNS, "external_line_id")
    refunds = _frame(frames["refunds"], RAW_REFUND_COLUMNS, None)
    return RawBatch(
        account_id=account.id,
        channel=account.channel,
        orders=orders,
        order_lines=lines,
        refunds=refunds,
        control_totals=control_totals(with_rejected_amounts(refunds, rejects)),
        rejects=rejects,
        event_window=False,
    )


def _frame(rows: list[dict[str, Any]], columns: list[str], unique: str | None) -> pd.DataFrame:
    """Template rows -> a contract frame that keeps each row's file and line; an order (or line) that several
    rows repeat is kept once, from its first row."""
    frame = pd.DataFrame(rows, columns=[*columns, "_source_file", "_source_row"])
    if unique is not None and len(frame):
        frame = frame.drop_duplicates(subset=[unique], keep="first")
    text = frame[columns].astype("string")
    text["_source_file"] = frame["_source_file"].astype("string")
    text["_source_row"] = frame["_source_row"].astype("int64")
    return text.reset_index(drop=True)


def _reject(
    file: str,
    line: int,
    key: str | None,
    field: str,
    reason: str,
    record: dict[str, Any],
    *,
    split: bool = True,
) -> dict[str, Any]:
    """A row held back as a whole; where its fields lined up with the header (``split``), it still counts
    with its refund amount and currency. A row with fields missing or extra has no field one can trust."""
    amount = (record.get("refund_amount") or "").strip() if split else ""
    currency = (record.get("currency") or "").strip() if split else ""
    return reject(
        "csv_rows", file, line, key, field, reason, record, amount=amount or None, currency=currency or None
    )
