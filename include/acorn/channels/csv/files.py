"""CSV import for any other store: a documented template, dropped as files into a folder.

A run takes the files of the drop folder it has not taken yet (by name and content hash, whatever their
modification time: ``TakenFiles``), each as received. Reading is
defensive, as spreadsheet exports need, and guesses nothing: the encoding is the configured one, a byte-order
mark's, UTF-16's (every other byte NUL), UTF-8, or the one of Shift_JIS, cp1252 and ISO-8859-2 that reads
the file (a file that reads differently in two is refused); the delimiter is the one of ``, ; TAB |`` the
header holds most of; a ``;``-delimited file is read with decimal commas (``1.234,56``). A file that cannot
be read as the template (above the size limit, empty, not text, a column missing or twice) is reported whole
and the files beside it are read. A row with the wrong number of fields, an unbalanced quote (reported on its
own line: the lines after it are read), a field above 128 KiB, an id that Excel turned into
``1.23457E+15``, an order or line id repeated with other values, or a time without a zone (unless the account
names its ``timezone``) is quarantined with its file, line and field. One row is one refunded line with its
order line and order (see ``include/data/csv_template``).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import pyarrow as pa

from acorn.channels.base import ChannelAccount
from acorn.channels.payloads import PayloadLog
from acorn.channels.raw import (
    RAW_LINE_COLUMNS,
    RAW_ORDER_COLUMNS,
    RAW_REFUND_COLUMNS,
    RawBatch,
    control_totals,
    reject,
    with_rejected_amounts,
)
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
    "refund_tax_withheld": ("refunds", "tax_withheld"),
    "refund_amount": ("refunds", "amount"),
    "reason": ("refunds", "reason"),
    "disposition": ("refunds", "disposition"),
    "returnless": ("refunds", "returnless"),
    "return_received_at": ("refunds", "return_received_at"),
}
COLUMN_OF = {mapped: column for column, mapped in TEMPLATE.items()}
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
    "refund_tax_withheld": "0",
    "disposition": "",
    "returnless": "false",
    "return_received_at": "",
}
MONEY = {
    c
    for c, (_, raw) in TEMPLATE.items()
    if raw
    in {
        "order_total",
        "principal",
        "shipping",
        "tax",
        "promotion",
        "restocking_fee",
        "tax_withheld",
        "amount",
    }
}
IDS = ("order_id", "line_id", "refund_id")
TIMES = ("order_date", "shipped_at", "delivered_at", "refunded_at", "return_received_at")
ZONE_SUFFIX = re.compile(r"(Z|[+-]\d{2}(:?\d{2})?)$", re.IGNORECASE)
EXCEL_NUMBER = re.compile(r"^\d(\.\d+)?E\+\d+$", re.IGNORECASE)
LEGACY_ENCODINGS = ("shift_jis", "cp1252", "iso8859_2")
BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
C1_CONTROLS = re.compile("[\x80-\x9f]")
#: no value of the template is longer; a longer field is a broken row (the csv module's own limit)
FIELD_LIMIT = 128 * 1024
DECODE_BLOCK = 4 * 2**20
DELIMITERS = (",", ";", "\t", "|")
log_ = logging.getLogger(__name__)


@dataclass(frozen=True)
class CsvOptions:
    """Per account (``extra`` of the channel account): the drop folder and how to read it."""

    folder: str
    pattern: str = "*.csv"
    max_bytes: int = 200 * 2**20
    #: what one run reads at most; the files past it are left for the next run (oldest files first)
    max_interval_bytes: int = 512 * 2**20
    encoding: str | None = None
    delimiter: str | None = None
    decimal_comma: bool | None = None
    #: IANA zone of times written without one ("Europe/Berlin"); unset, such a time is refused
    timezone: str | None = None

    @classmethod
    def from_account(cls, account: ChannelAccount) -> CsvOptions:
        extra = account.extra
        if not extra.get("folder"):
            raise ConfigError(
                f"channel account {account.id}", "a csv account needs its drop folder", field="folder"
            )
        known = {
            k: extra[k]
            for k in (
                "folder",
                "pattern",
                "max_bytes",
                "max_interval_bytes",
                "encoding",
                "delimiter",
                "decimal_comma",
                "timezone",
            )
            if k in extra
        }
        if known.get("timezone"):
            try:
                ZoneInfo(str(known["timezone"]))
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"channel account {account.id}",
                    f"{known['timezone']!r} is not an IANA time zone (for example Europe/Berlin)",
                    field="timezone",
                ) from None
        return cls(**known)


@dataclass(frozen=True)
class TakenFiles:
    """Which files of a drop folder were taken, by name and content, and by which interval: a small JSON
    marker per file in the account's landing folder (``root``; a local folder or an object store). A file is
    taken once whatever its modification time (``cp -p``, ``rsync -t`` and unzip keep an old one); the same
    name with other content is a new file (a corrected export); a re-run of an interval takes what it took
    before. A marker is also kept per name, size and modification time, so that a file already taken is not
    read again to be recognized."""

    root: Any  # acorn.landing.PathLike
    interval: str

    def _marker(self, kind: str, *parts: object) -> Any:
        key = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]
        return self.root / f"{kind}-{key}.json"

    def _read(self, marker: Any) -> dict[str, Any] | None:
        if not marker.exists():
            return None
        with marker.open("r") as fh:
            return json.load(fh)

    def _write(self, marker: Any, entry: dict[str, Any]) -> None:
        with marker.open("w") as fh:
            json.dump(entry, fh)

    def by_stat(self, name: str, size: int, mtime_ns: int) -> dict[str, Any] | None:
        """The entry of a file seen before with this name, size and modification time."""
        return self._read(self._marker("stat", name, size, mtime_ns))

    def by_content(self, name: str, digest: str) -> dict[str, Any] | None:
        return self._read(self._marker("content", name, digest))

    def record(self, name: str, size: int, mtime_ns: int, digest: str, interval: str) -> None:
        entry = {"file": name, "bytes": size, "sha256": digest, "interval": interval}
        self._write(self._marker("content", name, digest), entry)
        self._write(self._marker("stat", name, size, mtime_ns), entry)


def fetch(options: CsvOptions, start: datetime, end: datetime, taken: TakenFiles | None = None) -> PayloadLog:
    """The files of the drop folder for ``[start, end)``, oldest first, as received; a file above
    ``max_bytes`` is logged, not read. With ``taken``: every file no other interval took that arrived before
    ``end``, up to ``max_interval_bytes`` in all (the files past it are left untaken, for the next run, and
    logged as deferred). Without: the files whose modification time lies in the interval (past the cap they are
    refused). Two runs of one account at the same time may both take a new file; its rows are loaded once
    (the load upserts by id)."""
    log = PayloadLog()
    lo, hi = start.timestamp(), end.timestamp()
    folder = Path(options.folder).resolve()
    if taken is not None:
        taken.root.mkdir(parents=True, exist_ok=True)
    files = [p for p in folder.glob(options.pattern) if p.resolve().is_relative_to(folder) and p.is_file()]
    # a link out of the drop folder, or a folder, is never read
    taken_bytes = 0
    for path, stat in sorted(((p, p.stat()) for p in files), key=lambda f: (f[1].st_mtime_ns, f[0].name)):
        if taken is None and not lo <= stat.st_mtime < hi:
            continue
        if taken is not None:
            if stat.st_mtime >= hi:
                continue  # arrived after the interval: a later run's
            seen = taken.by_stat(path.name, stat.st_size, stat.st_mtime_ns)
            if seen is not None and seen["interval"] != taken.interval:
                continue
        too_large = stat.st_size > options.max_bytes
        if not too_large and taken_bytes and taken_bytes + stat.st_size > options.max_interval_bytes:
            note = {"file": path.name, "bytes": stat.st_size, "taken_bytes": taken_bytes}
            note.update(limit=options.max_interval_bytes, next_run=taken is not None)
            log.add("csv:deferred", path.name, 429, json.dumps(note))
            log_.warning(
                "csv %s: %d bytes would take this run past max_interval_bytes (%d): %s",
                path.name,
                stat.st_size,
                options.max_interval_bytes,
                "left for the next run" if taken is not None else "refused",
            )
            continue
        data = b"" if too_large else path.read_bytes()
        if taken is not None:
            digest = f"size:{stat.st_size}" if too_large else hashlib.sha256(data).hexdigest()
            seen = taken.by_content(path.name, digest)
            first = seen["interval"] if seen is not None else taken.interval
            taken.record(path.name, stat.st_size, stat.st_mtime_ns, digest, first)
            if first != taken.interval:
                continue  # the same file again (touched, copied back): taken by that interval
        taken_bytes += len(data)
        if too_large:
            note = json.dumps({"file": path.name, "bytes": stat.st_size, "limit": options.max_bytes})
            log.add("csv:too_large", path.name, 413, note)
            continue
        log.add("csv", path.name, 200, data, binary=True)
    return log


class FileRefused(Exception):
    """A file ACORN cannot read as the template: reported whole (field ``(file)`` or the column), the other
    files of the interval are still read."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def _decodes(data: bytes, encoding: str) -> str | None:
    """A digest of ``data``'s text in ``encoding``, or None where it has none: undecodable bytes, or C1
    control characters, which no export means (they are what the other single-byte encodings' letters
    become). Decoded a block at a time: the file's text is never held whole."""
    decoder = codecs.getincrementaldecoder(encoding)()
    digest = hashlib.blake2b(digest_size=16)
    for at in range(0, len(data) or 1, DECODE_BLOCK):
        try:
            text = decoder.decode(data[at : at + DECODE_BLOCK], final=at + DECODE_BLOCK >= len(data))
        except UnicodeDecodeError:
            return None
        if C1_CONTROLS.search(text):
            return None
        digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _first_undecodable(data: bytes, encoding: str) -> int | None:
    """The offset of the first byte that is not ``encoding``, if any."""
    decoder = codecs.getincrementaldecoder(encoding)()
    for at in range(0, len(data) or 1, DECODE_BLOCK):
        try:
            decoder.decode(data[at : at + DECODE_BLOCK], final=at + DECODE_BLOCK >= len(data))
        except UnicodeDecodeError as exc:
            return at + exc.start
    return None


