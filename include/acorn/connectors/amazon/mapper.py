"""SP-API payloads -> ACORN's raw text frames (orders, order lines, refund lines).

Where each field comes from:

- orders: Orders v0 ``Order`` (``FulfillmentChannel`` AFN/MFN; Buy Shipping when the order has automated
  shipping settings, else the account's ``mfn_ship_method``; ``OrderTotal``; ``BuyerInfo.BuyerEmail``, which
  is pseudonymized before it is stored);
- order lines: ``OrderItem`` money (``ItemPrice``, ``ShippingPrice``, ``ItemTax`` + ``ShippingTax``,
  ``PromotionDiscount``); the referral fee and the shipping date from the sale's ``ShipmentEvent`` (Finances,
  by order); the delivery date is the order's ``LatestDeliveryDate`` (Orders v0 has no delivered timestamp);
  the category from the account's ``sku_categories`` (SKU prefix -> category), as SP-API orders carry none;
- refund lines: one per ``ShipmentItemAdjustmentList`` item of a refund, guarantee-claim (A-to-z) or chargeback
  event. Amazon signs refunds from the seller's side (the principal given back is negative), so the amount the
  buyer got is minus the sum of the item's charge adjustments minus its promotion adjustments;
- reason, disposition and return date: the FBA customer returns report (AFN) and the merchant returns report
  (MFN), joined on order id and SKU. A refund with no return row is returnless; with no reason anywhere its
  reason stays empty and normalizes to UNMAPPED (reviewed).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pandas as pd

from acorn.channels.accounts import AMAZON_MARKETPLACES, ChannelAccount
from acorn.channels.raw import RawBatch, amount_text
from acorn.connectors.amazon.client import FBA_RETURNS, MARKETPLACE_IDS, MFN_RETURNS
from acorn.connectors.http import PayloadError
from acorn.connectors.payloads import Payload, PayloadLog

EVENT_LISTS = {
    "RefundEventList": "REFUND",
    "GuaranteeClaimEventList": "GUARANTEE_CLAIM",
    "ChargebackEventList": "CHARGEBACK",
}
MARKETPLACE_BY_ID = {v: k for k, v in MARKETPLACE_IDS.items()}
MARKETPLACE_BY_NAME = {name: code for code, (name, _, _) in AMAZON_MARKETPLACES.items()}
ZERO = Decimal(0)


def money(obj: Any, amount_key: str = "Amount") -> tuple[Decimal | None, str | None]:
    """An SP-API money object as (Decimal, currency); Orders say ``Amount``, Finances ``CurrencyAmount``."""
    if not isinstance(obj, dict):
        return None, None
    value = obj.get(amount_key)
    return (Decimal(str(value)) if value is not None else None), obj.get("CurrencyCode")


def _sum(*values: Decimal | None) -> Decimal:
    return sum((v for v in values if v is not None), ZERO)


def payload_field(p: Payload, key: str) -> Any:
    """``key`` of a payload's JSON body; a body without it is a payload of the wrong shape, named."""
    data = p.json()
    if not isinstance(data, dict) or key not in data:
        raise PayloadError(f"payload #{p.seq} ({p.kind} {p.request})", key, "missing from the response")
    return data[key]


def category_of(sku: str | None, categories: dict[str, str]) -> str:
    """The category of the longest SKU prefix listed in the account's ``sku_categories``."""
    if sku:
        for prefix in sorted(categories, key=len, reverse=True):
            if sku.startswith(prefix):
                return categories[prefix]
    return "unknown"


