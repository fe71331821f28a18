"""The canonical model: every channel is mapped into these three entities, with these dtypes.

Column names and dtypes live here and nowhere else. Money columns end in ``_minor`` and are int64 minor
units of the row's ``currency``; timestamps are UTC. Raw channel rows arrive as text and are parsed into
this shape by :mod:`acorn.normalize`, which names the field of any value it cannot parse.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import pandas as pd

Kind = Literal["text", "money", "timestamp", "int", "bool"]

#: Namespace of ACORN's deterministic ids (UUIDv5 of channel account and source keys).
ACORN_NAMESPACE = uuid.UUID("6f1c2a0e-7b1d-5c55-9a57-acd0c0de2026")

PANDAS_DTYPE: dict[Kind, str] = {
    "text": "string",
    "money": "int64",
    "timestamp": "datetime64[us, UTC]",
    "int": "int64",
    "bool": "bool",
}


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = True


@dataclass(frozen=True)
class Entity:
    """One canonical entity: its fields in order and its natural key."""

    name: str
    key: str
    fields: tuple[Field, ...]

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def dtypes(self) -> dict[str, str]:
        return {f.name: PANDAS_DTYPE[f.kind] for f in self.fields}

    def empty(self) -> pd.DataFrame:
        return pd.DataFrame({f.name: pd.Series(dtype=PANDAS_DTYPE[f.kind]) for f in self.fields})


ORDERS = Entity(
    "orders",
    key="order_uid",
    fields=(
        Field("order_uid", "text"),
        Field("account_id", "text"),
        Field("channel", "text"),
        Field("marketplace", "text"),
        Field("external_order_id", "text"),
        Field("purchased_at", "timestamp"),
        Field("currency", "text"),
        Field("fulfillment_model", "text"),
        Field("ship_method", "text"),
        Field("buyer_ref", "text"),
        Field("order_total_minor", "money"),
    ),
)

ORDER_LINES = Entity(
    "order_lines",
    key="line_uid",
    fields=(
        Field("line_uid", "text"),
        Field("order_uid", "text"),
        Field("account_id", "text"),
        Field("external_line_id", "text"),
        Field("sku", "text"),
        Field("category", "text"),
        Field("quantity", "int"),
        Field("currency", "text"),
        Field("principal_minor", "money"),
        Field("shipping_minor", "money"),
        Field("tax_minor", "money"),
        Field("promotion_minor", "money"),
        Field("referral_fee_minor", "money"),
        Field("shipped_at", "timestamp"),
        Field("delivered_at", "timestamp", required=False),
        Field("shipped_late", "bool"),
    ),
)

REFUND_LINES = Entity(
    "refund_lines",
    key="refund_uid",
    fields=(
        Field("refund_uid", "text"),
        Field("line_uid", "text"),
        Field("order_uid", "text"),
        Field("account_id", "text"),
        Field("channel", "text"),
        Field("marketplace", "text"),
        Field("external_refund_id", "text"),
        Field("event_type", "text"),
        Field("refunded_at", "timestamp"),
        Field("currency", "text"),
        Field("quantity", "int"),
        Field("principal_minor", "money"),
        Field("shipping_minor", "money"),
        Field("tax_minor", "money"),
        Field("promotion_minor", "money"),
        Field("restocking_fee_minor", "money"),
        Field("amount_minor", "money"),
        Field("raw_reason", "text", required=False),
        Field("reason", "text"),
        Field("disposition", "text", required=False),
        Field("returnless", "bool"),
        Field("return_received_at", "timestamp", required=False),
    ),
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (ORDERS, ORDER_LINES, REFUND_LINES)}

CHANNELS = ("amazon", "shopify", "magento", "csv")
FULFILLMENT_MODELS = ("AFN", "MFN", "STORE")
EVENT_TYPES = ("REFUND", "GUARANTEE_CLAIM", "CHARGEBACK")


def uid(*parts: object) -> str:
    """Deterministic id of a source record: UUIDv5 over its channel account and source keys."""
    return str(uuid.uuid5(ACORN_NAMESPACE, "|".join(str(p) for p in parts)))


def uids(prefix: str, *columns: pd.Series) -> pd.Series:
    """Vectorized :func:`uid` over key columns (one Python call per row: ids are computed once, at
    extraction, and the mapping is cheap next to the I/O it follows)."""
    joined = columns[0].astype("string")
    for col in columns[1:]:
        joined = joined + "|" + col.astype("string")
    return pd.Series(
        [str(uuid.uuid5(ACORN_NAMESPACE, f"{prefix}|{k}")) for k in joined],
        index=joined.index,
        dtype="string",
    )
