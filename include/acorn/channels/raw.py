"""What every channel mapper hands to the pipeline: the records as received, as text frames.

The columns below are the contract between a channel and :mod:`acorn.normalize`: canonical field names,
values as the channel wrote them (decimal strings in the row's currency, ISO 8601 timestamps, the channel's
own reason and disposition codes). Parsing, and quarantining what does not parse, happens in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from acorn.money import CURRENCY_EXPONENT, parse_minor

RAW_ORDER_COLUMNS = [
    "external_order_id",
    "marketplace",
    "purchased_at",
    "currency",
    "fulfillment_channel",
    "ship_method",
    "buyer_email",
    "order_total",
]
RAW_LINE_COLUMNS = [
    "external_line_id",
    "external_order_id",
    "sku",
    "category",
    "quantity",
    "currency",
    "principal",
    "shipping",
    "tax",
    "promotion",
    "referral_fee",
    "shipped_at",
    "delivered_at",
    "shipped_late",
]
RAW_REFUND_COLUMNS = [
    "external_refund_id",
    "external_line_id",
    "external_order_id",
    "marketplace",
    "event_type",
    "refunded_at",
    "currency",
    "quantity",
    "principal",
    "shipping",
    "tax",
    "promotion",
    "restocking_fee",
    "tax_withheld",
    "amount",
    "presentment_currency",
    "presentment_amount",
    "reason",
    "disposition",
    "returnless",
    "return_received_at",
]


def table(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Mapped records -> a text frame with exactly the contract's columns (missing values stay <NA>)."""
    return pd.DataFrame(rows, columns=columns).astype("string")


def amount_text(value: Decimal | None, currency: str | None) -> str | None:
    """A channel amount as decimal text with the currency's decimals ("1500.0" JPY -> "1500"); a value that
    has more decimals than the currency allows is left as it came, so that normalize reports it."""
    if value is None:
        return None
    exp = CURRENCY_EXPONENT.get(currency or "")
    try:
        if exp is not None:
            quantized = value.quantize(Decimal(1).scaleb(-exp))
            if quantized == value:
                value = quantized
        return str(value + 0)
    except InvalidOperation:  # far beyond any amount (1E+400): as it came, for normalize to report
        return str(value)


def category_of(sku: str | None, categories: dict[str, str]) -> str:
    """The category of the longest SKU prefix listed in the account's ``sku_categories``."""
    if sku:
        for prefix in sorted(categories, key=len, reverse=True):
            if sku.startswith(prefix):
                return categories[prefix]
    return "unknown"


def control_totals(refunds: pd.DataFrame) -> dict[str, int]:
    """Refund amounts per currency as the channel stated them (minor units; unreadable amounts left out)."""
    if refunds.empty:
        return {}
    minor, _ = parse_minor(refunds["amount"], refunds["currency"])
    ok = minor.notna()
    return {
        str(k): int(v) for k, v in minor[ok].astype("int64").groupby(refunds["currency"][ok]).sum().items()
    }


@dataclass
class RawBatch:
    """What a channel returned for one account and interval, as received (all text)."""

    account_id: str
    channel: str
    orders: pd.DataFrame
    order_lines: pd.DataFrame
    refunds: pd.DataFrame
    #: the channel's own control totals of refund amounts per currency (minor units), like a report footer
    control_totals: dict[str, int] = field(default_factory=dict)
    #: records the mapper held back (file or payload, line, field, reason, the record as text; the refund's
    #: amount and currency as text where it could read them)
    rejects: list[dict] = field(default_factory=list)
    #: whether every refund of the batch must lie in the run's interval (not for files picked by arrival)
    event_window: bool = True
    #: refunds the channel sent that belong to other intervals (an order changed since): not read again
    outside_interval: int = 0

    @classmethod
    def from_records(
        cls,
        account_id: str,
        channel: str,
        orders: list[dict],
        lines: list[dict],
        refunds: list[dict],
        *,
        rejects: list[dict] | None = None,
    ) -> RawBatch:
        """A batch from a mapper's records; the control totals are the refund amounts as the channel stated
        them, those of refunds the mapper held back included."""
        refund_frame = table(refunds, RAW_REFUND_COLUMNS)
        rejects = rejects or []
        return cls(
            account_id=account_id,
            channel=channel,
            orders=table(orders, RAW_ORDER_COLUMNS),
            order_lines=table(lines, RAW_LINE_COLUMNS),
            refunds=refund_frame,
            control_totals=control_totals(with_rejected_amounts(refund_frame, rejects)),
            rejects=rejects,
        )


def with_rejected_amounts(refunds: pd.DataFrame, rejects: list[dict]) -> pd.DataFrame:
    """The refunds' amounts and currencies, and those of the rejected records that carry one (as text)."""
    rejected = pd.DataFrame(rejects, columns=["currency", "amount"]).astype("string")
    return pd.concat([refunds[["currency", "amount"]], rejected], ignore_index=True)


def reject(
    entity: str,
    source: str,
    row: int,
    key: str | None,
    field: str,
    reason: str,
    record: dict[str, Any],
    *,
    amount: str | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """A record held back by the mapper (quarantined as it came), with its refund amount where readable."""
    return {
        "entity": entity,
        "source_file": source,
        "source_row": row,
        "source_key": key,
        "field": field,
        "reason": reason,
        "currency": currency,
        "amount": amount,
        "raw_record": json.dumps(record, ensure_ascii=False, default=str),
    }