def detect_encoding(data: bytes, configured: str | None = None) -> str:
    """The file's encoding: as configured; else a byte-order mark (UTF-8, UTF-16); UTF-16 without one (every
    other byte NUL); valid UTF-8; else the one of Shift_JIS, cp1252 and ISO-8859-2 that reads the file, or
    several that read it alike. A file that reads differently in two of them is refused: which text it holds
    would be a guess (ISO-8859-2's ``ł`` is cp1252's ``³``)."""
    if configured:
        return configured
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return encoding
    head = data[:4096]
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4 and not head[0::2].count(0):
        return "utf-16-le"
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 4 and not head[1::2].count(0):
        return "utf-16-be"
    if _decodes(data, "utf-8") is not None:
        return "utf-8"
    readings = {enc: text for enc in LEGACY_ENCODINGS if (text := _decodes(data, enc)) is not None}
    if len(set(readings.values())) == 1:
        return next(iter(readings))
    if not readings:
        raise FileRefused(
            "encoding", f"none of UTF-8, {', '.join(LEGACY_ENCODINGS)}; set the account's encoding"
        )
    raise FileRefused(
        "encoding",
        f"not UTF-8, and it reads differently as {' and '.join(readings)}; set the account's encoding",
    )


def _decimal_comma(value: str) -> str:
    """``1.234,56`` -> ``1234.56`` (thousands dots dropped, the comma made the decimal point)."""
    return value.replace(".", "").replace(",", ".") if "," in value else value


