"""CSV import for any other store: the documented template, dropped as files into a folder.

No connection: the account names its drop folder (``folder``, inside ACORN_DROP_ROOT) and how to read it
(``pattern``, ``encoding``, ``delimiter``, ``decimal_comma``, ``timezone``, ``max_bytes``,
``max_interval_bytes``); see :class:`acorn.channels.csv.files.CsvOptions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acorn.channels.base import Channel, ChannelAccount, FetchRequest, store_currency
from acorn.channels.csv import files
from acorn.channels.payloads import PayloadLog
from acorn.channels.raw import RawBatch
from acorn.errors import ConfigError

#: per account in the landing area: the drop-folder files each interval took (``TakenFiles``)
TAKEN_FILES = "csv_files_taken"


def fetch(request: FetchRequest) -> PayloadLog:
    """The drop folder's files for the interval, each taken once (the ledger sits beside the batch folder)."""
    landing = request.landing
    taken = files.TakenFiles(landing.parent / TAKEN_FILES, landing.name) if landing is not None else None
    return files.fetch(files.CsvOptions.from_account(request.account), request.start, request.end, taken)


def to_raw(account: ChannelAccount, log: PayloadLog) -> RawBatch:
    return files.to_raw(account, log, files.CsvOptions.from_account(account))


def account_rules(raw: Mapping[str, Any], source: str, where: str, drop_root: Path | None) -> dict[str, str]:
    """A store currency, and for a live account a drop folder inside the drop root and a file name pattern:
    an account setting never makes the worker read any other file."""
    currencies = store_currency(raw, source, where, drop_root)
    if raw.get("source", "live") != "live":
        return currencies
    folder, pattern = raw.get("folder"), str(raw.get("pattern", "*.csv"))
    if not isinstance(folder, str) or not folder:
        raise ConfigError(source, "a csv account needs its drop folder", field=f"{where}.folder")
    if "/" in pattern or "\\" in pattern or ".." in pattern:
        raise ConfigError(source, "a file name pattern, without folders or '..'", field=f"{where}.pattern")
    if drop_root is not None and not Path(folder).resolve().is_relative_to(Path(drop_root).resolve()):
        raise ConfigError(
            source,
            f"{folder} is outside the drop root {drop_root} (ACORN_DROP_ROOT): drop folders live under it",
            field=f"{where}.folder",
        )
    return currencies


CHANNEL = Channel("csv", fetch, to_raw, account_rules=account_rules, connection=None)
