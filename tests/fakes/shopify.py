"""A fake Shopify Admin GraphQL endpoint: the ``orders`` query with cursor pages and the cost throttle.

It reads the query's variables (``first``, ``after``, and the ``updated_at`` bounds in ``query``), answers
with documented shapes (``gid://`` ids, MoneyBag ``shopMoney``, ``extensions.cost.throttleStatus``), runs a
leaky bucket of query points and answers ``THROTTLED`` when asked to (see :class:`FakeChannel` for 5xx).
With ``nested_page`` set, every nested list (line items, refund line items, shipping lines, transactions,
return line items) is cut to pages of that size, as Shopify cuts them at their ``first``, and the rest is
served by ``node(id:)`` queries with the list's cursor.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

from tests.fakes.dataset import Dataset
from tests.fakes.server import FakeChannel, Request, Response

BOUNDS = re.compile(r"updated_at:>='([^']+)'(?: AND updated_at:<'([^']+)')?")
QUERY_COST = 300


def _bag(amount: str | Decimal | None, currency: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": str(amount or "0"), "currencyCode": currency}}


class FakeShopify(FakeChannel):
    def __init__(self, data: Dataset, *, token: str = "shpat_fake") -> None:
        self.token = token
        self.available = 1000.0
        self.restore_rate = 100.0
        self.throttle_at: set[int] = set()
        self.nested_page: int | None = None
        self.nodes = self._build(data)
        super().__init__()

    def _build(self, data: Dataset) -> list[dict[str, Any]]:
        lines_of: dict[str, list[dict]] = defaultdict(list)
        for line in data.rows("order_lines"):
            lines_of[line["external_order_id"]].append(line)
        refunds_of: dict[str, list[dict]] = defaultdict(list)
        for r in data.rows("refunds"):
            refunds_of[r["external_order_id"]].append(r)
        nodes = []
        for o in data.rows("orders"):
            oid, ccy = o["external_order_id"], o["currency"]
            lines = lines_of[oid]
            shipping = sum((Decimal(line["shipping"]) for line in lines), Decimal(0))
            nodes.append(
                {
                    "id": f"gid://shopify/Order/{oid}",
                    "name": f"#{oid[-6:]}",
                    "createdAt": o["purchased_at"],
                    "updatedAt": data.updated[oid],
                    "currencyCode": ccy,
                    "email": o["buyer_email"],
                    "totalPriceSet": _bag(o["order_total"], ccy),
                    "totalShippingPriceSet": _bag(shipping, ccy),
                    "fulfillments": [
                        {"createdAt": lines[0]["shipped_at"], "deliveredAt": lines[0]["delivered_at"]}
                    ]
                    if lines
                    else [],
                    "lineItems": {
                        "nodes": [
                            {
                                "id": f"gid://shopify/LineItem/{line['external_line_id']}",
                                "sku": line["sku"],
                                "quantity": int(line["quantity"]),
                                "product": {"productType": line["category"].title()},
                                "originalTotalSet": _bag(line["principal"], ccy),
                                "totalDiscountSet": _bag(line["promotion"], ccy),
                                "taxLines": [{"priceSet": _bag(line["tax"], ccy)}],
                            }
                            for line in lines
                        ]
                    },
                    "refunds": [self._refund(r) for r in refunds_of[oid]],
                }
            )
        return sorted(nodes, key=lambda n: (n["updatedAt"], n["id"]))

    @staticmethod
    def _refund(r: dict) -> dict[str, Any]:
        ccy = r["currency"]
        line_gid = f"gid://shopify/LineItem/{r['external_line_id']}"
        returned = r["returnless"] == "false"
        subtotal = Decimal(r["principal"]) - Decimal(r["promotion"])
        return {
            "id": f"gid://shopify/Refund/{r['external_refund_id']}",
            "createdAt": r["refunded_at"],
            "note": None,
            "refundLineItems": {
                "nodes": [
                    {
                        "id": f"gid://shopify/RefundLineItem/{r['external_refund_id']}",
                        "quantity": int(r["quantity"]),
                        "restockType": r["disposition"] or "NO_RESTOCK",
                        "lineItem": {"id": line_gid},
                        "subtotalSet": _bag(subtotal, ccy),
                        "totalTaxSet": _bag(r["tax"], ccy),
                    }
                ]
            },
            "refundShippingLines": {"nodes": [{"subtotalAmountSet": _bag(r["shipping"], ccy)}]},
            "transactions": {
                "nodes": [{"kind": "REFUND", "status": "SUCCESS", "amountSet": _bag(r["amount"], ccy)}]
            },
            "return": {
                "id": f"gid://shopify/Return/{r['external_refund_id']}",
                "closedAt": r["return_received_at"],
                "returnLineItems": {
                    "nodes": [
                        {
                            "returnReason": r["reason"],
                            "restockingFee": {"amountSet": _bag(r["restocking_fee"], ccy)}
                            if Decimal(r["restocking_fee"])
                            else None,
                            "fulfillmentLineItem": {"lineItem": {"id": line_gid}},
                        }
                    ]
                },
            }
            if returned
            else None,
        }

    def _cost(self) -> dict[str, Any]:
        return {
            "requestedQueryCost": QUERY_COST,
            "actualQueryCost": QUERY_COST,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": self.available,
                "restoreRate": self.restore_rate,
            },
        }

    def handle(self, request: Request) -> Response:
        if request.headers.get("x-shopify-access-token") != self.token:
            return Response(
                401,
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
            )
        if not request.path.endswith("/graphql.json"):
            return Response(404, {"errors": "Not Found"})
        if request.number in self.throttle_at:
            self.available = 40.0
            return Response(
                200,
                {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {"cost": self._cost()},
                },
            )
        asked = request.json()
        variables = asked["variables"]
        if "AcornMore" in asked["query"]:
            return self._more(asked["query"], variables)
        lo, hi = BOUNDS.search(variables["query"]).groups()
        found = [n for n in self.nodes if lo <= n["updatedAt"] and (hi is None or n["updatedAt"] < hi)]
        offset = int(variables.get("after") or 0)
        chunk = [self._cut(n) for n in found[offset : offset + int(variables["first"])]]
        end = offset + len(chunk)
        self.available = max(0.0, self.available - QUERY_COST) + self.restore_rate
        body = {
            "data": {
                "orders": {
                    "pageInfo": {"hasNextPage": end < len(found), "endCursor": str(end)},
                    "nodes": chunk,
                }
            },
            "extensions": {"cost": self._cost()},
        }
        return Response(200, body)

    def _lists(self, order: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        found = [(order["id"], "lineItems", order["lineItems"])]
        for refund in order["refunds"]:
            for name in ("refundLineItems", "refundShippingLines", "transactions"):
                found.append((refund["id"], name, refund[name]))
            if refund["return"]:
                found.append((refund["return"]["id"], "returnLineItems", refund["return"]["returnLineItems"]))
        return found

    def _page(self, nodes: list[dict[str, Any]], offset: int) -> dict[str, Any]:
        size = self.nested_page or len(nodes) or 1
        end = offset + size
        return {
            "pageInfo": {"hasNextPage": end < len(nodes), "endCursor": str(end)},
            "nodes": nodes[offset:end],
        }

    def _cut(self, order: dict[str, Any]) -> dict[str, Any]:
        if not self.nested_page:
            return order
        order = copy.deepcopy(order)
        for _, _, conn in self._lists(order):
            conn.update(self._page(conn["nodes"], 0))
        return order

    def _more(self, query: str, variables: dict[str, Any]) -> Response:
        name = re.search(r"\{ (\w+)\(first: \d+, after: \$after\)", query).group(1)
        for order in self.nodes:
            for owner, listed, conn in self._lists(order):
                if owner == variables["id"] and listed == name:
                    page = self._page(conn["nodes"], int(variables["after"]))
                    body = {"data": {"node": {name: page}}, "extensions": {"cost": self._cost()}}
                    return Response(200, body)
        return Response(200, {"data": {"node": None}, "extensions": {"cost": self._cost()}})