def _text(data: bytes, encoding: str) -> io.TextIOWrapper:
    """The file's text, decoded as it is read (line ends as written)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")


def _read(data: bytes, options: CsvOptions) -> tuple[str, str, list[str], Iterator[Record]]:
    """Encoding, delimiter, header and the records of one file, read as a stream; a file that cannot be read
    is refused."""
    encoding = detect_encoding(data, options.encoding)
    bad = _first_undecodable(data, encoding)
    if bad is not None:
        raise FileRefused("encoding", f"not {encoding} (byte {bad}); set the account's encoding")
    text = _text(data, encoding)
    header_line = text.readline().removeprefix("\ufeff")
    # the header names the template's columns, so the delimiter is the candidate it holds most of
    delimiter = options.delimiter or max(DELIMITERS, key=header_line.split("\n", 1)[0].count)
    header = [h.strip().lower() for h in next(csv.reader([header_line], delimiter=delimiter), [])]
    return encoding, delimiter, header, _records(text, delimiter, len(data), lambda: _text(data, encoding))


#: one record after the header: its first line in the file, its fields, and what makes it unreadable
Record = tuple[int, list[str], str | None]


def _records(
    text: io.TextIOBase, delimiter: str, size: int, reopen: Callable[[], io.TextIOBase]
) -> Iterator[Record]:
    """Every record after the header (``text`` stands after it). No value of the template spans lines, so a
    record the csv module reads over several lines is an unbalanced quote that swallowed the lines after it:
    each of those lines is read on its own instead (from a second reading of the file, ``reopen``), and the
    lines with the odd quote are reported. A field above ``FIELD_LIMIT`` characters is reported on its row;
    the csv module would refuse the whole file."""
    previous = csv.field_size_limit(max(FIELD_LIMIT, size) + 1)
    try:
        reader = csv.reader(text, delimiter=delimiter)
        lines: Iterator[tuple[int, str]] | None = None
        last = 1
        for fields in reader:
            first, last = last + 1, reader.line_num + 1
            if last > first and any("\n" in v or "\r" in v for v in fields):
                lines = lines or enumerate(reopen(), start=1)
                for number, line in lines:
                    if number >= first:
                        yield _line_alone(number, line, delimiter)
                    if number == last:
                        break
                continue
            yield first, fields, _too_long(fields)
    finally:
        csv.field_size_limit(previous)


def _line_alone(number: int, line: str, delimiter: str) -> Record:
    fields = next(csv.reader([line], delimiter=delimiter), [])
    if line.count('"') % 2:
        return number, fields, "an unbalanced quote: the line cannot be split into fields"
    return number, fields, _too_long(fields)


def _too_long(fields: list[str]) -> str | None:
    longest = max((len(v) for v in fields), default=0)
    if longest > FIELD_LIMIT:
        return f"a field of {longest} characters (the limit is {FIELD_LIMIT})"
    return None


def _check_header(header: list[str]) -> None:
    if not header or header == [""]:
        raise FileRefused("(file)", "empty file: no header row and no data; nothing read from it")
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        at = [i + 1 for i, h in enumerate(header) if h == repeated[0]]
        raise FileRefused(
            repeated[0], f"appears {len(at)} times in the header (columns {at}); which one holds it?"
        )
    missing = [c for c in TEMPLATE if c not in header and c not in DEFAULTS]
    if missing:
        more = f" (and {len(missing) - 1} more: {', '.join(missing[1:4])})" if len(missing) > 1 else ""
        raise FileRefused(missing[0], f"required column missing{more}; see the template")


def _zoned(value: str, zone: ZoneInfo | None) -> tuple[str, str | None]:
    """A time as given if it has a zone; without one, read in the account's ``timezone``, or refused."""
    if not value or ZONE_SUFFIX.search(value):
        return value, None
    if zone is None:
        return value, f"no time zone in {value!r}: add one (Z, +01:00) or set the account's timezone"
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone).isoformat(), None
    except ValueError:
        return value, None  # not a time at all: normalize reports it


