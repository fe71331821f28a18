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
  event, one per event list and adjustment id (the same id in two lists is two rows). Amazon signs refunds
  from the seller's side (the principal given back is negative), so the amount the buyer got is minus the sum
  of the item's charge adjustments minus its promotion adjustments; each documented charge type belongs to one
  component (``CHARGE_COMPONENTS``: Goodwill to principal, ReturnShipping and Giftwrap to shipping,
  GiftwrapTax to tax, ...); marketplace-facilitator tax (``ItemTaxWithheldList``, US states and the UK) is
  ``tax_withheld``: the buyer's refund holds it, the seller's cost does not (Amazon gives it back);
- reason, disposition and return date: the FBA customer returns report (AFN) and the merchant returns report
  (MFN), joined on order id and SKU. A refund with no return row is returnless; with no reason anywhere its
  reason stays empty and normalizes to UNMAPPED (reviewed).

Nothing is guessed: a payload of the wrong shape, an order of a marketplace id ACORN does not know, a charge
without ``CurrencyAmount``, charges in two currencies on one item or a charge type in no component are held
back (``RawBatch.rejects``, quarantined with the payload's name, the field and the reason), and the other
records are mapped. An order that has not shipped has no shipping date.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from acorn.channels.amazon.client import FBA_RETURNS, MARKETPLACE_IDS, MFN_RETURNS
from acorn.channels.amazon.marketplaces import MARKETPLACES
from acorn.channels.base import ChannelAccount
from acorn.channels.http import PayloadError
from acorn.channels.payloads import Payload, PayloadLog
from acorn.channels.raw import RawBatch, amount_text, category_of, reject

EVENT_LISTS = {
    "RefundEventList": "REFUND",
    "GuaranteeClaimEventList": "GUARANTEE_CLAIM",
    "ChargebackEventList": "CHARGEBACK",
}
#: Finances charge types -> the refund component each belongs to (Amazon's ChargeType values); a charge of
#: a type not listed holds its refund back with the type named, rather than leaving it out of a component
CHARGE_COMPONENTS = {
    **dict.fromkeys(
        ("Principal", "Goodwill", "CODItemCharge", "CODOrderCharge", "ExportCharge"), "principal"
    ),
    **dict.fromkeys(
        (
            "ShippingCharge",
            "ReturnShipping",
            "FreeReplacementReturnShipping",
            "Giftwrap",
            "CODShippingCharge",
        ),
        "shipping",
    ),
    **dict.fromkeys(
        (
            "Tax",
            "ShippingTax",
            "GiftwrapTax",
            "CODItemTaxCharge",
            "CODOrderTaxCharge",
            "CODShippingTaxCharge",
            "TCS-CGST",
            "TCS-SGST",
            "TCS-IGST",
            "TCS-UTGST",
        ),
        "tax",
    ),
    **dict.fromkeys(("Discount", "TaxDiscount"), "promotion"),
    "RestockingFee": "restocking_fee",
}
#: order statuses under which an order has shipped (Orders v0 ``OrderStatus``)
SHIPPED = frozenset({"Shipped", "PartiallyShipped", "InvoiceUnconfirmed"})
MARKETPLACE_BY_ID = {v: k for k, v in MARKETPLACE_IDS.items()}
MARKETPLACE_BY_NAME = {name: code for code, (name, _, _) in MARKETPLACES.items()}
ZERO = Decimal(0)


def money(obj: Any, amount_key: str = "Amount") -> tuple[Decimal | None, str | None]:
    """An SP-API money object as (Decimal, currency); Orders say ``Amount``, Finances ``CurrencyAmount``."""
    if not isinstance(obj, dict):
        return None, None
    value = obj.get(amount_key)
    try:
        amount = Decimal(str(value)) if value is not None and not isinstance(value, (dict, list)) else None
    except InvalidOperation:
        amount = None  # not a number: the record is reported by the field that needs it
    if amount is not None and not amount.is_finite():
        amount = None
    currency = obj.get("CurrencyCode")
    return amount, currency if isinstance(currency, str) else None


def _sum(*values: Decimal | None) -> Decimal:
    return sum((v for v in values if v is not None), ZERO)


def payload_name(p: Payload) -> str:
    return f"payload #{p.seq} ({p.kind} {p.request})"


def payload_field(p: Payload, key: str) -> Any:
    """``key`` of a payload's JSON body, an object; a body without it, or with it null, is a payload of the
    wrong shape, named."""
    data = p.json()
    if not isinstance(data, dict) or key not in data:
        raise PayloadError(payload_name(p), key, "missing from the response")
    if not isinstance(data[key], dict):
        raise PayloadError(payload_name(p), key, f"is {json.dumps(data[key])[:40]}, not an object")
    return data[key]


def payload_object(p: Payload, key: str, rejects: list[dict[str, Any]]) -> dict[str, Any]:
    """``key`` of a payload's body; a payload of the wrong shape is reported (quarantined with its name and
    what is wrong) and gives nothing, so that the payloads beside it are still mapped."""
    try:
        return payload_field(p, key)
    except PayloadError as exc:
        rejects.append(
            reject(
                "payloads",
                payload_name(p),
                0,
                None,
                key,
                str(exc).split(": ", 2)[-1],
                {"body": p.body[:2000]},
            )
        )
        return {}


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


def _sales(log: PayloadLog, rejects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """OrderItemId -> the sale's referral fee and posted date, from the by-order Finances lookups."""
    sales: dict[str, dict[str, Any]] = {}
    for p in log.of("listFinancialEventsByOrderId"):
        events = payload_object(p, "payload", rejects).get("FinancialEvents") or {}
        for event in events.get("ShipmentEventList") or []:
            for item in event.get("ShipmentItemList") or []:
                fees = [f for f in item.get("ItemFeeList") or [] if f.get("FeeType") == "Commission"]
                commission = _sum(*(money(f.get("FeeAmount"), "CurrencyAmount")[0] for f in fees))
                sales[str(item.get("OrderItemId"))] = {
                    "fee": ZERO - commission,
                    "posted": event.get("PostedDate"),
                }
    return sales


def _marketplace(code: str | None, known: dict[str, str]) -> str | None:
    """ACORN's marketplace code for Amazon's id or name; None where Amazon's is not one ACORN knows."""
    return known.get(code) if code else None


def to_raw(account: ChannelAccount, log: PayloadLog) -> RawBatch:
    """Map one fetch's payloads; the same payloads always give the same frames.

    A payload of the wrong shape, or a record that cannot be mapped without a guess (an unknown marketplace,
    charges in two currencies, a charge type that is in no component, money without ``CurrencyAmount``), is
    held back with the payload it came in and the reason; every other record is mapped.
    """
    extra = account.extra
    categories: dict[str, str] = extra.get("sku_categories", {})
    mfn_ship = str(extra.get("mfn_ship_method", "SELLER_LABEL"))
    rejects: list[dict[str, Any]] = []

    orders: dict[str, dict[str, Any]] = {}
    order_info: dict[str, dict[str, Any]] = {}
    for p in log.payloads:
        if p.kind == "getOrders":
            found = payload_object(p, "payload", rejects).get("Orders") or []
        elif p.kind == "getOrder":
            found = [o] if (o := payload_object(p, "payload", rejects)) else []
        else:
            continue
        for o in found:
            total, currency = money(o.get("OrderTotal"))
            model = o.get("FulfillmentChannel")
            automated = (o.get("AutomatedShippingSettings") or {}).get("HasAutomatedShippingSettings")
            order_id = o.get("AmazonOrderId")
            market = _marketplace(o.get("MarketplaceId"), MARKETPLACE_BY_ID)
            if o.get("MarketplaceId") and market is None:
                rejects.append(
                    reject(
                        "orders",
                        payload_name(p),
                        0,
                        order_id,
                        "MarketplaceId",
                        f"marketplace id {o.get('MarketplaceId')!r} is not one ACORN knows",
                        o,
                    )
                )
                continue
            # keyed by id (pages can repeat an order); an order without one is kept apart for normalize to report
            orders[order_id or f"#{len(orders)}"] = {
                "external_order_id": order_id,
                "marketplace": market,
                "purchased_at": o.get("PurchaseDate"),
                "currency": currency,
                "fulfillment_channel": model,
                "ship_method": "AMAZON" if model == "AFN" else ("BUY_SHIPPING" if automated else mfn_ship),
                "buyer_email": (o.get("BuyerInfo") or {}).get("BuyerEmail"),
                "order_total": amount_text(total, currency),
            }
            if order_id:
                order_info[order_id] = o

    sales = _sales(log, rejects)
    lines: dict[str, dict[str, Any]] = {}
    for p in log.of("getOrderItems"):
        page = payload_object(p, "payload", rejects)
        order_id = page.get("AmazonOrderId")
        info = order_info.get(order_id, {})
        for item in page.get("OrderItems") or []:
            item_id = item.get("OrderItemId")
            principal, currency = money(item.get("ItemPrice"))
            shipping, _ = money(item.get("ShippingPrice"))
            tax = _sum(money(item.get("ItemTax"))[0], money(item.get("ShippingTax"))[0])
            promotion, _ = money(item.get("PromotionDiscount"))
            sale = sales.get(str(item_id), {})
            # the sale's posting is when it shipped; a shipped order without one ships on its earliest date;
            # an order not shipped has no shipping date
            shipped = sale.get("posted") or (
                info.get("EarliestShipDate") if info.get("OrderStatus") in SHIPPED else None
            )
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
    refunds: dict[tuple[str, str], dict[str, Any]] = {}
    for p in log.of("listFinancialEvents"):
        events = payload_object(p, "payload", rejects).get("FinancialEvents") or {}
        for list_name, event_type in EVENT_LISTS.items():
            for event in _records(events, list_name, p, rejects):
                items = event.get("ShipmentItemAdjustmentList") or [{}]
                # an event without items still becomes a row: normalize quarantines it with the record
                for item in items if isinstance(items, list) else [items]:
                    row, problem = _refund_row(event, item, event_type, returns)
                    if problem:
                        field, reason = problem
                        record = {**event, "ShipmentItemAdjustmentList": [item]}
                        rejects.append(
                            reject("refund_lines", payload_name(p), 0, row["external_refund_id"], field, reason,
                                   record, amount=row["amount"], currency=row["currency"])
                        )  # fmt: skip
                        continue
                    # pages can repeat an event: one row per list and adjustment id; a row without its id
                    # is kept (normalize reports the field), never merged
                    key = row["external_refund_id"] or f"#{len(refunds)}"
                    refunds[(event_type, key)] = row
    return RawBatch.from_records(
        account.id,
        account.channel,
        list(orders.values()),
        list(lines.values()),
        list(refunds.values()),
        rejects=rejects,
    )


def _records(parent: Any, key: str, p: Payload, rejects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The objects of the list ``parent[key]``; what is not an object there is reported, never skipped."""
    found = parent.get(key) if isinstance(parent, dict) else None
    if parent and not isinstance(parent, dict):
        found = None
        rejects.append(
            reject(
                "payloads", payload_name(p), 0, None, key, "its parent is not an object", {"value": parent}
            )
        )
    if found is None:
        return
    for value in found if isinstance(found, list) else [found]:
        if isinstance(value, dict):
            yield value
        else:
            rejects.append(reject("payloads", payload_name(p), 0, None, key, "holds a value that is not an object",
                                  {"value": value}))  # fmt: skip


def _objects(value: Any) -> tuple[list[dict[str, Any]], bool]:
    """A list of objects as given, and whether anything in its place was not one."""
    if value is None:
        return [], False
    values = value if isinstance(value, list) else [value]
    objects = [v for v in values if isinstance(v, dict)]
    return objects, len(objects) != len(values)


def _refund_row(
    event: dict[str, Any],
    item: dict[str, Any],
    event_type: str,
    returns: dict[tuple[str, str], dict[str, str | None]],
) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """One adjustment item as a raw refund row, and what keeps it from being mapped, if anything."""
    components = dict.fromkeys(("principal", "shipping", "tax", "promotion", "restocking_fee"), ZERO)
    currencies: set[str] = set()
    problem: tuple[str, str] | None = None
    unreadable = False  # a charge without its amount: the refund's amount is not known
    charged = ZERO
    uncoded = 0  # charges without a (readable) currency code
    if not isinstance(item, dict):
        item, problem, unreadable = {}, ("ShipmentItemAdjustmentList", f"holds {item!r}, not an item"), True
    charges, odd = _objects(item.get("ItemChargeAdjustmentList"))
    promotions, odd_promotions = _objects(item.get("PromotionAdjustmentList"))
    withheld_groups, odd_withheld = _objects(item.get("ItemTaxWithheldList"))
    for name, bad in (("ItemChargeAdjustmentList", odd), ("PromotionAdjustmentList", odd_promotions),
                      ("ItemTaxWithheldList", odd_withheld)):  # fmt: skip
        if bad:
            problem, unreadable = problem or (name, "holds a value that is not an object"), True
    for charge in charges:
        kind = charge.get("ChargeType", "")
        if not isinstance(kind, str):
            problem, unreadable = problem or ("ChargeType", f"is {kind!r}, not a charge type"), True
            continue
        obj = charge.get("ChargeAmount")
        value, ccy = money(obj, "CurrencyAmount")
        if value is None:
            keys = sorted(obj) if isinstance(obj, dict) else obj
            problem = problem or (f"{kind}.ChargeAmount", f"has no readable CurrencyAmount (has {keys})")
            unreadable = True
            continue
        if ccy:
            currencies.add(ccy)
        else:
            uncoded += 1
        charged += value
        part = CHARGE_COMPONENTS.get(kind)
        if part is None:
            problem = problem or ("ChargeType", f"charge type {kind!r} is in none of ACORN's components")
            continue
        # Amazon signs from the seller's side: what the buyer got back is negative, what the seller keeps is not
        components[part] += value if part in ("restocking_fee", "promotion") else -value
    promo = ZERO
    for pr in promotions:
        value, ccy = money(pr.get("PromotionAmount"), "CurrencyAmount")
        if value is None and pr.get("PromotionAmount") is not None:
            problem, unreadable = problem or ("PromotionAmount", "has no readable CurrencyAmount"), True
        if ccy:
            currencies.add(ccy)
        promo += value or ZERO
    components["promotion"] += promo
    # marketplace-facilitator tax: what Amazon gives back of the tax it collected (positive on a refund)
    withheld = ZERO
    for group in withheld_groups:
        taxes, bad = _objects(group.get("TaxesWithheld"))
        if bad:
            problem = problem or ("TaxesWithheld", "holds a value that is not an object")
        for tax in taxes:
            value, ccy = money(tax.get("ChargeAmount"), "CurrencyAmount")
            if value is None:
                problem = problem or ("TaxesWithheld.ChargeAmount", "has no readable CurrencyAmount")
            if ccy:
                currencies.add(ccy)
            withheld += value or ZERO
    if len(currencies) > 1:
        problem = ("CurrencyCode", f"charges in {', '.join(sorted(currencies))} on one item: not summed")
    elif currencies and uncoded:
        problem = (
            "CurrencyCode",
            f"{uncoded} charges without a currency beside charges in {min(currencies)}",
        )
        unreadable = True
    currency = next(iter(currencies)) if len(currencies) == 1 else None
    amount = ZERO - charged - promo
    order_id = event.get("AmazonOrderId")
    market = _marketplace(event.get("MarketplaceName"), MARKETPLACE_BY_NAME)
    if event.get("MarketplaceName") and market is None:
        problem = problem or (
            "MarketplaceName",
            f"{event.get('MarketplaceName')!r} is not a marketplace ACORN knows",
        )
    ret = returns.get((str(order_id), str(item.get("SellerSKU"))), {})
    row = {
        "external_refund_id": item.get("OrderAdjustmentItemId"),
        "external_line_id": item.get("OrderItemId"),
        "external_order_id": order_id,
        "marketplace": market,
        "event_type": event_type,
        "refunded_at": event.get("PostedDate"),
        "currency": currency,
        "quantity": item.get("QuantityShipped"),
        **{k: amount_text(v, currency) for k, v in components.items()},
        "tax_withheld": amount_text(withheld, currency),
        "amount": None if unreadable else amount_text(amount, currency),
        "reason": ret.get("reason"),
        "disposition": ret.get("disposition"),
        "returnless": "false" if ret.get("received") else "true",
        "return_received_at": ret.get("received"),
    }
    return row, problem
