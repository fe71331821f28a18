"""Magento 2 / Adobe Commerce REST: the client (credit memos of the interval with their orders and
shipments) and the mapper.

Connection: host = the store's base URL, password = an integration's access token (bearer); optional extra
``store_code`` (default ``default``) and ``endpoint`` (a test server).
"""

from __future__ import annotations

from contextlib import closing

from acorn.channels.base import Channel, ConnectionFields, FetchRequest
from acorn.channels.magento.client import MagentoClient
from acorn.channels.magento.mapper import to_raw
from acorn.channels.payloads import PayloadLog

CONNECTION = ConnectionFields(required=("host", "password"))


def fetch(request: FetchRequest) -> PayloadLog:
    conn = CONNECTION.check(request.connection, request.account)
    store_code = str(conn.extra.get("store_code", "default"))
    with closing(
        MagentoClient(
            conn.host or "", conn.password or "", label=request.label(), store_code=store_code,
            policy=request.retry, endpoint=conn.extra.get("endpoint"), log=request.received,
        )
    ) as client:  # fmt: skip
        return client.fetch(request.start, request.end)


CHANNEL = Channel("magento", fetch, to_raw, connection=CONNECTION)