def to_raw(account: ChannelAccount, log: PayloadLog, options: CsvOptions | None = None) -> RawBatch:
    """Map every file of the log: one template row -> an order, an order line and a refund line.

    A file that cannot be read as the template is reported whole and the others are read; a row that cannot
    be mapped without a guess (fields that do not line up, an id Excel rewrote, an order or line id repeated
    with other values, a time without a zone) is reported with its file, line and field."""
    options = options or CsvOptions(folder="")
    zone = ZoneInfo(options.timezone) if options.timezone else None
    frames = {
        "orders": _Rows(RAW_ORDER_COLUMNS, check_repeats=True),
        "order_lines": _Rows(RAW_LINE_COLUMNS, check_repeats=True),
        "refunds": _Rows(RAW_REFUND_COLUMNS),
    }
    rejects: list[dict[str, Any]] = []
    for p in log.payloads:
        if p.kind == "csv:deferred" and not json.loads(p.body)["next_run"]:
            info = json.loads(p.body)
            reason = (
                f"this run already read {info['taken_bytes']} bytes; {info['bytes']} more would pass "
                f"max_interval_bytes ({info['limit']})"
            )
            rejects.append(_reject(info["file"], 0, None, "(file)", reason, {"file": info["file"]}))
            continue
        if p.kind == "csv:too_large":
            info = json.loads(p.body)
            reason = f"file of {info['bytes']} bytes is above the limit of {info['limit']}; split it"
            rejects.append(_reject(info["file"], 0, None, "(file)", reason, {"file": info["file"]}))
            continue
        if p.kind != "csv":
            continue
        try:
            encoding, delimiter, header, records = _read(p.content(), options)
            _check_header(header)
        except FileRefused as exc:
            rejects.append(_reject(p.request, 0, None, exc.field, exc.reason, {"file": p.request}))
            continue
        source = f"{p.request} ({encoding})"
        comma = options.decimal_comma if options.decimal_comma is not None else delimiter == ";"
        seen: dict[str, dict[str, int]] = {"orders": {}, "order_lines": {}}
        for number, values, problem in records:
            if problem is None and not any(v.strip() for v in values):
                continue
            record = dict(zip(header, values, strict=False))
            if problem or len(values) != len(header):
                reason = problem or f"{len(values)} fields where the header has {len(header)}"
                rejects.append(
                    _reject(source, number, record.get("refund_id"), "(row)", reason, record, split=False)
                )
                continue
            bad = _row_problem(record, zone)
            if bad is None:
                out = _split(record, comma, zone)
                bad = _repeats(out, seen, number, frames)
            if bad is not None:
                rejects.append(_reject(source, number, record.get("refund_id"), *bad, record))
                continue
            for entity, row in out.items():
                frames[entity].append(row, source, number)
    orders = frames["orders"].frame(unique="external_order_id")
    lines = frames["order_lines"].frame(unique="external_line_id")
    refunds = frames["refunds"].frame()
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


