"""One entry point for the live channels: build the client from a connection, fetch, and map.

The connection arrives as a plain :class:`ConnectionInfo` (the Airflow hook in ``plugins/`` builds it from an
Airflow Connection), so this package never imports Airflow. What each channel expects in it:

==========  ===========================  ==================================  ==========================================
channel     login                        password                            extra
==========  ===========================  ==================================  ==========================================
amazon      LWA client id                LWA client secret                   ``refresh_token``; optional ``endpoint``,
                                                                             ``token_url`` (a sandbox or test server)
shopify     (unused)                     Admin API access token              optional ``endpoint``
magento     (unused)                     integration access token (bearer)   optional ``store_code`` (default)
csv         no connection: the drop folder is the account's ``folder``
==========  ===========================  ==================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from acorn.channels.accounts import ChannelAccount
from acorn.channels.raw import RawBatch
from acorn.connectors import csv_import, magento, redact, shopify
from acorn.connectors.amazon import mapper as amazon_mapper
from acorn.connectors.amazon.auth import LwaCredentials
from acorn.connectors.amazon.client import SpApiClient, SpApiOptions
from acorn.connectors.amazon.reimbursements import reimbursements
from acorn.connectors.amazon.settlement import settlement_refunds
from acorn.connectors.http import RetryPolicy
from acorn.connectors.payloads import PayloadLog
from acorn.errors import ConfigError

#: extra fields that are secrets (masked like the password)
SECRET_EXTRAS = ("refresh_token", "client_secret", "access_token")


@dataclass(frozen=True)
class ConnectionInfo:
    conn_id: str
    host: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


def _need(
    conn: ConnectionInfo | None, account: ChannelAccount, attrs: tuple[str, ...], extras: tuple[str, ...] = ()
) -> ConnectionInfo:
    """The connection, with the fields the channel needs filled in; else an error naming the missing one."""
    if conn is None:
        raise ConfigError(f"channel account {account.id}", "needs a connection", field="connection_id")
    where = f"connection '{conn.conn_id}' (account {account.id})"
    for name in attrs:
        if not getattr(conn, name):
            raise ConfigError(where, "missing", field=name)
    for name in extras:
        if not conn.extra.get(name):
            raise ConfigError(where, "missing", field=f"extra.{name}")
    return conn


def label(account: ChannelAccount) -> str:
    return f"channel account {account.id} (connection '{account.connection_id}')"


def fetch(
    account: ChannelAccount,
    conn: ConnectionInfo | None,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    policy: RetryPolicy | None = None,
    on_secret: Callable[[str], None] | None = None,
    received: PayloadLog | None = None,
    taken: csv_import.TakenFiles | None = None,
) -> PayloadLog:
    """Ask the account's channel for ``[start, end)``; every response is in the returned log, as received.

    A live client writes each response into ``received`` as it arrives, so that a caller still holds what came
    before a failure midway."""
    if account.channel == "csv":
        return csv_import.fetch(csv_import.CsvOptions.from_account(account), start, end, taken)
    if conn is not None:
        redact.register(conn.password, *(str(conn.extra.get(k) or "") for k in SECRET_EXTRAS))
    if account.channel == "amazon":
        conn = _need(conn, account, ("login", "password"), ("refresh_token",))
        creds = LwaCredentials(
            conn.login or "",
            conn.password or "",
            str(conn.extra["refresh_token"]),
            **({"token_url": conn.extra["token_url"]} if conn.extra.get("token_url") else {}),
        )
        client = SpApiClient(
            creds,
            region=account.region or "NA",
            label=label(account),
            endpoint=conn.extra.get("endpoint"),
            policy=policy,
            options=SpApiOptions.from_account(account.extra),
            on_secret=on_secret,
            log=received,
        )
        try:
            return client.fetch(account.marketplaces, start, end, now=now)
        finally:
            client.close()
    if account.channel == "shopify":
        conn = _need(conn, account, ("password",))
        shop_client = shopify.ShopifyClient(
            conn.host or account.marketplaces[0],
            conn.password or "",
            label=label(account),
            endpoint=conn.extra.get("endpoint"),
            policy=policy,
            log=received,
        )
        try:
            return shop_client.fetch(start, end)
        finally:
            shop_client.close()
    if account.channel == "magento":
        conn = _need(conn, account, ("host", "password"))
        store = magento.MagentoClient(
            conn.host or "",
            conn.password or "",
            label=label(account),
            store_code=str(conn.extra.get("store_code", "default")),
            policy=policy,
            endpoint=conn.extra.get("endpoint"),
            log=received,
        )
        try:
            return store.fetch(start, end)
        finally:
            store.close()
    raise ConfigError(
        f"channel account {account.id}", f"no connector for channel {account.channel!r}", field="channel"
    )


#: warehouse tables some channels feed beside the refunds (loaded as they come, not validated by GX)
SIDE_TABLES = ("settlement_refunds", "reimbursements")


def side_tables(account: ChannelAccount, log: PayloadLog) -> dict[str, pd.DataFrame]:
    """What a channel reports beside orders and refunds: Amazon's settlements and reimbursements."""
    if account.channel == "amazon":
        return {
            "settlement_refunds": settlement_refunds(account, log),
            "reimbursements": reimbursements(account, log),
        }
    return {}


def to_raw(account: ChannelAccount, log: PayloadLog) -> RawBatch:
    """Map a payload log (just fetched, or read back from the landing area for a replay)."""
    if account.channel == "amazon":
        return amazon_mapper.to_raw(account, log)
    if account.channel == "shopify":
        return shopify.to_raw(account, log)
    if account.channel == "magento":
        return magento.to_raw(account, log)
    if account.channel == "csv":
        return csv_import.to_raw(account, log, csv_import.CsvOptions.from_account(account))
    raise ConfigError(
        f"channel account {account.id}", f"no connector for channel {account.channel!r}", field="channel"
    )
