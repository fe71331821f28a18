"""Shopify Admin GraphQL API (pinned version): orders updated in the interval, with their refunds.

One paginated ``orders`` query (cursor pagination, sorted by ``UPDATED_AT``) brings each order with its line
items, fulfillments and refunds (refund line items, shipping refunds, transactions, the return with its
reasons and restocking fees). Shopify's cost-based throttle is respected before it bites: when the bucket
(``extensions.cost.throttleStatus``) holds less than the last query cost, the client waits for it to refill
at ``restoreRate``; a ``THROTTLED`` answer is retried after the wait it implies.

Mapping notes: Shopify reports a refund line net of its discounts, so ``principal`` is the refunded subtotal
and ``promotion`` is 0; shipping is per order, so it is put on the order's first line (and a shipping refund
on the refund's first line); ``category`` is the product type; the amount is what the refund's successful
REFUND transactions moved. A refund without a return is returnless.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pandas as pd

from acorn.channels.accounts import ChannelAccount
from acorn.channels.raw import RawBatch, amount_text, reject
from acorn.connectors.amazon.client import iso
from acorn.connectors.http import ChannelError, CredentialError, RetryPolicy, send
from acorn.connectors.payloads import PayloadLog

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


ZERO = Decimal(0)


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
        for owner_id, name, conn in _connections(order):
            seen: set[str] = set()
            page = (conn or {}).get("pageInfo") or {}
            while page.get("hasNextPage") and page.get("endCursor") and page["endCursor"] not in seen:
                seen.add(page["endCursor"])
                variables = {"id": owner_id, "after": page["endCursor"]}
                body = self.query(variables, more_query(name), "graphql:more", f"more {name}")
                page = (((body.get("data") or {}).get("node") or {}).get(name) or {}).get("pageInfo") or {}


def _id(gid: str | None) -> str | None:
    """``gid://shopify/Order/123`` -> ``123``."""
    return gid.rsplit("/", 1)[-1] if gid else None


def _money(bag: Any, side: str = "shopMoney") -> tuple[Decimal | None, str | None]:
    """An amount of a MoneyBag: the shop's currency, or with ``side="presentmentMoney"`` the buyer's."""
    money = (bag or {}).get(side) or {}
    amount = money.get("amount")
    return (Decimal(str(amount)) if amount is not None else None), money.get("currencyCode")


def _nodes(conn: Any) -> list[dict[str, Any]]:
    return list((conn or {}).get("nodes") or [])


def window(log: PayloadLog) -> tuple[str, str] | None:
    """The interval a fetch asked for, as the ISO text it sent (None for logs of before it was kept)."""
    found = next(log.of("window"), None)
    if found is None:
        return None
    data = found.json()
    return data["start"], data["end"]


def _instant(text: str | None) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(text) if text else None
    except ValueError:
        return None


def _within(text: str | None, interval: tuple[pd.Timestamp, pd.Timestamp] | None) -> bool:
    """Whether a time lies in the interval; a time that does not read is kept for normalize to report."""
    at = _instant(text)
    return interval is None or at is None or interval[0] <= at < interval[1]


def _connections(order: dict[str, Any]) -> Iterator[tuple[str | None, str, dict[str, Any] | None]]:
    """(owner id, list name, the list) of each nested list of an order that Shopify pages."""
    yield order.get("id"), "lineItems", order.get("lineItems")
    for refund in order.get("refunds") or []:
        for name in ("refundLineItems", "refundShippingLines", "transactions"):
            yield refund.get("id"), name, refund.get(name)
        returned = refund.get("return") or {}
        yield returned.get("id"), "returnLineItems", returned.get("returnLineItems")


