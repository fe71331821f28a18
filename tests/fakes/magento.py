"""A fake Magento 2 REST API: orders, credit memos and shipments searched with ``searchCriteria``.

Like Magento, a page number past the end returns the last page again (magento/magento2#3787), and
``total_count`` can be told to lie (magento/magento2#17295), so the client's stop rules are exercised.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

from tests.fakes.dataset import Dataset
from tests.fakes.server import FakeChannel, Request, Response

FILTER = re.compile(r"searchCriteria\[filter_groups\]\[(\d)\]\[filters\]\[0\]\[(\w+)\]")


def _mtime(iso: str | None) -> str | None:
    return iso.replace("T", " ").removesuffix("Z") if iso else None


def _num(text: str | None) -> Decimal:
    return Decimal(text or "0")


class FakeMagento(FakeChannel):
    def __init__(self, data: Dataset, *, token: str = "magento-integration-token") -> None:
        self.token = token
        self.total_count_bonus = 0
        self.entities = self._build(data)
        super().__init__()

    def _build(self, data: Dataset) -> dict[str, list[dict[str, Any]]]:
        lines_of: dict[str, list[dict]] = defaultdict(list)
        for line in data.rows("order_lines"):
            lines_of[line["external_order_id"]].append(line)
        orders, memos, shipments = [], [], []
        for o in data.rows("orders"):
            oid, lines = o["external_order_id"], lines_of[o["external_order_id"]]
            orders.append(
                {
                    "entity_id": oid,
                    "increment_id": f"0000{len(orders) + 1:05d}",
                    "created_at": _mtime(o["purchased_at"]),
                    "updated_at": _mtime(data.updated[oid]),
                    "order_currency_code": o["currency"],
                    "base_currency_code": o["currency"],
                    "grand_total": _num(o["order_total"]),
                    "customer_email": o["buyer_email"],
                    "shipping_amount": sum((_num(line["shipping"]) for line in lines), Decimal(0)),
                    "items": [
                        {
                            "item_id": line["external_line_id"],
                            "sku": line["sku"],
                            "qty_ordered": Decimal(line["quantity"]) + Decimal("0.0000"),
                            "row_total": _num(line["principal"]),
                            "tax_amount": _num(line["tax"]),
                            "discount_amount": _num(line["promotion"]),
                        }
                        for line in lines
                    ],
                }
            )
            if lines:
                shipments.append(
                    {
                        "entity_id": f"s{oid}",
                        "order_id": oid,
                        "created_at": _mtime(lines[0]["shipped_at"]),
                        "updated_at": _mtime(data.updated[oid]),
                    }
                )
        for r in data.rows("refunds"):
            memos.append(
                {
                    "entity_id": f"m{r['external_refund_id']}",
                    "order_id": r["external_order_id"],
                    "created_at": _mtime(r["refunded_at"]),
                    "updated_at": _mtime(r["refunded_at"]),
                    "state": 2,
                    "order_currency_code": r["currency"],
                    "grand_total": _num(r["amount"]),
                    "shipping_amount": _num(r["shipping"]),
                    "adjustment_negative": _num(r["restocking_fee"]),
                    "adjustment_positive": Decimal("0"),
                    "comments": [{"comment": r["reason"], "is_visible_on_front": 0}] if r["reason"] else [],
                    "extension_attributes": {
                        "return_to_stock_items": [r["external_line_id"]]
                        if r["disposition"] == "back_to_stock"
                        else []
                    },
                    "items": [
                        {
                            "entity_id": r["external_refund_id"],
                            "order_item_id": r["external_line_id"],
                            "qty": Decimal(r["quantity"]),
                            "row_total": _num(r["principal"]),
                            "tax_amount": _num(r["tax"]),
                            "discount_amount": _num(r["promotion"]),
                        }
                    ],
                }
            )
        key = lambda e: str(e["entity_id"])  # noqa: E731
        return {
            "orders": sorted(orders, key=key),
            "creditmemos": sorted(memos, key=key),
            "shipments": sorted(shipments, key=key),
        }

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response(
                401,
                {
                    "message": "The consumer isn't authorized to access %resources.",
                    "parameters": {"resources": "Magento_Sales::sales"},
                },
            )
        kind = request.path.rsplit("/", 1)[-1]
        if kind not in self.entities:
            return Response(404, {"message": "Request does not match any route."})
        q = request.query
        bounds: dict[str, dict[str, str]] = defaultdict(dict)
        for name, value in q.items():
            m = FILTER.fullmatch(name)
            if m:
                bounds[m.group(1)][m.group(2)] = value
        found = self.entities[kind]
        for f in bounds.values():
            op = {
                "gteq": lambda a, b: a >= b,
                "lt": lambda a, b: a < b,
                "in": lambda a, b: str(a) in b.split(","),
            }[f["condition_type"]]
            found = [e for e in found if op(e[f["field"]], f["value"])]
        size = int(q["searchCriteria[pageSize]"])
        pages = max(1, -(-len(found) // size))
        page = min(int(q["searchCriteria[currentPage]"]), pages)  # past the end: the last page again
        return Response(
            200,
            {
                "items": found[(page - 1) * size : page * size],
                "search_criteria": {},
                "total_count": len(found) + self.total_count_bonus,
            },
        )