def report_rows(payloads: Iterable[Payload], region: str | None) -> list[dict[str, str]]:
    """The rows of tab-separated report documents (gunzipped; UTF-8, else cp932 in the FE region or cp1252)."""
    rows: list[dict[str, str]] = []
    for p in payloads:
        data = p.content()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for encoding in ("utf-8-sig", "cp932" if region == "FE" else "cp1252"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = data.decode("latin-1")
        rows += list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t"))
    return rows


def _returns(log: PayloadLog, region: str | None) -> dict[tuple[str, str], dict[str, str | None]]:
    """(order id, SKU) -> reason, disposition, return date; the latest return row wins."""
    found: dict[tuple[str, str], dict[str, str | None]] = {}
    for r in sorted(
        report_rows(log.of(f"report:{FBA_RETURNS}"), region), key=lambda r: r.get("return-date", "")
    ):
        found[(r.get("order-id", ""), r.get("sku", ""))] = {
            "reason": r.get("reason") or None,
            "disposition": r.get("detailed-disposition") or None,
            "received": r.get("return-date") or None,
        }
    mfn = report_rows(log.of(f"report:{MFN_RETURNS}"), region)
    for r in sorted(mfn, key=lambda r: r.get("Return request date", "")):
        found[(r.get("Order ID", ""), r.get("Merchant SKU", ""))] = {
            "reason": r.get("Return Reason") or None,
            "disposition": None,
            "received": r.get("Return delivery date") or None,
        }
    return found


def _sales(log: PayloadLog) -> dict[str, dict[str, Any]]:
    """OrderItemId -> the sale's referral fee and posted date, from the by-order Finances lookups."""
    sales: dict[str, dict[str, Any]] = {}
    for p in log.of("listFinancialEventsByOrderId"):
        for event in payload_field(p, "payload").get("FinancialEvents", {}).get("ShipmentEventList", []):
            for item in event.get("ShipmentItemList", []):
                fees = [f for f in item.get("ItemFeeList", []) if f.get("FeeType") == "Commission"]
                commission = _sum(*(money(f.get("FeeAmount"), "CurrencyAmount")[0] for f in fees))
                sales[str(item.get("OrderItemId"))] = {
                    "fee": ZERO - commission,
                    "posted": event.get("PostedDate"),
                }
    return sales


def to_raw(account: ChannelAccount, log: PayloadLog) -> RawBatch:
    """Map one fetch's payloads; the same payloads always give the same frames."""
    extra = account.extra
    categories: dict[str, str] = extra.get("sku_categories", {})
    mfn_ship = str(extra.get("mfn_ship_method", "SELLER_LABEL"))

    orders: dict[str, dict[str, Any]] = {}
    order_info: dict[str, dict[str, Any]] = {}
    for p in log.payloads:
        if p.kind == "getOrders":
            found = payload_field(p, "payload").get("Orders", [])
        elif p.kind == "getOrder":
            found = [payload_field(p, "payload")]
        else:
            continue
        for o in found:
            total, currency = money(o.get("OrderTotal"))
            model = o.get("FulfillmentChannel")
            automated = (o.get("AutomatedShippingSettings") or {}).get("HasAutomatedShippingSettings")
            order_id = o.get("AmazonOrderId")
            # keyed by id (pages can repeat an order); an order without one is kept apart for normalize to report
            orders[order_id or f"#{len(orders)}"] = {
                "external_order_id": order_id,
                "marketplace": MARKETPLACE_BY_ID.get(o.get("MarketplaceId"), o.get("MarketplaceId")),
                "purchased_at": o.get("PurchaseDate"),
                "currency": currency,
                "fulfillment_channel": model,
                "ship_method": "AMAZON" if model == "AFN" else ("BUY_SHIPPING" if automated else mfn_ship),
                "buyer_email": (o.get("BuyerInfo") or {}).get("BuyerEmail"),
                "order_total": amount_text(total, currency),
            }
            if order_id:
                order_info[order_id] = o

    sales = _sales(log)
    lines: dict[str, dict[str, Any]] = {}
    for p in log.of("getOrderItems"):
        page = payload_field(p, "payload")
        order_id = page.get("AmazonOrderId")
        info = order_info.get(order_id, {})
        for item in page.get("OrderItems", []):
            item_id = item.get("OrderItemId")
            principal, currency = money(item.get("ItemPrice"))
            shipping, _ = money(item.get("ShippingPrice"))
            tax = _sum(money(item.get("ItemTax"))[0], money(item.get("ShippingTax"))[0])
            promotion, _ = money(item.get("PromotionDiscount"))
            sale = sales.get(str(item_id), {})
            shipped = sale.get("posted") or info.get("EarliestShipDate")
            latest_ship = info.get("LatestShipDate")
            late = bool(
                sale.get("posted") and latest_ship and pd.Timestamp(shipped) > pd.Timestamp(latest_ship)
            )
            lines[item_id or f"#{len(lines)}"] = {
                "external_line_id": item_id,
                "external_order_id": order_id,
                "sku": item.get("SellerSKU"),
                "category": category_of(item.get("SellerSKU"), categories),
                "quantity": item.get("QuantityOrdered"),
                "currency": currency,
                "principal": amount_text(principal, currency),
                "shipping": amount_text(shipping or ZERO, currency),
                "tax": amount_text(tax, currency),
                "promotion": amount_text(promotion or ZERO, currency),
                "referral_fee": amount_text(sale.get("fee", ZERO), currency),
                "shipped_at": shipped,
                "delivered_at": info.get("LatestDeliveryDate")
                if info.get("OrderStatus") == "Shipped"
                else None,
                "shipped_late": "true" if late else "false",
            }

    returns = _returns(log, account.region)
    refunds: dict[str, dict[str, Any]] = {}
    for p in log.of("listFinancialEvents"):
        events = payload_field(p, "payload").get("FinancialEvents", {})
        for list_name, event_type in EVENT_LISTS.items():
            for event in events.get(list_name, []):
                # an event without items still becomes a row: normalize quarantines it with the record
                for item in event.get("ShipmentItemAdjustmentList") or [{}]:
                    row = _refund_row(event, item, event_type, returns)
                    # a row without its adjustment id is kept (normalize reports the field), never merged
                    refunds[row["external_refund_id"] or f"#{len(refunds)}"] = row
    return RawBatch.from_records(
        account.id, account.channel, list(orders.values()), list(lines.values()), list(refunds.values())
    )


def _refund_row(
    event: dict[str, Any],
    item: dict[str, Any],
    event_type: str,
    returns: dict[tuple[str, str], dict[str, str | None]],
) -> dict[str, Any]:
    charges: dict[str, Decimal] = {}
    currency = None
    for charge in item.get("ItemChargeAdjustmentList", []):
        value, ccy = money(charge.get("ChargeAmount"), "CurrencyAmount")
        currency = currency or ccy
        charges[charge.get("ChargeType", "")] = charges.get(charge.get("ChargeType", ""), ZERO) + (
            value or ZERO
        )
    promo = _sum(
        *(
            money(pr.get("PromotionAmount"), "CurrencyAmount")[0]
            for pr in item.get("PromotionAdjustmentList", [])
        )
    )
    principal = ZERO - charges.get("Principal", ZERO)
    shipping = ZERO - charges.get("ShippingCharge", ZERO)
    tax = ZERO - charges.get("Tax", ZERO) - charges.get("ShippingTax", ZERO)
    restocking = charges.get("RestockingFee", ZERO)
    amount = ZERO - sum(charges.values(), ZERO) - promo
    order_id = event.get("AmazonOrderId")
    ret = returns.get((str(order_id), str(item.get("SellerSKU"))), {})
    return {
        "external_refund_id": item.get("OrderAdjustmentItemId"),
        "external_line_id": item.get("OrderItemId"),
        "external_order_id": order_id,
        "marketplace": MARKETPLACE_BY_NAME.get(event.get("MarketplaceName"), event.get("MarketplaceName")),
        "event_type": event_type,
        "refunded_at": event.get("PostedDate"),
        "currency": currency,
        "quantity": item.get("QuantityShipped"),
        "principal": amount_text(principal, currency),
        "shipping": amount_text(shipping, currency),
        "tax": amount_text(tax, currency),
        "promotion": amount_text(promo, currency),
        "restocking_fee": amount_text(restocking, currency),
        "amount": amount_text(amount, currency),
        "reason": ret.get("reason"),
        "disposition": ret.get("disposition"),
        "returnless": "false" if ret.get("received") else "true",
        "return_received_at": ret.get("received"),
    }
