"""Shopify orders with their refunds -> ACORN's raw text frames.

Shopify reports a refund line net of its discounts, so ``principal`` is the refunded subtotal
and ``promotion`` is 0; shipping is per order, so it is put on the order's first line (and a shipping refund
on the refund's first line); ``category`` is the product type; the amount is what the refund's successful
REFUND transactions moved. A refund without a return is returnless.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pandas as pd

from acorn.channels.base import ChannelAccount
from acorn.channels.payloads import PayloadLog
from acorn.channels.raw import RawBatch, amount_text, reject
from acorn.channels.shopify.client import nested_lists

ZERO = Decimal(0)


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
    for owner_id, name, conn in nested_lists(order):
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