def _more_pages(log: PayloadLog) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The further pages of nested lists, by (owner id, list name, the cursor they were asked from)."""
    pages: dict[tuple[str, str, str], dict[str, Any]] = {}
    for p in log.of("graphql:more"):
        _, _, _, name, variables = p.request.split(" ", 4)  # POST graphql more <list> <variables>
        asked = json.loads(variables)
        try:
            pages[(asked["id"], name, asked["after"])] = p.json()["data"]["node"][name]
        except (KeyError, TypeError):
            continue  # an answer without the page: the list stays cut, and its order is held back
    return pages


def _join_pages(order: dict[str, Any], pages: dict[tuple[str, str, str], dict[str, Any]]) -> None:
    """Append to each cut nested list of ``order`` the pages read after it, in cursor order."""
    for owner_id, name, conn in _connections(order):
        page = (conn or {}).get("pageInfo") or {}
        while conn is not None and page.get("hasNextPage"):
            more = pages.get((str(owner_id), name, str(page.get("endCursor"))))
            if more is None:
                break
            conn["nodes"] = [*_nodes(conn), *_nodes(more)]
            page = conn["pageInfo"] = more.get("pageInfo") or {}


def _truncated(node: dict[str, Any]) -> str | None:
    """The nested list of an order still cut after its further pages were joined (a page not read)."""
    lists = [("lineItems", node.get("lineItems"))]
    for refund in node.get("refunds") or []:
        lists += [
            (f"refunds.{k}", refund.get(k))
            for k in ("refundLineItems", "refundShippingLines", "transactions")
        ]
        lists.append(("refunds.return.returnLineItems", (refund.get("return") or {}).get("returnLineItems")))
    return next(
        (name for name, conn in lists if ((conn or {}).get("pageInfo") or {}).get("hasNextPage")), None
    )


def to_raw(account: ChannelAccount, log: PayloadLog) -> RawBatch:
    """Map the orders pages; the last version of an order seen wins (an order can move between pages).

    Only refunds created in the fetch's interval are this batch's: a refund of an earlier interval on an
    order updated since was that interval's, and is counted (``outside_interval``), not read again. An order
    whose nested lists hold more than one page is held back whole, with its refunds' money, not read in part.
    """
    shop = account.marketplaces[0]
    asked = window(log)
    interval = (pd.Timestamp(asked[0]), pd.Timestamp(asked[1])) if asked else None
    nodes: dict[str, dict[str, Any]] = {}
    rejects: list[dict[str, Any]] = []
    pages = _more_pages(log)
    for p in log.of("graphql:orders"):
        try:
            found = p.json()["data"]["orders"]["nodes"]
        except (KeyError, TypeError):
            name = f"payload #{p.seq} ({p.kind} {p.request})"
            rejects.append(
                reject("payloads", name, 0, None, "data.orders.nodes", "missing", {"body": p.body[:2000]})
            )
            continue
        for node in found:
            _join_pages(node, pages)
            nodes[str(node.get("id"))] = node
    orders, lines, refunds = [], [], []
    outside = 0
    for node in nodes.values():
        order_id = _id(node.get("id"))
        mine = [r for r in node.get("refunds") or [] if _within(r.get("createdAt"), interval)]
        outside += sum(len(_nodes(r.get("refundLineItems"))) or 1 for r in node.get("refunds") or []) - sum(
            len(_nodes(r.get("refundLineItems"))) or 1 for r in mine
        )
        if not mine and not _within(node.get("updatedAt"), interval):
            continue  # changed after the interval, and nothing of it refunded in it: a later batch's
        cut = _truncated(node)
        if cut:
            reason = f"{cut} holds more than one page: the order is not read in part"
            rejects.append(reject("orders", "orders query", 0, order_id, cut, reason, {"id": node.get("id")}))
            for refund in mine:
                moved, ccy = _moved(refund)
                rejects.append(
                    reject("refund_lines", "orders query", 0, _id(refund.get("id")), cut, reason, refund,
                           amount=amount_text(moved, ccy), currency=ccy)
                )  # fmt: skip
            continue
        total, currency = _money(node.get("totalPriceSet"))
        orders.append(
            {
                "external_order_id": order_id,
                "marketplace": shop,
                "purchased_at": node.get("createdAt"),
                "currency": node.get("currencyCode") or currency,
                "fulfillment_channel": "store",
                "ship_method": "SELLER_LABEL",
                "buyer_email": node.get("email"),
                "order_total": amount_text(total, currency),
            }
        )
        fulfillment = (node.get("fulfillments") or [{}])[0]
        order_shipping, _ = _money(node.get("totalShippingPriceSet"))
        for i, item in enumerate(_nodes(node.get("lineItems"))):
            principal, ccy = _money(item.get("originalTotalSet"))
            discount, _ = _money(item.get("totalDiscountSet"))
            tax = sum((_money(t.get("priceSet"))[0] or ZERO for t in item.get("taxLines") or []), ZERO)
            lines.append(
                {
                    "external_line_id": _id(item.get("id")),
                    "external_order_id": order_id,
                    "sku": item.get("sku"),
                    "category": ((item.get("product") or {}).get("productType") or "unknown").lower(),
                    "quantity": item.get("quantity"),
                    "currency": ccy,
                    "principal": amount_text(principal, ccy),
                    "shipping": amount_text((order_shipping or ZERO) if i == 0 else ZERO, ccy),
                    "tax": amount_text(tax, ccy),
                    "promotion": amount_text(discount or ZERO, ccy),
                    "referral_fee": amount_text(ZERO, ccy),
                    "shipped_at": fulfillment.get("createdAt"),
                    "delivered_at": fulfillment.get("deliveredAt"),
                    "shipped_late": "false",
                }
            )
        for refund in mine:
            refunds += _refund_rows(shop, order_id, refund)
    batch = RawBatch.from_records(account.id, account.channel, orders, lines, refunds, rejects=rejects)
    batch.outside_interval = outside
    return batch


def _moved(refund: dict[str, Any]) -> tuple[Decimal, str | None]:
    """What a refund's successful REFUND transactions moved, and in which currency."""
    done = [
        _money(t.get("amountSet"))
        for t in _nodes(refund.get("transactions"))
        if t.get("kind") == "REFUND" and t.get("status") == "SUCCESS"
    ]
    return sum((m[0] or ZERO for m in done), ZERO), next((m[1] for m in done if m[1]), None)


