"""The canonical model: every channel is mapped into these three entities, with these dtypes.

Column names and dtypes live here and nowhere else. Money columns end in ``_minor`` and are int64 minor
units of the row's ``currency``; timestamps are UTC. Raw channel rows arrive as text and are parsed into
this shape by :mod:`acorn.normalize`, which names the field of any value it cannot parse.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from acorn.columns import arrow_strings

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
    #: the value a missing one takes (a channel that has no such figure), instead of a quarantine
    default: str | None = None
    #: the raw column a missing value is taken from (presentment money: the shop's where the buyer paid in it)
    default_from: str | None = None
    #: a money field in another currency than the row's: the field holding it
    currency_field: str | None = None


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
        Field("shipped_at", "timestamp", required=False),  # not shipped: none
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
        # tax the marketplace collected and remits (US/UK marketplace facilitator), given back on the refund:
        # the buyer's refund includes it, the seller's cost does not
        Field("tax_withheld_minor", "money", default="0"),
        Field("amount_minor", "money"),
        # what the buyer got back in the currency they paid in (Shopify's presentment money); the row's own
        # currency and amount where the channel has one currency only
        Field("presentment_currency", "text", default_from="currency"),
        Field(
            "presentment_amount_minor", "money", default_from="amount", currency_field="presentment_currency"
        ),
        Field("raw_reason", "text", required=False),
        # always set by the taxonomy; a refund the channel gives no reason for is UNMAPPED (and reviewed)
        Field("reason", "text", required=False),
        Field("disposition", "text", required=False),
        Field("returnless", "bool"),
        Field("return_received_at", "timestamp", required=False),
    ),
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (ORDERS, ORDER_LINES, REFUND_LINES)}

FULFILLMENT_MODELS = ("AFN", "MFN", "STORE")
EVENT_TYPES = ("REFUND", "GUARANTEE_CLAIM", "CHARGEBACK")


def uid(*parts: object) -> str:
    """Deterministic id of a source record: UUIDv5 over its channel account and source keys."""
    return str(uuid.uuid5(ACORN_NAMESPACE, "|".join(str(p) for p in parts)))


#: Names turned into ids at a time in :func:`uids`.
_UID_BLOCK = 1 << 17


def _uuid5_strings(names: list[bytes]) -> pa.Array:
    """``str(uuid.uuid5(ACORN_NAMESPACE, name))`` for many names: one SHA-1 per name, then version bits, hex
    (``bytes.hex`` over all of them) and dashes at once in numpy, straight into Arrow strings."""
    sha1, namespace, n = hashlib.sha1, ACORN_NAMESPACE.bytes, len(names)
    digests = b"".join([sha1(namespace + name, usedforsecurity=False).digest() for name in names])
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(n, 20)[:, :16].copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50  # version 5
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype=np.uint8).reshape(n, 32)
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for src, dst, width in ((0, 0, 8), (8, 9, 4), (12, 14, 4), (16, 19, 4), (20, 24, 12)):
        text[:, dst : dst + width] = hexed[:, src : src + width]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(text)])


def uids(prefix: str, *columns: pd.Series) -> pd.Series:
    """:func:`uid` over key columns (``uids("order", account, order_id)[i] == uid("order", account[i],
    order_id[i])``), at well under a microsecond a row."""
    joined = prefix + "|" + columns[0].astype("string")
    for col in columns[1:]:
        joined = joined + "|" + col.astype("string")
    names = pa.array(joined.fillna("<NA>"), type=pa.string()).cast(pa.binary())
    # a block of names at a time as Python bytes (a million of them, with their digests, hold 0.1 GiB)
    blocks = [
        _uuid5_strings(names.slice(at, _UID_BLOCK).to_pylist()) for at in range(0, len(names), _UID_BLOCK)
    ]
    out = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(blocks, pa.string()).combine_chunks()))
    out.index = joined.index
    return out


def key_uids(prefix: str, account_id: str, *keys: pd.Series) -> list[pd.Series]:
    """``uids(prefix, account, key)`` for each column of ``keys`` (indexed by position), every distinct key
    hashed once: an order's id is on the order, on each of its lines and on each of its refunds, and one
    dictionary encoding of all of them costs a fraction of a hash per row. A missing key gets the id
    :func:`uids` gives it. A single column (refund ids, each its own) is hashed as it is."""
    if len(keys) == 1:
        return [uids(prefix, pd.Series(account_id, index=keys[0].index), keys[0]).reset_index(drop=True)]
    texts = [arrow_strings(k).cast(pa.large_string()) for k in keys]
    encoded = pc.dictionary_encode(pa.concat_arrays(texts) if texts else pa.array([], pa.large_string()))
    distinct = pd.Series(pd.arrays.ArrowStringArray(encoded.dictionary))
    minted = pa.array(uids(prefix, pd.Series(account_id, index=distinct.index), distinct).array, pa.string())
    ids = pc.fill_null(pc.take(minted, encoded.indices), uid("<NA>"))
    bounds = np.cumsum([0, *(len(t) for t in texts)])
    return [pd.Series(pd.arrays.ArrowStringArray(ids.slice(a, b - a))) for a, b in pairwise(bounds)]
