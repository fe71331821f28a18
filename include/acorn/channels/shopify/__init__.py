"""Shopify Admin GraphQL API: the client (orders updated in the interval, nested lists paged to their end)
and the mapper.

Connection: password = the Admin API access token; host = the shop domain (else the account's first
marketplace); optional extra ``endpoint`` (a test server).
"""

from __future__ import annotations

from contextlib import closing

from acorn.channels.base import Channel, ConnectionFields, FetchRequest
from acorn.channels.payloads import PayloadLog
from acorn.channels.shopify.client import ShopifyClient
from acorn.channels.shopify.mapper import to_raw

CONNECTION = ConnectionFields(required=("password",))


def fetch(request: FetchRequest) -> PayloadLog:
    conn = CONNECTION.check(request.connection, request.account)
    shop = conn.host or request.account.marketplaces[0]
    with closing(
        ShopifyClient(
            shop, conn.password or "", label=request.label(), endpoint=conn.extra.get("endpoint"),
            policy=request.retry, log=request.received,
        )
    ) as client:  # fmt: skip
        return client.fetch(request.start, request.end)


CHANNEL = Channel("shopify", fetch, to_raw, connection=CONNECTION)
