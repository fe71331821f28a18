"""Shopify Admin GraphQL API (pinned version): orders updated in the interval, with their refunds.

One paginated ``orders`` query (cursor pagination, sorted by ``UPDATED_AT``) brings each order with its line
items, fulfillments and refunds (refund line items, shipping refunds, transactions, the return with its
reasons and restocking fees). Shopify's cost-based throttle is respected before it bites: when the bucket
(``extensions.cost.throttleStatus``) holds less than the last query cost, the client waits for it to refill
at ``restoreRate``; a ``THROTTLED`` answer is retried after the wait it implies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from acorn.channels.http import ChannelError, CredentialError, RetryPolicy, iso, send
from acorn.channels.payloads import PayloadLog

API_VERSION = "2026-10"
#: shop money is what ACORN accounts in; presentment money (what the buyer paid) is kept beside it per refund line
MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
PAGE = "pageInfo { hasNextPage endCursor }"
LINE_ITEM = f"""id sku quantity product {{ productType }}
        originalTotalSet {{ {MONEY} }}
        totalDiscountSet {{ {MONEY} }}
        taxLines {{ priceSet {{ {MONEY} }} }}"""
REFUND_LINE_ITEM = f"""id quantity restockType lineItem {{ id }}
          subtotalSet {{ {MONEY} }}
          totalTaxSet {{ {MONEY} }}"""
REFUND_SHIPPING_LINE = f"subtotalAmountSet {{ {MONEY} }}"
TRANSACTION = f"kind status amountSet {{ {MONEY} }}"
RETURN_LINE_ITEM = f"""... on ReturnLineItem {{
            returnReason
            restockingFee {{ amountSet {{ {MONEY} }} }}
            fulfillmentLineItem {{ lineItem {{ id }} }}
          }}"""
#: the nested lists of an order that Shopify pages: (the type that holds it, its first page's size, a node's
#: fields); a list longer than its first page is read to its end with ``node(id:)`` (``MORE_QUERY``)
NESTED = {
    "lineItems": ("Order", 100, LINE_ITEM),
    "refundLineItems": ("Refund", 100, REFUND_LINE_ITEM),
    "refundShippingLines": ("Refund", 10, REFUND_SHIPPING_LINE),
    "transactions": ("Refund", 20, TRANSACTION),
    "returnLineItems": ("Return", 100, RETURN_LINE_ITEM),
}


def _nested(name: str) -> str:
    _, first, fields = NESTED[name]
    return f"{name}(first: {first}) {{ {PAGE} nodes {{ {fields} }} }}"


ORDERS_QUERY = f"""
query AcornOrders($first: Int!, $after: String, $query: String!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    {PAGE}
    nodes {{
      id name createdAt updatedAt currencyCode email
      totalPriceSet {{ {MONEY} }}
      totalShippingPriceSet {{ {MONEY} }}
      fulfillments {{ createdAt deliveredAt }}
      {_nested("lineItems")}
      refunds {{
        id createdAt note
        {_nested("refundLineItems")}
        {_nested("refundShippingLines")}
        {_nested("transactions")}
        orderAdjustments(first: 10) {{ nodes {{ reason amountSet {{ {MONEY} }} taxAmountSet {{ {MONEY} }} }} }}
        return {{
          id closedAt
          {_nested("returnLineItems")}
        }}
      }}
    }}
  }}
}}
"""


def more_query(name: str) -> str:
    """The rest of one nested list, a page at a time, from the cursor its last page ended at."""
    owner, first, fields = NESTED[name]
    return (
        f"query AcornMore($id: ID!, $after: String) {{ node(id: $id) {{ ... on {owner} {{ "
        f"{name}(first: {first}, after: $after) {{ {PAGE} nodes {{ {fields} }} }} }} }} }}"
    )


def nested_lists(order: dict[str, Any]) -> Iterator[tuple[str | None, str, dict[str, Any] | None]]:
    """(owner id, list name, the list) of each nested list of an order that Shopify pages."""
    yield order.get("id"), "lineItems", order.get("lineItems")
    for refund in order.get("refunds") or []:
        for name in ("refundLineItems", "refundShippingLines", "transactions"):
            yield refund.get("id"), name, refund.get(name)
        returned = refund.get("return") or {}
        yield returned.get("id"), "returnLineItems", returned.get("returnLineItems")


class ShopifyClient:
    """One shop; ``endpoint`` can point at a test server (default ``https://<shop>``)."""

    def __init__(
        self,
        shop: str,
        access_token: str,
        *,
        label: str,
        endpoint: str | None = None,
        policy: RetryPolicy | None = None,
        page_size: int = 50,
        clock: Callable[[], float] = time.monotonic,
        log: PayloadLog | None = None,
    ) -> None:
        self.url = f"{(endpoint or f'https://{shop}').rstrip('/')}/admin/api/{API_VERSION}/graphql.json"
        self.label = label
        self.policy = policy or RetryPolicy()
        self.page_size = page_size
        self.clock = clock
        self.http = httpx.Client(
            headers={"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"}
        )
        self.log = log if log is not None else PayloadLog()  # the caller keeps it if the fetch fails
        self._ready_at = 0.0

    def close(self) -> None:
        self.http.close()

    def _wait_for_bucket(self) -> None:
        wait = self._ready_at - self.clock()
        if wait > 0:
            self.policy.sleep(wait)

    def _learn_bucket(self, body: dict[str, Any]) -> float:
        """Seconds until the bucket holds the cost of another query like this one (0 when it already does)."""
        cost = (body.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        needed = float(cost.get("requestedQueryCost") or 0)
        available = float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
        wait = (needed - available) / rate if rate > 0 and available < needed else 0.0
        self._ready_at = self.clock() + wait
        return wait

    def query(
        self,
        variables: dict[str, Any],
        text: str = ORDERS_QUERY,
        kind: str = "graphql:orders",
        what: str = "orders",
    ) -> dict[str, Any]:
        """One page of a query (the orders by default), retried while Shopify answers THROTTLED (bounded)."""
        request = f"POST graphql {what} {json.dumps(variables, sort_keys=True)}"
        for _ in range(self.policy.attempts):
            response = send(
                self.http,
                "POST",
                self.url,
                what=f"{self.label} orders query",
                policy=self.policy,
                before=self._wait_for_bucket,
                json={"query": text, "variables": variables},
            )
            if response.status_code in (401, 403):
                raise CredentialError(
                    f"{self.label}: Shopify refused the access token (HTTP {response.status_code}); "
                    "reinstall the app or update the token in the connection"
                )
            if response.status_code >= 400:
                raise ChannelError(
                    f"{self.label} orders query: HTTP {response.status_code}: {response.text[:200]}"
                )
            body = json.loads(response.text, parse_float=Decimal)
            self._learn_bucket(body)
            codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
            if "THROTTLED" in codes:
                continue
            self.log.add(kind, request, response.status_code, response.text)
            if body.get("errors"):
                raise ChannelError(f"{self.label} orders query: {body['errors']}")
            return body
        raise ChannelError(
            f"{self.label} orders query: still THROTTLED after {self.policy.attempts} attempts"
        )

    def fetch(self, start: datetime, end: datetime) -> PayloadLog:
        """Orders updated since ``start``: every order refunded in ``[start, end)`` was updated then or later,
        so a past interval sees its refunds however often their orders changed since. The interval is kept
        in the log (the mapping takes the refunds created in it)."""
        self.log.add("window", "interval", 200, json.dumps({"start": iso(start), "end": iso(end)}))
        search = f"updated_at:>='{iso(start)}'"
        after = None
        while True:
            body = self.query({"first": self.page_size, "after": after, "query": search})
            for node in body["data"]["orders"]["nodes"] or []:
                self._read_nested_lists(node)
            page = body["data"]["orders"]["pageInfo"]
            if not page["hasNextPage"]:
                return self.log
            after = page["endCursor"]

    def _read_nested_lists(self, order: dict[str, Any]) -> None:
        """Each nested list of the order longer than its first page, read to its end (kept as payloads of
        kind ``graphql:more``, keyed by the list's owner and the cursor asked from; ``to_raw`` joins them)."""
        for owner_id, name, conn in nested_lists(order):
            seen: set[str] = set()
            page = (conn or {}).get("pageInfo") or {}
            while page.get("hasNextPage") and page.get("endCursor") and page["endCursor"] not in seen:
                seen.add(page["endCursor"])
                variables = {"id": owner_id, "after": page["endCursor"]}
                body = self.query(variables, more_query(name), "graphql:more", f"more {name}")
                page = (((body.get("data") or {}).get("node") or {}).get(name) or {}).get("pageInfo") or {}
