"""Magento 2 / Adobe Commerce REST client: the credit memos created in the interval with their orders and
shipments.

Searches use ``searchCriteria`` (memos by ``created_at``, orders and shipments by ``updated_at``, the orders
a memo refunds by ``entity_id``), a stable sort on ``entity_id`` and page numbers.
Magento answers a page number past the end with the *last page again* (magento/magento2#3787), so the client
stops when ``currentPage * pageSize >= total_count`` *or* when a page brings no id it has not seen, and the
mapper keeps each entity once by ``entity_id``. Auth is a bearer token (an integration's access token).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx

from acorn.channels.http import ChannelError, CredentialError, RetryPolicy, send
from acorn.channels.payloads import PayloadLog

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
