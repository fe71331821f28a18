"""Every table a batch writes, in one registry: its columns as the landing keeps them, its key, and how the
loader writes it.

The loader's targets, the landing's file names and the stages' column constants all derive from here; the
canonical entities' fields (and how a raw value is parsed into them) are :mod:`acorn.schema`'s. The SQL
migrations create the tables; ``tests/integration/warehouse/test_tables.py`` holds this registry against the
migrated database's ``information_schema``, so that the two cannot drift apart.

A column is *landed* (in the batch's Parquet file, with that dtype) and *stored* (loaded into
``core.<table>``); a few are only one of the two: a decision's rule reasons go to ``core.policy_rules``
instead, a quarantined row's id is minted by the loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from acorn.schema import ENTITIES, PANDAS_DTYPE, Entity


@dataclass(frozen=True)
class Column:
    name: str
    #: the pandas dtype of the column in the landing's frames
    dtype: str
    stored: bool = True
    landed: bool = True


@dataclass(frozen=True)
class Table:
    """One warehouse table (``core.<name>``) and the landing file that feeds it."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    #: what an upsert does with a key already there: update the rows that changed, or keep the old one
    on_conflict: Literal["update", "nothing"] = "update"
    #: which existing rows an update may change: a correction of the refund reaches the claim nobody filed and
    #: the review item nobody was shown yet, never what a person acted on or is looking at
    update_only_where: str = ""
    #: the columns an update may change (the others follow from the key); empty: every column but the key
    updates: tuple[str, ...] = ()
    #: loaded even when the batch is held (a held batch still quarantines its rows and asks for a review)
    held_load: bool = False
    #: reported by some channels only: loaded when the landing holds its file
    side: bool = False
    #: whether a stage lands it as a file named after the table (not: the loader derives its rows)
    landed: bool = True

    @property
    def stored(self) -> tuple[str, ...]:
        """The columns written to ``core.<name>``, in COPY order."""
        return tuple(c.name for c in self.columns if c.stored)

    @property
    def dtypes(self) -> dict[str, str]:
        """Column -> dtype of the landing frame, in its column order."""
        return {c.name: c.dtype for c in self.columns if c.landed}

    def empty(self) -> pd.DataFrame:
        """A frame of no rows with the landing's columns and dtypes."""
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in self.dtypes.items()})

    def file(self, stage: str = "") -> str:
        """The landing file's name (without ``.parquet``); the canonical entities' carry the stage that wrote
        them (``canonical_refund_lines``, ``valid_refund_lines``)."""
        assert self.landed, f"{self.name} is not landed: the loader derives it"
        return f"{stage}_{self.name}" if stage else self.name


def _entity(entity: Entity) -> Table:
    return Table(
        entity.name,
        (entity.key,),
        tuple(Column(f.name, PANDAS_DTYPE[f.kind]) for f in entity.fields),
    )


def _columns(
    dtypes: dict[str, str], *, not_stored: tuple[str, ...] = (), not_landed: tuple[str, ...] = ()
) -> tuple[Column, ...]:
    return tuple(
        Column(name, dtype, stored=name not in not_stored, landed=name not in not_landed)
        for name, dtype in dtypes.items()
    )


ORDERS, ORDER_LINES, REFUND_LINES = (_entity(e) for e in ENTITIES.values())

