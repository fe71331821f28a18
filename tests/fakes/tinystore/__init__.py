"""A sixth channel, whole: a store whose API answers one JSON document of refunded lines per interval.

It exists to show what adding a channel takes: this package and one line in ``registry.CHANNELS``. The
"API" is the account's ``extra["answers"]`` (the refunds the store would send); what was asked and with
which token is recorded in ``ASKED``, as a fake server records its requests.
"""

from __future__ import annotations

import json

from acorn.channels.base import Channel, ChannelAccount, ConnectionFields, FetchRequest
from acorn.channels.payloads import PayloadLog
from acorn.channels.raw import RawBatch

CONNECTION = ConnectionFields(required=("password",))
#: (account id, interval start, token) of every fetch
ASKED: list[tuple[str, str, str]] = []


def fetch(request: FetchRequest) -> PayloadLog:
    conn = CONNECTION.check(request.connection, request.account)
    ASKED.append((request.account.id, request.start.isoformat(), conn.password or ""))
    log = request.received if request.received is not None else PayloadLog()
    body = {"refunds": request.account.extra.get("answers", [])}
    log.add("refunds", f"GET /refunds?since={request.start.isoformat()}", 200, json.dumps(body))
    return log


def to_raw(account: ChannelAccount, log: PayloadLog) -> RawBatch:
    orders, lines, refunds = [], [], []
    for payload in log.of("refunds"):
        for r in payload.json()["refunds"]:
            order, line = f"o-{r['id']}", f"l-{r['id']}"
            orders.append(
                {
                    "external_order_id": order,
                    "marketplace": account.marketplaces[0],
                    "purchased_at": r["sold_at"],
                    "currency": account.currency,
                    "fulfillment_channel": "store",
                    "ship_method": "standard",
                    "buyer_email": r["buyer"],
                    "order_total": r["paid"],
                }
            )
            lines.append(
                {
                    "external_line_id": line,
                    "external_order_id": order,
                    "sku": r["sku"],
                    "category": "home",
                    "quantity": "1",
                    "currency": account.currency,
                    "principal": r["paid"],
                    "shipping": "0",
                    "tax": "0",
                    "promotion": "0",
                    "referral_fee": "0",
                    "shipped_at": r["sold_at"],
                    "delivered_at": r["sold_at"],
                    "shipped_late": "false",
                }
            )
            refunds.append(
                {
                    "external_refund_id": f"r-{r['id']}",
                    "external_line_id": line,
                    "external_order_id": order,
                    "marketplace": account.marketplaces[0],
                    "event_type": "REFUND",
                    "refunded_at": r["refunded_at"],
                    "currency": account.currency,
                    "quantity": "1",
                    "principal": r["refunded"],
                    "shipping": "0",
                    "tax": "0",
                    "promotion": "0",
                    "restocking_fee": "0",
                    "amount": r["refunded"],
                    "reason": r["reason"],
                    "returnless": "true",
                }
            )
    return RawBatch.from_records(account.id, account.channel, orders, lines, refunds)


CHANNEL = Channel("tinystore", fetch, to_raw, connection=CONNECTION)
