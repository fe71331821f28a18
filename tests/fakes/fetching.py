"""Ask an account's channel for an interval, as the pipeline does, without a landing folder."""

from __future__ import annotations

from datetime import datetime

from acorn.channels import registry
from acorn.channels.base import ChannelAccount, ConnectionInfo, FetchRequest
from acorn.channels.http import RetryPolicy
from acorn.channels.payloads import PayloadLog


def fetch(
    account: ChannelAccount,
    conn: ConnectionInfo | None,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    policy: RetryPolicy | None = None,
) -> PayloadLog:
    request = FetchRequest(account, start, end, as_of=end, now=now, connection=conn, retry=policy)
    return registry.reader(account).fetch(request)
