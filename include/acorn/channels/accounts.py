"""Channel accounts: which stores ACORN reads, as data validated at load.

An account is one seller login on one channel (an Amazon region, a Shopify shop, a Magento store). Its
credentials live in an Airflow Connection named by ``connection_id``; nothing secret is in this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acorn.errors import ConfigError, read_yaml
from acorn.money import CURRENCY_EXPONENT
from acorn.schema import CHANNELS

#: Amazon marketplaces: code -> (sales channel, currency, time zone).
AMAZON_MARKETPLACES: dict[str, tuple[str, str, str]] = {
    "US": ("Amazon.com", "USD", "America/Los_Angeles"),
    "CA": ("Amazon.ca", "CAD", "America/Los_Angeles"),
    "MX": ("Amazon.com.mx", "MXN", "America/Mexico_City"),
    "UK": ("Amazon.co.uk", "GBP", "Europe/London"),
    "DE": ("Amazon.de", "EUR", "Europe/Berlin"),
    "FR": ("Amazon.fr", "EUR", "Europe/Paris"),
    "IT": ("Amazon.it", "EUR", "Europe/Rome"),
    "ES": ("Amazon.es", "EUR", "Europe/Madrid"),
    "JP": ("Amazon.co.jp", "JPY", "Asia/Tokyo"),
}
AMAZON_REGIONS = {"NA": {"US", "CA", "MX"}, "EU": {"UK", "DE", "FR", "IT", "ES"}, "FE": {"JP"}}
SOURCES = ("demo", "live")
#: account ids name landing folders, task map indexes and lock keys: a safe alphabet only
ACCOUNT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class ChannelAccount:
    id: str
    channel: str
    source: str
    marketplaces: tuple[str, ...]
    region: str | None = None
    currency: str | None = None
    connection_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def currency_of(self, marketplace: str) -> str:
        """Settlement currency of one of this account's marketplaces."""
        if self.channel == "amazon":
            return AMAZON_MARKETPLACES[marketplace][1]
        assert self.currency is not None
        return self.currency


def parse_accounts(data: Any, source: str, *, drop_root: Path | None = None) -> list[ChannelAccount]:
    """Validate the accounts document; every error names ``source`` and the field.

    With ``drop_root`` (ACORN_DROP_ROOT), a CSV account's folder must lie inside it and its pattern may
    name files of that folder only: an account setting never makes the worker read any other file.
    """
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
        raise ConfigError(source, "expected a mapping with a list under 'accounts'")
    accounts: list[ChannelAccount] = []
    for i, raw in enumerate(data["accounts"]):
        where = f"accounts[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(source, "expected a mapping", field=where)
        acc_id = raw.get("id")
        if not isinstance(acc_id, str) or not acc_id:
            raise ConfigError(source, "missing id", field=f"{where}.id")
        if not ACCOUNT_ID.match(acc_id):
            raise ConfigError(
                source,
                f"{acc_id!r} is not a valid account id: lower-case letters, digits, '-' and '_', at most 63",
                field=f"{where}.id",
            )
        where = f"accounts[{acc_id}]"
        channel = raw.get("channel")
        if channel not in CHANNELS:
            raise ConfigError(source, f"channel must be one of {CHANNELS}", field=f"{where}.channel")
        src = raw.get("source", "live")
        if src not in SOURCES:
            raise ConfigError(source, f"source must be one of {SOURCES}", field=f"{where}.source")
        markets = raw.get("marketplaces")
        if not isinstance(markets, list) or not markets:
            raise ConfigError(source, "list at least one marketplace", field=f"{where}.marketplaces")
        if channel == "amazon":
            region = raw.get("region")
            if region not in AMAZON_REGIONS:
                raise ConfigError(
                    source, f"region must be one of {sorted(AMAZON_REGIONS)}", field=f"{where}.region"
                )
            unknown = set(markets) - AMAZON_REGIONS[region]
            if unknown:
                raise ConfigError(
                    source, f"{sorted(unknown)} not in region {region}", field=f"{where}.marketplaces"
                )
        elif raw.get("currency") not in CURRENCY_EXPONENT:
            raise ConfigError(
                source, f"currency must be one of {sorted(CURRENCY_EXPONENT)}", field=f"{where}.currency"
            )
        if src == "live" and channel != "csv" and not raw.get("connection_id"):
            raise ConfigError(source, "a live account needs a connection_id", field=f"{where}.connection_id")
        if src == "live" and channel == "csv":
            _check_drop_folder(raw, source, where, drop_root)
        known = {"id", "channel", "source", "marketplaces", "region", "currency", "connection_id"}
        accounts.append(
            ChannelAccount(
                id=acc_id,
                channel=channel,
                source=src,
                marketplaces=tuple(str(m) for m in markets),
                region=raw.get("region"),
                currency=raw.get("currency"),
                connection_id=raw.get("connection_id"),
                extra={k: v for k, v in raw.items() if k not in known},
            )
        )
    ids = [a.id for a in accounts]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(source, f"duplicate account ids {dupes}", field="accounts")
    return accounts


def _check_drop_folder(raw: dict, source: str, where: str, drop_root: Path | None) -> None:
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


def load_accounts(path: Path, *, drop_root: Path | None = None) -> list[ChannelAccount]:
    """Read and validate an accounts file."""
    return parse_accounts(read_yaml(path, "channel accounts file"), str(path), drop_root=drop_root)
