"""Magento credit memos, orders and shipments -> ACORN's raw text frames.

Orders are keyed by ``entity_id`` (what a credit memo's ``order_id`` refers to; the
``increment_id`` shown to buyers is not on the memo). Magento keeps no reason on a credit memo; stores write it in the memo's first comment, which is
what ACORN reads (unknown text normalizes to UNMAPPED). Items returned to stock
(``extension_attributes.return_to_stock_items``) get the disposition ``back_to_stock``; shipping and the
adjustment fee (``adjustment_negative``, the restocking fee) of a memo are put on its first item. Timestamps
are Magento's UTC ``YYYY-MM-DD HH:MM:SS``. The category comes from the account's ``sku_categories``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from acorn.channels.base import ChannelAccount
from acorn.channels.payloads import PayloadLog
from acorn.channels.raw import RawBatch, amount_text, category_of, reject

ZERO = Decimal(0)


def _iso(value: Any) -> str | None:
    """Magento's ``2026-11-20 10:11:42`` (UTC) -> ``2026-11-20T10:11:42Z``; anything else as it came."""
    if not isinstance(value, str) or not value:
        return None
    return value.replace(" ", "T") + "Z" if len(value) == 19 and value[10] == " " else value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _dec(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def _items(log: PayloadLog, kind: str, rejects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each entity of the search pages once; a page of the wrong shape is reported, the others are read."""
    found: dict[str, dict[str, Any]] = {}
    for p in log.of(kind):
        body = p.json()
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list) or "items" not in body:
            name = f"payload #{p.seq} ({p.kind} {p.request})"
            reason = "missing from the search result"
            rejects.append(reject("payloads", name, 0, None, "items", reason, {"body": p.body[:2000]}))
            continue
        for item in body["items"] or []:
            # keyed by id (a repeated page repeats ids); an item without one is kept apart, never merged
            found[_text(item.get("entity_id")) or f"#{len(found)}"] = item
    return found


def to_raw(account: ChannelAccount, log: PayloadLog) -> RawBatch:
    store = account.marketplaces[0]
    categories: dict[str, str] = account.extra.get("sku_categories", {})
    shipped: dict[str, str | None] = {}
    rejects: list[dict[str, Any]] = []
    for shipment in _items(log, "shipments", rejects).values():
        order_id = str(shipment.get("order_id"))
        shipped[order_id] = min(
            filter(None, [shipped.get(order_id), _iso(shipment.get("created_at"))]), default=None
        )
    orders, lines = [], []
    for o in _items(log, "orders", rejects).values():
        ccy = o.get("order_currency_code")
        entity = _text(o.get("entity_id"))
        orders.append(
            {
                "external_order_id": entity,
                "marketplace": store,
                "purchased_at": _iso(o.get("created_at")),
                "currency": ccy,
                "fulfillment_channel": "store",
                "ship_method": "SELLER_LABEL",
                "buyer_email": o.get("customer_email"),
                "order_total": amount_text(_dec(o.get("grand_total")), ccy),
            }
        )
        for i, item in enumerate(o.get("items") or []):
            lines.append(
                {
                    "external_line_id": _text(item.get("item_id")),
                    "external_order_id": entity,
                    "sku": item.get("sku"),
                    "category": category_of(item.get("sku"), categories),
                    "quantity": item.get("qty_ordered"),
                    "currency": ccy,
                    "principal": amount_text(_dec(item.get("row_total")), ccy),
                    "shipping": amount_text(_dec(o.get("shipping_amount")) if i == 0 else ZERO, ccy),
                    "tax": amount_text(_dec(item.get("tax_amount")), ccy),
                    "promotion": amount_text(abs(_dec(item.get("discount_amount")) or ZERO), ccy),
                    "referral_fee": amount_text(ZERO, ccy),
                    "shipped_at": shipped.get(entity),
                    "delivered_at": None,
                    "shipped_late": "false",
                }
            )
    refunds = []
    for memo in _items(log, "creditmemos", rejects).values():
        refunds += _memo_rows(store, memo)
    return RawBatch.from_records(account.id, account.channel, orders, lines, refunds, rejects=rejects)


def _memo_rows(store: str, memo: dict[str, Any]) -> list[dict[str, Any]]:
    ccy = memo.get("order_currency_code")
    comments = memo.get("comments") or []
    reason = str(comments[0].get("comment", "")).strip() or None if comments else None
    to_stock = {str(i) for i in (memo.get("extension_attributes") or {}).get("return_to_stock_items") or []}
    items = memo.get("items") or []
    rows = []
    for i, item in enumerate(items):
        principal = _dec(item.get("row_total")) or ZERO
        tax = _dec(item.get("tax_amount")) or ZERO
        promotion = abs(_dec(item.get("discount_amount")) or ZERO)
        shipping = (_dec(memo.get("shipping_amount")) or ZERO) if i == 0 else ZERO
        restocking = (_dec(memo.get("adjustment_negative")) or ZERO) if i == 0 else ZERO
        computed = principal + shipping + tax - promotion - restocking
        amount = _dec(memo.get("grand_total")) if len(items) == 1 else computed
        line_id = _text(item.get("order_item_id"))
        rows.append(
            {
                "external_refund_id": _text(item.get("entity_id")),
                "external_line_id": line_id,
                "external_order_id": _text(memo.get("order_id")),
                "marketplace": store,
                "event_type": "REFUND",
                "refunded_at": _iso(memo.get("created_at")),
                "currency": ccy,
                "quantity": item.get("qty"),
                "principal": amount_text(principal, ccy),
                "shipping": amount_text(shipping, ccy),
                "tax": amount_text(tax, ccy),
                "promotion": amount_text(promotion, ccy),
                "restocking_fee": amount_text(restocking, ccy),
                "amount": amount_text(amount, ccy),
                "reason": reason,
                "disposition": "back_to_stock" if line_id in to_stock else None,
                "returnless": "false" if line_id in to_stock else "true",
                "return_received_at": _iso(memo.get("created_at")) if line_id in to_stock else None,
            }
        )
    if not items:
        # an adjustment-only credit memo: no line to hang it on; quarantined with its money, never dropped
        rows.append(
            {
                "external_refund_id": f"memo-{memo.get('entity_id')}",
                "external_order_id": _text(memo.get("order_id")),
                "marketplace": store,
                "event_type": "REFUND",
                "refunded_at": _iso(memo.get("created_at")),
                "currency": ccy,
                "amount": amount_text(_dec(memo.get("grand_total")), ccy),
                "reason": reason,
            }
        )
    return rows
