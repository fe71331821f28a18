"""A fake Selling Partner API (and Login with Amazon) that speaks the documented shapes.

Orders v0 (getOrders, getOrder, getOrderItems), Finances v0 (listFinancialEvents,
listFinancialEventsByOrderId), Reports 2021-06-30 (createReport, getReport, getReportDocument, getReports,
gzip documents) and the LWA token endpoint. Knobs for the failure modes the client must survive: small
pages, empty Finances pages, access tokens that expire after some uses, a revoked client, events that become
visible only later, and any planned 429/5xx (see :class:`FakeChannel`).
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pandas as pd

from acorn.channels.amazon.client import (
    FBA_REIMBURSEMENTS,
    FBA_RETURNS,
    MARKETPLACE_IDS,
    MFN_RETURNS,
    SETTLEMENT,
)
from acorn.channels.amazon.marketplaces import MARKETPLACES as AMAZON_MARKETPLACES
from tests.fakes.dataset import Dataset
from tests.fakes.server import FakeChannel, Request, Response

FBA_RETURN_COLUMNS = [
    "return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity", "fulfillment-center-id",
    "detailed-disposition", "reason", "status", "license-plate-number", "customer-comments",
]  # fmt: skip
MFN_RETURN_COLUMNS = [
    "Order ID", "Order date", "Return request date", "Return request status", "Amazon RMA ID",
    "Merchant RMA ID", "Label type", "Label cost", "Currency code", "Return carrier", "Tracking ID",
    "Label to be paid by", "A-to-Z Claim", "Is prime", "ASIN", "Merchant SKU", "Item Name", "Return quantity",
    "Return Reason", "In policy", "Return type", "Resolution", "Invoice number", "Return delivery date",
    "Order Amount", "Order quantity", "SafeT Action reason", "SafeT claim id", "SafeT claim state",
    "SafeT claim creation time", "SafeT claim reimbursement amount", "Refunded Amount",
]  # fmt: skip
REIMBURSEMENT_COLUMNS = [
    "approval-date", "reimbursement-id", "case-id", "amazon-order-id", "reason", "sku", "fnsku", "asin",
    "product-name", "condition", "currency-unit", "amount-per-unit", "amount-total", "quantity-reimbursed-cash",
    "quantity-reimbursed-inventory", "quantity-reimbursed-total", "original-reimbursement-id",
    "original-reimbursement-type",
]  # fmt: skip
#: what Amazon reimburses by itself, by the disposition of the returned unit
REIMBURSED = {"WAREHOUSE_DAMAGED": "Damaged_Warehouse", "CARRIER_DAMAGED": "CustomerReturn"}
EXPIRED = {"errors": [{"code": "Unauthorized", "message": "The access token you provided has expired."}]}


def _m(amount: str | None, currency: str) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": amount or "0"}


def _c(amount: str | None, currency: str, sign: int = 1) -> dict[str, Any]:
    value = Decimal(amount or "0") * sign
    return {"CurrencyCode": currency, "CurrencyAmount": value + 0}


def _ts(value: str) -> pd.Timestamp:
    return pd.Timestamp(value).tz_convert("UTC")


class FakeSpApi(FakeChannel):
    """Serves one :class:`Dataset` of an Amazon account."""

    def __init__(self, data: Dataset, *, page_size: int = 7, rate_limit: str = "50") -> None:
        self.page_size = page_size
        self.rate_limit = rate_limit
        self.empty_pages = True
        self.revoked = False
        self.token_max_uses: int | None = None
        self.hidden_refunds: set[str] = set()
        self.stuck_reports: set[str] = set()  # report types that never finish
        self.repeat_token = False  # every page names the same NextToken: a client must not loop on it
        self.client_id, self.client_secret, self.refresh_token = (
            "amzn1.application-oa2-client.fake",
            "s3cr3t",
            "Atzr|r",
        )
        self._tokens: dict[str, int] = {}
        #: whether the app may have Restricted Data Tokens for buyer info (Amazon grants it per app role)
        self.rdt_allowed = True
        self._rdts: set[str] = set()
        self._token_no = itertools.count(1)
        self._reports: dict[str, dict[str, Any]] = {}
        self._report_no = itertools.count(1)
        currencies = sorted({r["currency"] for r in data.rows("refunds")})
        self._documents: dict[str, bytes] = {
            f"settlement-{ccy}": self._settlement(data, ccy, 7000 + i) for i, ccy in enumerate(currencies)
        }
        self.settlements = [
            {"reportId": f"s-{ccy}", "reportType": SETTLEMENT, "processingStatus": "DONE", "reportDocumentId": f"settlement-{ccy}"}
            for ccy in currencies
        ]  # fmt: skip
        self._build(data)
        super().__init__()

    # -- the data in Amazon's shapes ---------------------------------------------------------------

    def _build(self, data: Dataset) -> None:
        orders = {o["external_order_id"]: o for o in data.rows("orders")}
        lines = data.rows("order_lines")
        refunds = data.rows("refunds")
        self.lines_of: dict[str, list[dict]] = defaultdict(list)
        for line in lines:
            self.lines_of[line["external_order_id"]].append(line)
        self.line_by_id = {line["external_line_id"]: line for line in lines}
        self.refunds = refunds
        self.orders = {}
        for oid, o in orders.items():
            first = (self.lines_of.get(oid) or [{}])[0]
            shipped, delivered = first.get("shipped_at"), first.get("delivered_at")
            late = first.get("shipped_late") == "true"
            latest_ship = (
                _ts(shipped) + (pd.Timedelta(hours=-1) if late else pd.Timedelta(days=1)) if shipped else None
            )
            self.orders[oid] = {
                "AmazonOrderId": oid,
                "PurchaseDate": o["purchased_at"],
                "LastUpdateDate": data.updated[oid],
                "OrderStatus": "Shipped",
                "FulfillmentChannel": o["fulfillment_channel"],
                "SalesChannel": AMAZON_MARKETPLACES[o["marketplace"]][0],
                "MarketplaceId": MARKETPLACE_IDS[o["marketplace"]],
                "OrderTotal": _m(o["order_total"], o["currency"]),
                "BuyerInfo": {"BuyerEmail": o["buyer_email"]},
                "EarliestShipDate": shipped,
                "LatestShipDate": latest_ship.strftime("%Y-%m-%dT%H:%M:%SZ")
                if latest_ship is not None
                else None,
                **({"LatestDeliveryDate": delivered} if delivered else {}),
                "AutomatedShippingSettings": {
                    "HasAutomatedShippingSettings": o["ship_method"] == "BUY_SHIPPING"
                },
            }

    #: the settlement's deposit, a few days after the interval (what Amazon pays out every 14 days or so)
    DEPOSIT_AFTER = pd.Timedelta(days=3)

    def _settlement(self, data: Dataset, currency: str, settlement_id: int) -> bytes:
        """A V2 flat-file settlement: the summary row, then the refund rows of one currency, by component."""
        header = ["settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
                  "currency", "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id",
                  "marketplace-name", "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date",
                  "posted-date-time", "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id",
                  "sku", "quantity-purchased", "promotion-id"]  # fmt: skip
        deposit = (pd.Timestamp(data.end) + self.DEPOSIT_AFTER).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows, total = [], Decimal(0)
        for r in data.rows("refunds"):
            if r["currency"] != currency:
                continue
            parts = [("ItemPrice", "Principal", -Decimal(r["principal"])), ("ItemPrice", "Shipping", -Decimal(r["shipping"])),
                     ("ItemPrice", "Tax", -Decimal(r["tax"])), ("Promotion", "Principal", Decimal(r["promotion"])),
                     ("ItemFees", "RestockingFee", Decimal(r["restocking_fee"]))]  # fmt: skip
            for amount_type, description, amount in parts:
                if amount:
                    total += amount
                    row = dict.fromkeys(header, "")
                    row.update({"settlement-id": str(settlement_id), "transaction-type": "Refund", "order-id": r["external_order_id"],
                                "amount-type": amount_type, "amount-description": description, "amount": str(amount + 0),
                                "posted-date-time": r["refunded_at"], "merchant-adjustment-item-id": r["external_refund_id"],
                                "order-item-code": r["external_line_id"]})  # fmt: skip
                    rows.append(row)
        summary = dict.fromkeys(header, "")
        summary.update({"settlement-id": str(settlement_id), "settlement-start-date": data.start.isoformat(),
                        "settlement-end-date": data.end.isoformat(), "deposit-date": deposit,
                        "total-amount": str(total + 0), "currency": currency})  # fmt: skip
        lines = ["\t".join(header)] + ["\t".join(row.values()) for row in [summary, *rows]]
        return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)

    def _item(self, line: dict) -> dict:
        ccy = line["currency"]
        return {
            "OrderItemId": line["external_line_id"],
            "SellerSKU": line["sku"],
            "ASIN": "B0" + line["sku"][-8:].replace("-", "X"),
            "QuantityOrdered": int(line["quantity"]),
            "ItemPrice": _m(line["principal"], ccy),
            "ShippingPrice": _m(line["shipping"], ccy),
            "ItemTax": _m(line["tax"], ccy),
            "ShippingTax": _m("0", ccy),
            "PromotionDiscount": _m(line["promotion"], ccy),
        }

    def _refund_event(self, r: dict) -> dict:
        ccy = r["currency"]
        charges = [
            {"ChargeType": "Principal", "ChargeAmount": _c(r["principal"], ccy, -1)},
            {"ChargeType": "ShippingCharge", "ChargeAmount": _c(r["shipping"], ccy, -1)},
            {"ChargeType": "Tax", "ChargeAmount": _c(r["tax"], ccy, -1)},
        ]
        if Decimal(r["restocking_fee"] or "0"):
            charges.append({"ChargeType": "RestockingFee", "ChargeAmount": _c(r["restocking_fee"], ccy)})
        line = self.line_by_id.get(r["external_line_id"], {})
        return {
            "AmazonOrderId": r["external_order_id"],
            "MarketplaceName": AMAZON_MARKETPLACES[r["marketplace"]][0],
            "PostedDate": r["refunded_at"],
            "ShipmentItemAdjustmentList": [
                {
                    "SellerSKU": line.get("sku"),
                    "OrderItemId": r["external_line_id"],
                    "OrderAdjustmentItemId": r["external_refund_id"],
                    "QuantityShipped": int(r["quantity"]),
                    "ItemChargeAdjustmentList": charges,
                    "ItemFeeAdjustmentList": [{"FeeType": "Commission", "FeeAmount": _c("0", ccy)}],
                    "PromotionAdjustmentList": [
                        {
                            "PromotionType": "PromotionMetaDataDefinitionValue",
                            "PromotionId": "P1",
                            "PromotionAmount": _c(r["promotion"], ccy),
                        }
                    ],
                }
            ],
        }

    def _sale_event(self, order_id: str) -> dict:
        lines = self.lines_of.get(order_id, [])
        o = self.orders[order_id]
        return {
            "AmazonOrderId": order_id,
            "MarketplaceName": o["SalesChannel"],
            "PostedDate": lines[0]["shipped_at"] if lines else o["PurchaseDate"],
            "ShipmentItemList": [
                {
                    "SellerSKU": line["sku"],
                    "OrderItemId": line["external_line_id"],
                    "QuantityShipped": int(line["quantity"]),
                    "ItemChargeList": [
                        {"ChargeType": "Principal", "ChargeAmount": _c(line["principal"], line["currency"])}
                    ],
                    "ItemFeeList": [
                        {"FeeType": "Commission", "FeeAmount": _c(line["referral_fee"], line["currency"], -1)}
                    ],
                }
                for line in lines
            ],
        }

    def _events(self, refunds: list[dict]) -> dict[str, list]:
        lists: dict[str, list] = {
            "RefundEventList": [],
            "GuaranteeClaimEventList": [],
            "ChargebackEventList": [],
        }
        name = {
            "REFUND": "RefundEventList",
            "GUARANTEE_CLAIM": "GuaranteeClaimEventList",
            "CHARGEBACK": "ChargebackEventList",
        }
        for r in refunds:
            lists[name[r["event_type"]]].append(self._refund_event(r))
        return lists

    @staticmethod
    def _reimbursed(refund: dict, order: dict) -> bool:
        """Amazon pays back by itself what it damaged, and FBA refunds whose item never came back."""
        never_back = (
            order["FulfillmentChannel"] == "AFN"
            and refund["returnless"] == "true"
            and refund["event_type"] == "REFUND"
        )
        return refund["disposition"] in REIMBURSED or never_back

    def _report_rows(
        self, report_type: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> tuple[list[str], list[list[str]]]:
        rows: list[list[str]] = []
        for r in self.refunds:
            o = self.orders[r["external_order_id"]]
            sku = self.line_by_id.get(r["external_line_id"], {}).get("sku", "")
            if report_type == FBA_RETURNS and o["FulfillmentChannel"] == "AFN" and r["return_received_at"]:
                if start <= _ts(r["return_received_at"]) < end:
                    rows.append([r["return_received_at"], r["external_order_id"], sku, "B0TEST", "X0TEST", "商品 / Produkt",
                                 r["quantity"], "FRA7", r["disposition"] or "", r["reason"] or "", "Unit returned to inventory",
                                 "LPN123", ""])  # fmt: skip
            elif (
                report_type == MFN_RETURNS
                and o["FulfillmentChannel"] == "MFN"
                and r["event_type"] == "REFUND"
            ):
                requested = _ts(r["refunded_at"]) - pd.Timedelta(days=1)
                if start <= requested < end:
                    row = dict.fromkeys(MFN_RETURN_COLUMNS, "")
                    row.update({"Order ID": r["external_order_id"], "Merchant SKU": sku, "Return Reason": r["reason"] or "",
                                "Return request date": requested.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                "Return delivery date": r["return_received_at"] or "", "Currency code": r["currency"],
                                "Refunded Amount": r["amount"], "In policy": "Y"})  # fmt: skip
                    rows.append(list(row.values()))
            elif report_type == FBA_REIMBURSEMENTS and self._reimbursed(r, o):
                approved = _ts(r["refunded_at"]) + pd.Timedelta(minutes=1)
                if start <= approved < end:
                    row = dict.fromkeys(REIMBURSEMENT_COLUMNS, "")
                    row.update({"approval-date": approved.strftime("%Y-%m-%dT%H:%M:%SZ"), "reimbursement-id": f"RB{r['external_refund_id']}",
                                "amazon-order-id": r["external_order_id"], "reason": REIMBURSED.get(r["disposition"], "CustomerReturn"), "sku": sku,
                                "currency-unit": r["currency"], "amount-per-unit": r["amount"], "amount-total": r["amount"],
                                "quantity-reimbursed-cash": "1", "quantity-reimbursed-total": "1"})  # fmt: skip
                    rows.append(list(row.values()))
        columns = {
            FBA_RETURNS: FBA_RETURN_COLUMNS,
            MFN_RETURNS: MFN_RETURN_COLUMNS,
            FBA_REIMBURSEMENTS: REIMBURSEMENT_COLUMNS,
        }.get(report_type, ["settlement-id"])
        return columns, rows

    def _document(self, report: dict) -> bytes:
        columns, rows = self._report_rows(report["reportType"], report["start"], report["end"])
        out = io.StringIO(newline="")
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        encoding = "cp932" if MARKETPLACE_IDS["JP"] in report["marketplaceIds"] else "utf-8"
        return gzip.compress(out.getvalue().encode(encoding, errors="replace"), mtime=0)

    # -- the HTTP surface ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == "/auth/o2/token":
            return self._token(request)
        if request.path.startswith("/download/"):
            return Response(
                200,
                self._documents[request.path.rsplit("/", 1)[1]],
                {"Content-Type": "application/octet-stream"},
            )
        token = request.headers.get("x-amz-access-token", "")
        if request.path == "/tokens/2021-03-01/restrictedDataToken" and token in self._tokens:
            return self._restricted_data_token(request)
        if token not in self._tokens:
            return Response(
                403,
                {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]},
            )
        self._tokens[token] += 1
        if self.token_max_uses is not None and self._tokens[token] > self.token_max_uses:
            return Response(403, EXPIRED)
        response = self._route(request)
        response.headers.setdefault("x-amzn-RateLimit-Limit", self.rate_limit)
        return response

    def _token(self, request: Request) -> Response:
        form = request.form()
        if self.revoked or form.get("client_secret") != self.client_secret:
            return Response(
                401, {"error": "invalid_client", "error_description": "Client authentication failed"}
            )
        if form.get("refresh_token") != self.refresh_token:
            return Response(
                400,
                {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"},
            )
        token = f"Atza|fake-{next(self._token_no)}"
        self._tokens[token] = 0
        return Response(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})

    def _restricted_data_token(self, request: Request) -> Response:
        if not self.rdt_allowed:
            return Response(
                403,
                {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]},
            )
        resources = request.json().get("restrictedResources", [])
        assert all(r.get("dataElements") == ["buyerInfo"] for r in resources), resources
        rdt = f"Atz.sprdt|fake-{next(self._token_no)}"
        self._tokens[rdt] = 0
        self._rdts.add(rdt)
        return Response(200, {"restrictedDataToken": rdt, "expiresIn": 3600})

    def _buyer_view(self, order: dict, request: Request) -> dict:
        """An order as SP-API shows it: the buyer's e-mail only to a Restricted Data Token."""
        if request.headers.get("x-amz-access-token") in self._rdts:
            return order
        return {**order, "BuyerInfo": {}}

    def _page(
        self,
        items: list,
        query: dict[str, str],
        key: str,
        extra: dict | None = None,
        *,
        empty_first: bool = False,
    ) -> Response:
        size = min(int(query.get("MaxResultsPerPage", 100)), self.page_size)
        offset = int(query.get("NextToken", "-1" if empty_first else "0").removeprefix("t"))
        if offset < 0:  # Amazon sends empty pages with a NextToken: the client must follow them
            return Response(
                200, {"payload": {key: {} if key == "FinancialEvents" else [], "NextToken": "t0"}}
            )
        chunk = items[offset : offset + size]
        payload: dict[str, Any] = {**(extra or {})}
        payload[key] = self._events(chunk) if key == "FinancialEvents" else chunk
        if offset + size < len(items):
            payload["NextToken"] = "t0" if self.repeat_token else f"t{offset + size}"
        return Response(200, {"payload": payload})

    def _route(self, request: Request) -> Response:
        q, parts = request.query, request.path.strip("/").split("/")
        if request.path == "/orders/v0/orders":
            lo, hi = _ts(q["LastUpdatedAfter"]), _ts(q["LastUpdatedBefore"])
            markets = set(q["MarketplaceIds"].split(","))
            found = [
                o
                for o in self.orders.values()
                if o["MarketplaceId"] in markets and lo <= _ts(o["LastUpdateDate"]) < hi
            ]
            found = [self._buyer_view(o, request) for o in sorted(found, key=lambda o: o["LastUpdateDate"])]
            return self._page(found, q, "Orders")
        if parts[:3] == ["orders", "v0", "orders"] and len(parts) == 4:
            return Response(200, {"payload": self._buyer_view(self.orders[parts[3]], request)})
        if parts[:3] == ["orders", "v0", "orders"] and parts[4:] == ["orderItems"]:
            items = [self._item(line) for line in self.lines_of.get(parts[3], [])]
            saved, self.page_size = self.page_size, 2
            try:
                return self._page(items, q, "OrderItems", {"AmazonOrderId": parts[3]})
            finally:
                self.page_size = saved
        if request.path == "/finances/v0/financialEvents":
            lo, hi = _ts(q["PostedAfter"]), _ts(q["PostedBefore"])
            found = [
                r
                for r in self.refunds
                if lo <= _ts(r["refunded_at"]) < hi and r["external_refund_id"] not in self.hidden_refunds
            ]
            return self._page(
                sorted(found, key=lambda r: r["refunded_at"]),
                q,
                "FinancialEvents",
                empty_first=self.empty_pages,
            )
        if parts[:3] == ["finances", "v0", "orders"]:
            events = {
                "ShipmentEventList": [self._sale_event(parts[3])],
                **self._events([r for r in self.refunds if r["external_order_id"] == parts[3]]),
            }
            return Response(200, {"payload": {"FinancialEvents": events}})
        if request.path == "/reports/2021-06-30/reports" and request.method == "POST":
            body = request.json()
            report_id = str(next(self._report_no))
            self._reports[report_id] = {
                **body,
                "start": _ts(body["dataStartTime"]),
                "end": _ts(body["dataEndTime"]),
                "polls": 0,
            }
            return Response(202, {"reportId": report_id})
        if request.path == "/reports/2021-06-30/reports":
            return Response(200, {"reports": self.settlements})
        if parts[:3] == ["reports", "2021-06-30", "reports"]:
            report = self._reports[parts[3]]
            report["polls"] += 1
            if report["polls"] == 1 or report["reportType"] in self.stuck_reports:
                return Response(200, {"reportId": parts[3], "processingStatus": "IN_QUEUE"})
            self._documents[f"doc-{parts[3]}"] = self._document(report)
            return Response(
                200, {"reportId": parts[3], "processingStatus": "DONE", "reportDocumentId": f"doc-{parts[3]}"}
            )
        if parts[:3] == ["reports", "2021-06-30", "documents"]:
            return Response(
                200,
                {
                    "reportDocumentId": parts[3],
                    "url": f"{self.url}/download/{parts[3]}",
                    "compressionAlgorithm": "GZIP",
                },
            )
        return Response(404, {"errors": [{"code": "NotFound", "message": request.path}]})
