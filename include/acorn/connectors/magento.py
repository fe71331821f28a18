"""Magento 2 / Adobe Commerce REST: the credit memos created in the interval with their orders and shipments.

Searches use ``searchCriteria`` (memos by ``created_at``, orders and shipments by ``updated_at``, the orders
a memo refunds by ``entity_id``), a stable sort on ``entity_id`` and page numbers.
Magento answers a page number past the end with the *last page again* (magento/magento2#3787), so the client
stops when ``currentPage * pageSize >= total_count`` *or* when a page brings no id it has not seen, and the
mapper keeps each entity once by ``entity_id``. Auth is a bearer token (an integration's access token).

Mapping notes: orders are keyed by ``entity_id`` (what a credit memo's ``order_id`` refers to; the
``increment_id`` shown to buyers is not on the memo). Magento keeps no reason on a credit memo; stores write it in the memo's first comment, which is
what ACORN reads (unknown text normalizes to UNMAPPED). Items returned to stock
(``extension_attributes.return_to_stock_items``) get the disposition ``back_to_stock``; shipping and the
adjustment fee (``adjustment_negative``, the restocking fee) of a memo are put on its first item. Timestamps
are Magento's UTC ``YYYY-MM-DD HH:MM:SS``. The category comes from the account's ``sku_categories``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from acorn.channels.accounts import ChannelAccount
from acorn.channels.raw import RawBatch, amount_text, reject
from acorn.connectors.amazon.mapper import category_of
from acorn.connectors.http import ChannelError, CredentialError, RetryPolicy, send
from acorn.connectors.payloads import PayloadLog

ZERO = Decimal(0)
SEARCHES = {"orders": "/V1/orders", "creditmemos": "/V1/creditmemos", "shipments": "/V1/shipments"}


def _magento_time(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S")


Filter = tuple[str, str, str]  # field, value, condition_type


def search_params(filters: list[Filter], page: int, size: int) -> dict[str, str | int]:
    """``searchCriteria`` with each filter in its own group (groups are ANDed), sorted by ``entity_id``."""
    sc = "searchCriteria"
    params: dict[str, str | int] = {}
    for i, (field, value, condition) in enumerate(filters):
        params[f"{sc}[filter_groups][{i}][filters][0][field]"] = field
        params[f"{sc}[filter_groups][{i}][filters][0][value]"] = value
        params[f"{sc}[filter_groups][{i}][filters][0][condition_type]"] = condition
    params[f"{sc}[sortOrders][0][field]"] = "entity_id"
    params[f"{sc}[sortOrders][0][direction]"] = "ASC"
    params[f"{sc}[pageSize]"] = size
    params[f"{sc}[currentPage]"] = page
    return params


def between(field: str, start: datetime, end: datetime) -> list[Filter]:
    """``start <= field < end``."""
    return [(field, _magento_time(start), "gteq"), (field, _magento_time(end), "lt")]


class MagentoClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        label: str,
        store_code: str = "default",
        policy: RetryPolicy | None = None,
        page_size: int = 100,
        endpoint: str | None = None,
        log: PayloadLog | None = None,
    ) -> None:
        self.base = f"{(endpoint or base_url).rstrip('/')}/rest/{store_code}"
        self.label = label
        self.policy = policy or RetryPolicy()
        self.page_size = page_size
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self.log = log if log is not None else PayloadLog()  # the caller keeps it if the fetch fails

    def close(self) -> None:
        self.http.close()

    def _pages(self, kind: str, filters: list[Filter]) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        page = 1
        while True:
            params = search_params(filters, page, self.page_size)
            response = send(
                self.http,
                "GET",
                self.base + SEARCHES[kind],
                what=f"{self.label} {kind}",
                policy=self.policy,
                params=params,
            )
            if response.status_code in (401, 403):
                raise CredentialError(
                    f"{self.label}: Magento refused the bearer token (HTTP {response.status_code}); renew the "
                    "integration's access token in the connection, or grant it the Sales resources"
                )
            if response.status_code >= 400:
                raise ChannelError(
                    f"{self.label} {kind} page {page}: HTTP {response.status_code}: {response.text[:200]}"
                )
            self.log.add(kind, f"GET {SEARCHES[kind]} page {page}", response.status_code, response.text)
            body = self.log.payloads[-1].json()
            ids = {str(item.get("entity_id")) for item in body.get("items") or []}
            yield body
            if not ids or ids <= seen or page * self.page_size >= int(body.get("total_count") or 0):
                return
            seen |= ids
            page += 1

    def fetch(self, start: datetime, end: datetime) -> PayloadLog:
        """Credit memos *created* in the interval (a memo commented on later is not read again), orders and
        shipments updated in it, and the orders (with their shipments) those memos refund that changed
        since: a past interval sees its refunds with their orders however often the orders changed."""
        memo_orders: set[str] = set()
        for body in self._pages("creditmemos", between("created_at", start, end)):
            memo_orders |= {str(m.get("order_id")) for m in body.get("items") or [] if m.get("order_id")}
        found: set[str] = set()
        for body in self._pages("orders", between("updated_at", start, end)):
            found |= {str(o.get("entity_id")) for o in body.get("items") or []}
        for _ in self._pages("shipments", between("updated_at", start, end)):
            pass
        missing = sorted(memo_orders - found, key=lambda x: (len(x), x))
        for i in range(0, len(missing), self.page_size):
            ids = ",".join(missing[i : i + self.page_size])
            for _ in self._pages("orders", [("entity_id", ids, "in")]):
                pass
            for _ in self._pages("shipments", [("order_id", ids, "in")]):
                pass
        return self.log


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