def _row_problem(record: dict[str, str], zone: ZoneInfo | None) -> tuple[str, str] | None:
    """(field, reason) of what keeps a row that splits into fields from being mapped, if anything."""
    bad_id = next((c for c in IDS if EXCEL_NUMBER.match(record.get(c, "").strip())), None)
    if bad_id:
        return bad_id, "looks like a number Excel rewrote (1.23E+15): the id is lost; export ids as text"
    for column in TIMES:
        _, problem = _zoned(record.get(column, "").strip(), zone)
        if problem:
            return column, problem
    return None


def _split(record: dict[str, str], comma: bool, zone: ZoneInfo | None) -> dict[str, dict[str, Any]]:
    """One template row as the raw order, order line and refund it holds."""
    out: dict[str, dict[str, Any]] = {"orders": {}, "order_lines": {}, "refunds": {}}
    for column, (entity, raw_name) in TEMPLATE.items():
        value = record.get(column, DEFAULTS.get(column, "")).strip()
        if comma and column in MONEY:
            value = _decimal_comma(value)
        if column in TIMES:
            value, _ = _zoned(value, zone)
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
    return out


def _repeats(
    out: dict[str, dict[str, Any]], seen: dict[str, dict[str, int]], number: int, frames: dict[str, _Rows]
) -> tuple[str, str] | None:
    """A row may repeat an order or an order line of an earlier row (several refunded lines, several refunds
    of one line) only with the same values: otherwise its refund would be joined to the other row's line.
    An id's first row is remembered by where it is kept (its values' digest beside it), not by its values."""
    for entity, key, column in (
        ("orders", "external_order_id", "order_id"),
        ("order_lines", "external_line_id", "line_id"),
    ):
        row = out[entity]
        if row[key] is None:
            continue
        rows = frames[entity]
        first = seen[entity].get(row[key])
        if first is not None and rows.digest(first) != _digest(row):
            kept = rows.row(first)
            differs = next(k for k in row if row[k] != kept.get(k))
            differs = COLUMN_OF.get((entity, differs), differs)
            return (
                column,
                f"{row[key]} repeats line {kept['_source_row']}'s {entity[:-1].replace('_', ' ')} with "
                f"another {differs}",
            )
    for entity, key in (("orders", "external_order_id"), ("order_lines", "external_line_id")):
        if out[entity][key] is not None:  # the row is kept: it is the first of its ids not seen before
            seen[entity].setdefault(out[entity][key], len(frames[entity]))
    return None


