"""Selling Partner API client: what ACORN reads of one seller's region for one interval.

Calls, in order (each response kept as received in the payload log):

1. Orders v0 ``getOrders`` by ``LastUpdatedAfter``/``LastUpdatedBefore`` with ``getOrderItems`` per order;
2. Finances v0 ``listFinancialEvents`` for the posted window (refunds, A-to-z guarantee claims, chargebacks,
   SAFE-T reimbursements, adjustments), then ``getOrder`` for refunded orders not in step 1 and
   ``listFinancialEventsByOrderId`` for each refunded order (the sale's referral fee and shipping date);
3. Reports 2021-06-30: the FBA customer returns and the merchant returns reports (create, poll, download,
   gunzip), the FBA reimbursements report, and the settlement reports Amazon generated (found with
   ``getReports``: settlement reports cannot be requested).

Amazon's rules it keeps: a window ends at least two minutes in the past and spans at most 180 days; pages
follow ``NextToken`` through empty pages; each operation is paced by the ``x-amzn-RateLimit-Limit`` header
Amazon returns; a 403 for an expired token refreshes the token once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx

from acorn.channels.amazon.auth import TOKENS, LwaCredentials, TokenCache
from acorn.channels.http import ChannelError, CredentialError, RetryPolicy, iso, send
from acorn.channels.payloads import PayloadLog
from acorn.channels.redact import redact
from acorn.channels.redact import register as register_secret

log = logging.getLogger(__name__)

REGION_ENDPOINTS = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}
MARKETPLACE_IDS = {
    "US": "ATVPDKIKX0DER",
    "CA": "A2EUQ1WTGCTBG2",
    "MX": "A1AM78C64UM0Y8",
    "UK": "A1F83G8C2ARO7P",
    "DE": "A1PA6795UKMFR9",
    "FR": "A13V1IB3VIYZZH",
    "IT": "APJ6JRA9NG5V4",
    "ES": "A1RKKUPIHCS9HS",
    "JP": "A1VC38T7YXB528",
}
FBA_RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
MFN_RETURNS = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
FBA_REIMBURSEMENTS = "GET_FBA_REIMBURSEMENTS_DATA"
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
MIN_LAG = timedelta(minutes=2)
MAX_WINDOW = timedelta(days=180)


@dataclass(frozen=True)
class SpApiOptions:
    """Per-account settings (``extra`` of the channel account; all optional)."""

    returns_lookback_days: int = 30
    report_poll_s: float = 15.0
    report_timeout_s: float = 1800.0
    page_size: int = 100
    #: ask for a Restricted Data Token to read the buyer's e-mail (the app needs Amazon's PII role for it)
    buyer_info: bool = True

    @classmethod
    def from_account(cls, extra: dict[str, Any]) -> SpApiOptions:
        return cls(**{f: extra[f] for f in cls.__dataclass_fields__ if f in extra})


def windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """``[start, end)`` cut into the windows Finances accepts (at most 180 days each)."""
    while start < end:
        stop = min(end, start + MAX_WINDOW)
        yield start, stop
        start = stop


class SpApiClient:
    """One seller, one region. ``endpoint`` and the credential's ``token_url`` can point at a test server."""

    def __init__(
        self,
        creds: LwaCredentials,
        *,
        region: str,
        label: str,
        endpoint: str | None = None,
        policy: RetryPolicy | None = None,
        options: SpApiOptions | None = None,
        on_secret: Callable[[str], None] | None = None,
        tokens: TokenCache = TOKENS,
        clock: Callable[[], float] = time.monotonic,
        log: PayloadLog | None = None,
    ) -> None:
        self.creds = creds
        self.endpoint = (endpoint or REGION_ENDPOINTS[region]).rstrip("/")
        self.label = label
        self.policy = policy or RetryPolicy()
        self.options = options or SpApiOptions()
        self.on_secret = on_secret
        self.tokens = tokens
        self.clock = clock
        self.http = httpx.Client(headers={"user-agent": "acorn-refund-ops (Language=Python)"})
        self.log = log if log is not None else PayloadLog()  # the caller keeps it if the fetch fails
        self._next_call: dict[str, float] = {}
        self._rdt: str | None = None  # the run's Restricted Data Token for buyer info, when Amazon gave one

    def close(self) -> None:
        self.http.close()

    # -- the calls -----------------------------------------------------------------------------------

    def _pace(self, operation: str) -> None:
        wait = self._next_call.get(operation, 0.0) - self.clock()
        if wait > 0:
            self.policy.sleep(wait)

    def _learn_rate(self, operation: str, response: httpx.Response) -> None:
        try:
            rate = float(response.headers.get("x-amzn-RateLimit-Limit", "0"))
        except ValueError:
            return
        if rate > 0:
            self._next_call[operation] = self.clock() + 1.0 / rate

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        restricted: bool = False,
    ) -> Any:
        """One SP-API operation; the response body goes to the payload log and comes back parsed.

        ``restricted``: send the run's Restricted Data Token (buyer info) when it has one, renewed once if
        Amazon refuses it (it expires after an hour)."""
        restricted = restricted and self._rdt is not None
        token = self._rdt if restricted else self._access_token()
        url = self.endpoint + path
        for refreshed in (False, True):
            headers = {"x-amz-access-token": token}
            response = send(
                self.http,
                method,
                url,
                what=f"{self.label} {operation}",
                policy=self.policy,
                before=lambda: self._pace(operation),
                params=params,
                json=body,
                headers=headers,
            )
            self._learn_rate(operation, response)
            if response.status_code in (401, 403) and not refreshed:
                if restricted:
                    self._rdt = self.buyer_info_token()
                    restricted = self._rdt is not None
                    token = self._rdt if restricted else self._access_token()
                else:
                    token = self._access_token(stale=token)
                continue
            break
        request = f"{method} {path}" + (f"?{urlencode(params)}" if params else "")
        self.log.add(operation, request, response.status_code, response.text)
        if response.status_code in (401, 403):
            raise CredentialError(
                f"{self.label}: SP-API refused the access token for {operation} "
                f"(HTTP {response.status_code}: {_error_text(response)}); check the seller's authorization"
            )
        if response.status_code >= 400:
            raise ChannelError(
                f"{self.label} {operation}: HTTP {response.status_code}: {_error_text(response)}"
            )
        return json.loads(response.text or "{}", parse_float=Decimal)

    def _pages(
        self,
        operation: str,
        path: str,
        params: dict[str, Any],
        *,
        token_in: str = "payload",
        restricted: bool = False,
    ) -> Iterator[dict]:
        """Every page of a NextToken operation (empty pages included: Amazon sends them), each token once."""
        next_token = None
        seen: set[str] = set()
        while True:
            page_params = {**params, "NextToken": next_token} if next_token else params
            data = self.call(operation, "GET", path, params=page_params, restricted=restricted)
            payload = (data.get(token_in) if token_in else data) or {}
            if not isinstance(payload, dict):
                return  # kept in the log as received; the mapping reports its shape
            yield payload
            next_token = payload.get("NextToken")
            if not next_token or not self._new_token(operation, next_token, seen):
                return

    def _new_token(self, operation: str, token: str, seen: set[str]) -> bool:
        """Whether a page token is new; a repeated one would ask for the same page again, without end."""
        if token in seen:
            log.warning(
                "%s: %s sent a page token it had sent before, after %d pages; pages stop there",
                self.label,
                operation,
                len(seen) + 1,
            )
            return False
        seen.add(token)
        return True

    def _access_token(self, stale: str | None = None) -> str:
        return self.tokens.token(
            self.creds, self.http, label=self.label, policy=self.policy, on_secret=self.on_secret, stale=stale
        )

    def buyer_info_token(self) -> str | None:
        """A Restricted Data Token for the orders' buyer info (the buyer's e-mail comes only with one), or
        None, saying in the log that buyer-based rules are off for the account, when the app may not have it."""
        if not self.options.buyer_info:
            log.warning(
                "%s: buyer info not requested (buyer_info: false): buyer-based rules are off", self.label
            )
            return None
        token = self._access_token()
        resources = [
            {"method": "GET", "path": path, "dataElements": ["buyerInfo"]}
            for path in ("/orders/v0/orders", "/orders/v0/orders/{orderId}")
        ]
        response = send(
            self.http,
            "POST",
            self.endpoint + "/tokens/2021-03-01/restrictedDataToken",
            what=f"{self.label} createRestrictedDataToken",
            policy=self.policy,
            before=lambda: self._pace("createRestrictedDataToken"),
            json={"restrictedResources": resources},
            headers={"x-amz-access-token": token},
        )
        self._learn_rate("createRestrictedDataToken", response)
        if response.status_code != 200 or "restrictedDataToken" not in response.text:
            log.warning(
                "%s: no Restricted Data Token for buyer info (HTTP %s: %s): the buyer's e-mail is not read, "
                "so buyer-based rules (serial returners, buyer refunds in 90 days) are off for this account",
                self.label,
                response.status_code,
                redact(_error_text(response)),
            )
            return None
        rdt = str(response.json()["restrictedDataToken"])
        register_secret(rdt)
        if self.on_secret is not None:
            self.on_secret(rdt)
        return rdt

    # -- what ACORN reads ------------------------------------------------------------------------------

    def fetch(
        self, marketplaces: tuple[str, ...], start: datetime, end: datetime, *, now: datetime
    ) -> PayloadLog:
        """Everything for ``[start, end)``, as the payload log. ``now`` bounds the window (2 minutes lag)."""
        end = min(end, now - MIN_LAG)
        if end <= start:
            return self.log
        ids = ",".join(MARKETPLACE_IDS[m] for m in marketplaces)
        order_ids: list[str] = []
        self._rdt = self.buyer_info_token()
        for page in self._pages(
            "getOrders",
            "/orders/v0/orders",
            {
                "MarketplaceIds": ids,
                "LastUpdatedAfter": iso(start),
                "LastUpdatedBefore": iso(end),
                "MaxResultsPerPage": self.options.page_size,
            },
            restricted=True,
        ):
            order_ids += [o["AmazonOrderId"] for o in page.get("Orders", [])]
        refunded: list[str] = []
        for lo, hi in windows(start, end):
            for page in self._pages(
                "listFinancialEvents",
                "/finances/v0/financialEvents",
                {
                    "PostedAfter": iso(lo),
                    "PostedBefore": iso(hi),
                    "MaxResultsPerPage": self.options.page_size,
                },
            ):
                events = page.get("FinancialEvents", {})
                for key in ("RefundEventList", "GuaranteeClaimEventList", "ChargebackEventList"):
                    refunded += [e["AmazonOrderId"] for e in events.get(key, []) if e.get("AmazonOrderId")]
        seen = set(order_ids)
        for order_id in dict.fromkeys(refunded):
            if order_id not in seen:
                self.call("getOrder", "GET", f"/orders/v0/orders/{order_id}", restricted=True)
                order_ids.append(order_id)
                seen.add(order_id)
            for _ in self._pages(
                "listFinancialEventsByOrderId", f"/finances/v0/orders/{order_id}/financialEvents", {}
            ):
                pass
        for order_id in dict.fromkeys(order_ids):
            for _ in self._pages("getOrderItems", f"/orders/v0/orders/{order_id}/orderItems", {}):
                pass
        returns_from = start - timedelta(days=self.options.returns_lookback_days)
        for report_type in (FBA_RETURNS, MFN_RETURNS, FBA_REIMBURSEMENTS):
            self.report(report_type, [MARKETPLACE_IDS[m] for m in marketplaces], returns_from, end)
        self.settlements(start, end)
        return self.log

    def report(self, report_type: str, marketplace_ids: list[str], start: datetime, end: datetime) -> None:
        """createReport -> poll getReport -> getReportDocument -> download (gunzip when Amazon says GZIP)."""
        created = self.call(
            "createReport",
            "POST",
            "/reports/2021-06-30/reports",
            body={
                "reportType": report_type,
                "marketplaceIds": marketplace_ids,
                "dataStartTime": iso(start),
                "dataEndTime": iso(end),
            },
        )
        report_id = created["reportId"]
        waited = 0.0
        while True:
            status = self.call("getReport", "GET", f"/reports/2021-06-30/reports/{report_id}")
            state = status.get("processingStatus")
            if state == "DONE":
                break
            if state == "CANCELLED":  # Amazon's way of saying: no data in this range
                return
            if state == "FATAL":
                raise ChannelError(f"{self.label}: report {report_type} {report_id} ended FATAL")
            if waited >= self.options.report_timeout_s:
                # the orders and finances of the run are not held back for it: their refunds are mapped
                # without the report's rows (no return reason: UNMAPPED, so a person reviews them)
                self.log.add(
                    "report_pending",
                    f"report {report_type} {report_id}",
                    202,
                    json.dumps({"report_type": report_type, "report_id": report_id, "state": state}),
                )
                log.warning(
                    "%s: report %s %s still %s after %.0f s; the run goes on without it (its refunds "
                    "have no return rows and are reviewed; a later run's report covers the days again)",
                    self.label,
                    report_type,
                    report_id,
                    state,
                    waited,
                )
                return
            self.policy.sleep(self.options.report_poll_s)
            waited += self.options.report_poll_s
        self.download(report_type, status["reportDocumentId"])

    def download(self, report_type: str, document_id: str) -> None:
        doc = self.call("getReportDocument", "GET", f"/reports/2021-06-30/documents/{document_id}")
        response = send(
            self.http, "GET", doc["url"], what=f"{self.label} download {report_type}", policy=self.policy
        )
        if response.status_code != 200:
            raise ChannelError(f"{self.label}: report document {document_id}: HTTP {response.status_code}")
        self.log.add(
            f"report:{report_type}", f"GET document {document_id}", 200, response.content, binary=True
        )

    def settlements(self, start: datetime, end: datetime) -> None:
        """Settlement reports Amazon created in the interval (they cannot be requested, only found)."""
        next_token = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = (
                {"nextToken": next_token}
                if next_token
                else {
                    "reportTypes": SETTLEMENT,
                    "createdSince": iso(start),
                    "createdUntil": iso(end),
                    "pageSize": 100,
                }
            )
            page = self.call("getReports", "GET", "/reports/2021-06-30/reports", params=params)
            for report in page.get("reports") or []:
                if report.get("processingStatus") == "DONE" and report.get("reportDocumentId"):
                    self.download(SETTLEMENT, report["reportDocumentId"])
            next_token = page.get("nextToken")
            if not next_token or not self._new_token("getReports", next_token, seen):
                return


def _error_text(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return response.text[:200]
    return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or response.text[:200]
