"""Amazon Selling Partner API: LWA auth, the client, the payload mapper and the side tables.

Connection: login = the LWA client id, password = the LWA client secret, extra ``refresh_token``; optional
extra ``endpoint`` and ``token_url`` (a sandbox or a test server). The account names its ``region`` (NA, EU,
FE) and its marketplaces in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from acorn.channels.amazon.auth import LwaCredentials
from acorn.channels.amazon.client import SpApiClient, SpApiOptions
from acorn.channels.amazon.mapper import to_raw
from acorn.channels.amazon.marketplaces import MARKETPLACES, REGIONS
from acorn.channels.amazon.reimbursements import reimbursements
from acorn.channels.amazon.settlement import settlement_refunds
from acorn.channels.base import Channel, ChannelAccount, ConnectionFields, FetchRequest
from acorn.channels.payloads import PayloadLog
from acorn.errors import ConfigError

CONNECTION = ConnectionFields(
    required=("login", "password"),
    required_extras=("refresh_token",),
    secret_extras=("refresh_token", "client_secret", "access_token"),
)


def fetch(request: FetchRequest) -> PayloadLog:
    account = request.account
    conn = CONNECTION.check(request.connection, account)
    creds = LwaCredentials(
        conn.login or "",
        conn.password or "",
        str(conn.extra["refresh_token"]),
        **({"token_url": conn.extra["token_url"]} if conn.extra.get("token_url") else {}),
    )
    client = SpApiClient(
        creds,
        region=account.region or "NA",
        label=request.label(),
        endpoint=conn.extra.get("endpoint"),
        policy=request.retry,
        options=SpApiOptions.from_account(account.extra),
        on_secret=request.on_secret,
        log=request.received,
    )
    with closing(client):
        return client.fetch(account.marketplaces, request.start, request.end, now=request.now)


def side_tables(account: ChannelAccount, log: PayloadLog) -> dict[str, pd.DataFrame]:
    """Amazon reports settlements and reimbursements beside orders and refunds."""
    return {
        "settlement_refunds": settlement_refunds(account, log),
        "reimbursements": reimbursements(account, log),
    }


def account_rules(raw: Mapping[str, Any], source: str, where: str, drop_root: Path | None) -> dict[str, str]:
    """An Amazon account names its region and marketplaces of that region; each settles in its own currency."""
    region = raw.get("region")
    if region not in REGIONS:
        raise ConfigError(source, f"region must be one of {sorted(REGIONS)}", field=f"{where}.region")
    unknown = set(raw["marketplaces"]) - REGIONS[region]
    if unknown:
        raise ConfigError(source, f"{sorted(unknown)} not in region {region}", field=f"{where}.marketplaces")
    return {str(m): MARKETPLACES[m][1] for m in raw["marketplaces"]}


CHANNEL = Channel(
    "amazon", fetch, to_raw, side_tables=side_tables, account_rules=account_rules, connection=CONNECTION
)
