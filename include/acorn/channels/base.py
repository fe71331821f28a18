"""What a channel is to the pipeline: an account on it, the connection it reads with, and one interface.

Every channel package (``acorn.channels.amazon``, ``shopify``, ``magento``, ``csv``, ``demo``) exposes one
:class:`Channel` named ``CHANNEL``, listed in :mod:`acorn.channels.registry`. The pipeline only ever goes
through that interface:

    fetch(request)          -> the payloads, each kept as received (a file, a response body)
    to_raw(account, log)    -> the raw text rows (orders, order lines, refund lines) mapped from them
    side_tables(account, log) -> what the channel reports beside refunds (Amazon's settlements, reimbursements)

``to_raw`` and ``side_tables`` read only the payload log, so any batch can be mapped again from its landing
folder. Acting on a channel (refunds and declines sent to a store) will be one more entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acorn.channels import redact
from acorn.errors import ConfigError
from acorn.money import CURRENCY_EXPONENT

if TYPE_CHECKING:  # the interface names them; importing them here would import every channel's client
    import pandas as pd

    from acorn.channels.http import RetryPolicy
    from acorn.channels.payloads import PayloadLog
    from acorn.channels.raw import RawBatch
    from acorn.landing import PathLike


@dataclass(frozen=True)
class ChannelAccount:
    """One seller login on one channel (an Amazon region, a Shopify shop, a Magento store, a drop folder)."""

    id: str
    channel: str
    source: str
    marketplaces: tuple[str, ...]
    region: str | None = None
    currency: str | None = None
    connection_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    #: settlement currency per marketplace, set from the channel's rules when the account is read
    currencies: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def currency_of(self, marketplace: str) -> str:
        """Settlement currency of one of this account's marketplaces."""
        if marketplace in self.currencies:
            return self.currencies[marketplace]
        assert self.currency is not None
        return self.currency


@dataclass(frozen=True)
class ConnectionInfo:
    """An Airflow Connection as plain fields (the hook in ``plugins/`` builds it): no Airflow import here."""

    conn_id: str
    host: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ConnectionFields:
    """What a channel needs of its connection: the fields that must be set, and the extras that are secret."""

    required: tuple[str, ...] = ()
    required_extras: tuple[str, ...] = ()
    secret_extras: tuple[str, ...] = ("refresh_token", "client_secret", "access_token")

    def check(self, conn: ConnectionInfo | None, account: ChannelAccount) -> ConnectionInfo:
        """The connection, with every field the channel needs filled in; else an error naming the missing one.

        Its secrets are registered for redaction first: whatever a channel echoes back with one in it (an error
        body, a message built from it) is masked before it is kept, raised or logged."""
        if conn is None:
            raise ConfigError(f"channel account {account.id}", "needs a connection", field="connection_id")
        redact.register(conn.password, *(str(conn.extra.get(k) or "") for k in self.secret_extras))
        where = f"connection '{conn.conn_id}' (account {account.id})"
        for name in self.required:
            if not getattr(conn, name):
                raise ConfigError(where, "missing", field=name)
        for name in self.required_extras:
            if not conn.extra.get(name):
                raise ConfigError(where, "missing", field=f"extra.{name}")
        return conn


@dataclass(frozen=True)
class FetchRequest:
    """One interval of one account, and what a channel may need to read it."""

    account: ChannelAccount
    start: datetime
    end: datetime
    #: the run's view of time: what has arrived by then (the demo generator's late events; CSV files)
    as_of: datetime
    #: wall-clock now (Amazon's reports may not be asked for the last minutes)
    now: datetime
    #: the batch's landing folder (the CSV channel keeps which files it took beside it; without: it takes all)
    landing: PathLike | None = None
    connection: ConnectionInfo | None = None
    #: a live client writes each response here as it arrives: after a failure midway, what came is kept
    received: PayloadLog | None = None
    retry: RetryPolicy | None = None
    #: called with each secret a client mints (an access token), so that the caller can mask it in logs
    on_secret: Callable[[str], None] | None = None
    #: settings a channel reads that are not the account's (the demo generator's seed and volume)
    options: Mapping[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        return f"channel account {self.account.id} (connection '{self.account.connection_id}')"


def no_side_tables(account: ChannelAccount, log: PayloadLog) -> dict[str, pd.DataFrame]:
    return {}


def store_currency(raw: Mapping[str, Any], source: str, where: str, drop_root: Path | None) -> dict[str, str]:
    """Account rules of a store channel: one settlement currency, named by ``currency``, for every marketplace."""
    if raw.get("currency") not in CURRENCY_EXPONENT:
        raise ConfigError(
            source, f"currency must be one of {sorted(CURRENCY_EXPONENT)}", field=f"{where}.currency"
        )
    return {str(m): str(raw["currency"]) for m in raw["marketplaces"]}


@dataclass(frozen=True)
class Channel:
    """A channel ACORN reads: how to fetch an interval and map what came back."""

    name: str
    fetch: Callable[[FetchRequest], PayloadLog]
    to_raw: Callable[[ChannelAccount, PayloadLog], RawBatch]
    side_tables: Callable[[ChannelAccount, PayloadLog], dict[str, pd.DataFrame]] = no_side_tables
    #: checks the channel's own fields of an accounts-file entry; returns the currency of each marketplace
    account_rules: Callable[[Mapping[str, Any], str, str, Path | None], dict[str, str]] = store_currency
    #: what a live account's connection must hold (``None``: the channel reads without one)
    connection: ConnectionFields | None = ConnectionFields(("password",))