#: Text chosen from the policy (rule ids, reasons, outcomes) is categorical: stored once, a code per row.
DECISIONS = Table(
    "decisions",
    ("refund_uid", "policy_version"),
    _columns(
        {
            "refund_uid": "string",
            "policy_version": "category",
            "outcome": "category",
            "decision_rule": "category",
            "decision_reason": "category",
            "liable_party": "category",
            "liability_rule": "category",
            "liability_reason": "category",
            "accounting_category": "category",
            "claim_type": "category",
            "claim_opens_on": "datetime64[us]",
            "claim_deadline": "datetime64[us]",
            "risk_flags": "category",
            "reporting_currency": "category",
            "fx_rate_e9": "int64",
            "fx_rate_date": "datetime64[us]",
            "amount_reporting_minor": "int64",
            "refund_admin_fee_minor": "int64",
            "referral_fee_returned_minor": "int64",
            "seller_cost_minor": "int64",
            "seller_cost_reporting_minor": "int64",
            "recoverable_minor": "int64",
            "vat_rate_e6": "int64",
            "vat_minor": "int64",
            "vat_expected_minor": "int64",
            "credit_note_required": "bool",
            "return_label_minor": "int64",
            "return_label_paid_by": "category",
            "borne_by_seller_minor": "int64",
            "borne_by_counterparty_minor": "int64",
            "borne_by_customer_minor": "int64",
        },
        not_stored=("decision_reason", "liability_reason"),  # once per rule, in core.policy_rules
    ),
)
POLICY_RULES = Table(
    "policy_rules",
    ("policy_version", "kind", "rule_id"),
    _columns({"policy_version": "string", "kind": "string", "rule_id": "string", "reason": "string"}),
    landed=False,  # the reasons the decisions carry, once per policy version and rule
)
CLAIMS = Table(
    "claims",
    ("claim_id",),
    _columns(
        {
            "claim_id": "string",
            "refund_uid": "string",
            "claim_type": "string",
            "counterparty": "string",
            "currency": "string",
            "amount_minor": "int64",
            "opens_on": "datetime64[us]",
            "deadline": "datetime64[us]",
            "evidence": "string",
        }
    ),
    update_only_where="t.state = 'open'",
    updates=("counterparty", "currency", "amount_minor", "opens_on", "deadline", "evidence"),
)
REVIEW_ITEMS = Table(
    "review_items",
    ("review_item_id",),
    _columns(
        {
            "review_item_id": "string",
            "kind": "string",
            "refund_uid": "string",
            "summary": "string",
            "currency": "string",
            "amount_minor": "Int64",
        }
    ),
    update_only_where="t.state = 'open' AND t.request_id IS NULL",
    updates=("summary", "currency", "amount_minor"),
    held_load=True,
)
QUARANTINE = Table(
    "quarantine",
    ("quarantine_uid",),
    _columns(
        {
            "account_id": "string",
            "entity": "string",
            "source_file": "string",
            "source_row": "int64",
            "source_key": "string",
            "field": "string",
            "reason": "string",
            "check_name": "string",
            "currency": "string",
            "amount_minor": "Int64",
            "raw_record": "string",
            "quarantine_uid": "string",
        },
        not_landed=("quarantine_uid",),  # minted by the loader: the row's identity across re-reads
    ),
    on_conflict="nothing",
    held_load=True,
)
SETTLEMENT_REFUNDS = Table(
    "settlement_refunds",
    ("settlement_id", "refund_uid"),
    _columns(
        {
            "account_id": "string",
            "settlement_id": "string",
            "refund_uid": "string",
            "external_refund_id": "string",
            "external_order_id": "string",
            "deposit_date": "datetime64[us, UTC]",
            "currency": "string",
            "settled_minor": "int64",
        }
    ),
    side=True,
)
REIMBURSEMENTS = Table(
    "reimbursements",
    ("source", "reimbursement_id"),
    _columns(
        {
            "account_id": "string",
            "source": "string",
            "reimbursement_id": "string",
            "case_id": "string",
            "external_order_id": "string",
            "sku": "string",
            "reason": "string",
            "currency": "string",
            "amount_minor": "int64",
            "posted_at": "datetime64[us, UTC]",
        }
    ),
    side=True,
)

#: Every table a batch writes, in load order (the order respects the foreign keys).
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        ORDERS,
        ORDER_LINES,
        REFUND_LINES,
        POLICY_RULES,
        DECISIONS,
        CLAIMS,
        REVIEW_ITEMS,
        QUARANTINE,
        SETTLEMENT_REFUNDS,
        REIMBURSEMENTS,
    )
}
#: The canonical entities, landed once per stage (``canonical_*`` by extract, ``valid_*`` by validate).
ENTITY_TABLES = tuple(ENTITIES)
#: What decide lands beside the entities.
DECIDED_TABLES = ("decisions", "claims", "review_items")
SIDE_TABLES = tuple(name for name, t in TABLES.items() if t.side)
