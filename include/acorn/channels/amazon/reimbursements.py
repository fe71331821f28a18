"""What Amazon paid back: the FBA reimbursements report and SAFE-T reimbursement events.

Sellers lose money to reimbursements never claimed; to see which claims are still open ACORN has to know what
Amazon already paid, automatically or after a case. The FBA reimbursements report has one row per
reimbursement (``reimbursement-id``, ``case-id`` when a case was filed, ``amazon-order-id`` when it concerns an
order, ``reason`` such as ``CustomerReturn`` or ``Damaged_Warehouse``, ``amount-total``; a negative amount is
a clawback, ``Reimbursement_Reversal``). SAFE-T events come from Finances with their claim id and amount.
"""

from __future__ import annotations

import logging

import pandas as pd

from acorn.channels.amazon.client import FBA_REIMBURSEMENTS
from acorn.channels.amazon.mapper import money, payload_object, report_rows
from acorn.channels.base import ChannelAccount
from acorn.channels.payloads import PAYLOAD_FILE, PayloadLog
from acorn.money import parse_minor
from acorn.tables import REIMBURSEMENTS

log = logging.getLogger(__name__)


def reimbursements(account: ChannelAccount, payloads: PayloadLog) -> pd.DataFrame:
    """Every reimbursement the payloads hold, once per (source, reimbursement id); amounts in minor units."""
    rows: list[dict] = []
    for r in report_rows(payloads.of(f"report:{FBA_REIMBURSEMENTS}"), account.region):
        rows.append(
            {
                "source": "fba_reimbursements_report",
                "reimbursement_id": r.get("reimbursement-id"),
                "case_id": r.get("case-id") or None,
                "external_order_id": r.get("amazon-order-id") or None,
                "sku": r.get("sku") or None,
                "reason": r.get("reason") or None,
                "currency": r.get("currency-unit"),
                "amount": r.get("amount-total"),
                "posted_at": r.get("approval-date"),
            }
        )
    for p in payloads.of("listFinancialEvents"):
        # a payload of the wrong shape is reported once, by the refund mapping: here it holds no event
        events = payload_object(p, "payload", []).get("FinancialEvents") or {}
        for event in events.get("SAFETReimbursementEventList") or []:
            amount, currency = money(event.get("ReimbursedAmount"), "CurrencyAmount")
            rows.append(
                {
                    "source": "safet_claim",
                    "reimbursement_id": event.get("SAFETClaimId"),
                    "case_id": event.get("SAFETClaimId"),
                    "external_order_id": None,
                    "sku": None,
                    "reason": event.get("ReasonCode"),
                    "currency": currency,
                    "amount": None if amount is None else str(amount),
                    "posted_at": event.get("PostedDate"),
                }
            )
    if not rows:
        return REIMBURSEMENTS.empty()
    frame = pd.DataFrame(rows).astype({"amount": "string", "currency": "string"})
    minor, error = parse_minor(frame["amount"], frame["currency"])
    posted = pd.to_datetime(frame["posted_at"], format="ISO8601", utc=True, errors="coerce")
    ok = error.isna() & posted.notna() & frame["reimbursement_id"].notna()
    if not ok.all():
        log.warning(
            "%d reimbursement rows without a readable amount, date or id left out (kept in %s)",
            int((~ok).sum()),
            PAYLOAD_FILE,
        )
    frame = frame[ok].assign(
        amount_minor=minor[ok].astype("int64"), posted_at=posted[ok], account_id=account.id
    )
    return frame.drop_duplicates(["source", "reimbursement_id"], keep="last")[
        list(REIMBURSEMENTS.dtypes)
    ].astype(REIMBURSEMENTS.dtypes)
