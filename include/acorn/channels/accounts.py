"""Channel accounts: which stores ACORN reads, as data validated at load.

An account is one seller login on one channel (an Amazon region, a Shopify shop, a Magento store); the
checks of a channel's own fields (an Amazon region, a CSV drop folder) are its package's. Its
credentials live in an Airflow Connection named by ``connection_id``; nothing secret is in this file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from acorn.channels import registry
from acorn.channels.base import ChannelAccount
from acorn.errors import ConfigError, read_yaml

__all__ = ["ChannelAccount", "load_accounts", "parse_accounts"]
#: account ids name landing folders, task map indexes and lock keys: a safe alphabet only
ACCOUNT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


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
        if channel not in registry.CHANNELS:
            raise ConfigError(
                source, f"channel must be one of {tuple(registry.CHANNELS)}", field=f"{where}.channel"
            )
        src = raw.get("source", "live")
        if src not in registry.SOURCES:
            raise ConfigError(
                source, f"source must be one of {tuple(registry.SOURCES)}", field=f"{where}.source"
            )
        markets = raw.get("marketplaces")
        if not isinstance(markets, list) or not markets:
            raise ConfigError(source, "list at least one marketplace", field=f"{where}.marketplaces")
        rules = registry.CHANNELS[channel]
        currencies = rules.account_rules(raw, source, where, drop_root)
        if src == "live" and rules.connection is not None and not raw.get("connection_id"):
            raise ConfigError(source, "a live account needs a connection_id", field=f"{where}.connection_id")
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
                currencies=currencies,
            )
        )
    ids = [a.id for a in accounts]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(source, f"duplicate account ids {dupes}", field="accounts")
    return accounts


def load_accounts(path: Path, *, drop_root: Path | None = None) -> list[ChannelAccount]:
    """Read and validate an accounts file."""
    return parse_accounts(read_yaml(path, "channel accounts file"), str(path), drop_root=drop_root)