def _refund_rows(shop: str, order_id: str | None, refund: dict[str, Any]) -> list[dict[str, Any]]:
    ret = refund.get("return")
    returned = {
        _id(((r.get("fulfillmentLineItem") or {}).get("lineItem") or {}).get("id")): r
        for r in _nodes((ret or {}).get("returnLineItems"))
    }
    items = _nodes(refund.get("refundLineItems"))

    def amounts(side: str) -> list[tuple[Decimal | None, ...]]:
        """Per refund line in one side's money: subtotal, shipping, tax, restocking fee, amount, currency."""
        shipping = sum(
            (
                _money(s.get("subtotalAmountSet"), side)[0] or ZERO
                for s in _nodes(refund.get("refundShippingLines"))
            ),
            ZERO,
        )
        moved = [
            _money(t.get("amountSet"), side)[0] or ZERO
            for t in _nodes(refund.get("transactions"))
            if t.get("kind") == "REFUND" and t.get("status") == "SUCCESS"
        ]
        out = []
        for i, item in enumerate(items):
            subtotal, ccy = _money(item.get("subtotalSet"), side)
            tax, _ = _money(item.get("totalTaxSet"), side)
            back = returned.get(_id((item.get("lineItem") or {}).get("id")))
            restocking, _ = _money(((back or {}).get("restockingFee") or {}).get("amountSet"), side)
            ship = shipping if i == 0 else ZERO
            computed = (subtotal or ZERO) + ship + (tax or ZERO) - (restocking or ZERO)
            # the money moved is known per refund; with one line it is that line's amount
            amount = sum(moved, ZERO) if len(items) == 1 and moved else computed
            out.append((subtotal, ship, tax, restocking, amount, ccy))
        return out

    rows = []
    buyer = amounts("presentmentMoney")
    for item, (subtotal, ship, tax, restocking, amount, ccy), paid in zip(
        items, amounts("shopMoney"), buyer, strict=True
    ):
        line_id = _id((item.get("lineItem") or {}).get("id"))
        back = returned.get(line_id)
        rows.append(
            {
                "external_refund_id": _id(item.get("id")),
                "external_line_id": line_id,
                "external_order_id": order_id,
                "marketplace": shop,
                "event_type": "REFUND",
                "refunded_at": refund.get("createdAt"),
                "currency": ccy,
                "quantity": item.get("quantity"),
                "principal": amount_text(subtotal, ccy),
                "shipping": amount_text(ship, ccy),
                "tax": amount_text(tax, ccy),
                "promotion": amount_text(ZERO, ccy),
                "restocking_fee": amount_text(restocking or ZERO, ccy),
                "amount": amount_text(amount, ccy),
                # the buyer's side where Shopify gives it (a shop selling in several currencies)
                "presentment_currency": paid[5],
                "presentment_amount": amount_text(paid[4], paid[5]) if paid[5] else None,
                "reason": (back or {}).get("returnReason"),
                "disposition": item.get("restockType") if ret else None,
                "returnless": "false" if ret else "true",
                "return_received_at": ret.get("closedAt") if ret else None,
            }
        )
    if not items:
        shipping = sum(
            (
                _money(s.get("subtotalAmountSet"))[0] or ZERO
                for s in _nodes(refund.get("refundShippingLines"))
            ),
            ZERO,
        )
        moved = [
            _money(t.get("amountSet"))[0] or ZERO
            for t in _nodes(refund.get("transactions"))
            if t.get("kind") == "REFUND" and t.get("status") == "SUCCESS"
        ]
        # a refund of shipping or an adjustment only: no line to hang it on; it is quarantined (missing order
        # line reference) with its money and the record, never dropped
        ccy = next((_money(t.get("amountSet"))[1] for t in _nodes(refund.get("transactions"))), None)
        rows.append(
            {
                "external_refund_id": _id(refund.get("id")),
                "external_order_id": order_id,
                "marketplace": shop,
                "event_type": "REFUND",
                "refunded_at": refund.get("createdAt"),
                "currency": ccy,
                "shipping": amount_text(shipping, ccy),
                "amount": amount_text(sum(moved, ZERO), ccy),
            }
        )
    return rows