def _digest(row: dict[str, Any]) -> bytes:
    return hashlib.blake2b("\x1f".join(map(repr, row.values())).encode(), digest_size=16).digest()


class _Rows:
    """The rows of one contract frame, gathered column by column and packed into Arrow text a block at a time:
    a file's rows never live as Python objects beyond one block, and the frame is the blocks (not a copy)."""

    BLOCK = 32_768

    def __init__(self, columns: list[str], *, check_repeats: bool = False) -> None:
        self.check_repeats = check_repeats
        self.columns = [*columns, "_source_file", "_source_row"]
        self.blocks: dict[str, list[pa.Array]] = {c: [] for c in self.columns}
        self.open: dict[str, list[Any]] = {c: [] for c in self.columns}
        self.count = 0
        self.digests = bytearray()  # 16 bytes per row, where repeats are checked

    def __len__(self) -> int:
        return self.count

    def append(self, row: dict[str, Any], source: str, number: int) -> None:
        for column in self.columns[:-2]:
            self.open[column].append(row.get(column))
        self.open["_source_file"].append(source)
        self.open["_source_row"].append(number)
        if self.check_repeats:
            self.digests += _digest(row)
        self.count += 1
        if len(self.open["_source_row"]) == self.BLOCK:
            self._pack()

    def _pack(self) -> None:
        for column, values in self.open.items():
            kind = pa.int64() if column == "_source_row" else pa.large_string()
            self.blocks[column].append(pa.array(values, type=kind))
        self.open = {c: [] for c in self.columns}

    def digest(self, index: int) -> bytes:
        return bytes(self.digests[16 * index : 16 * index + 16])

    def row(self, index: int) -> dict[str, Any]:
        """The values of the ``index``-th row appended (a missing value as None)."""
        block, at = divmod(index, self.BLOCK)
        if block == len(self.blocks["_source_row"]):
            return {c: self.open[c][at] for c in self.columns}
        return {c: self.blocks[c][block][at].as_py() for c in self.columns}

    def frame(self, unique: str | None = None) -> pd.DataFrame:
        """The contract frame, each row with its file and line; an order (or line) that several rows repeat is
        kept once, from its first row."""
        if self.open["_source_row"] or not self.blocks["_source_row"]:
            self._pack()
        columns = {c: pa.chunked_array(self.blocks.pop(c)) for c in self.columns}
        frame = pd.DataFrame(
            {
                c: pd.arrays.ArrowStringArray(v) if c != "_source_row" else v.to_numpy()
                for c, v in columns.items()
            },
            columns=self.columns,
        )
        if unique is not None and len(frame):
            frame = frame.drop_duplicates(subset=[unique], keep="first")
        return frame.reset_index(drop=True)


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
