"""Amazon settlement reports (V2 flat file) -> the refunds each settlement paid out, and when.

A settlement report's first data row is the summary (settlement id, period, deposit date, total, currency);
the rows after it are transactions. ACORN keeps the ``Refund`` rows, summed per refund adjustment item
(``merchant-adjustment-item-id``, the ``OrderAdjustmentItemId`` of the Finances refund event), so that the
warehouse can compare what was refunded with what the settlement took, and value the refund at the deposit
date: the FX difference between refund date and settlement date.
"""

from __future__ import annotations

import logging

import pandas as pd

from acorn.channels.amazon.client import SETTLEMENT
from acorn.channels.amazon.mapper import report_rows
from acorn.channels.base import ChannelAccount
from acorn.channels.payloads import PAYLOAD_FILE, PayloadLog
from acorn.money import parse_minor
from acorn.schema import uids
from acorn.tables import SETTLEMENT_REFUNDS

log = logging.getLogger(__name__)


def settlement_refunds(account: ChannelAccount, payloads: PayloadLog) -> pd.DataFrame:
    """One row per (settlement, refund): the amount the settlement took back, positive, in minor units.

    Rows whose amount cannot be read are left out of the sum with a warning that counts them (they stay in
    the landing payloads as received)."""
    frames = []
    for payload in payloads.of(f"report:{SETTLEMENT}"):
        rows = pd.DataFrame(report_rows([payload], account.region), dtype="string")
        if rows.empty or "settlement-id" not in rows:
            continue
        summary = rows.iloc[0]
        refunds = rows[rows.get("transaction-type", pd.Series(dtype="string")).eq("Refund").fillna(False)]
        if refunds.empty:
            continue
        currency = pd.Series(summary.get("currency"), index=refunds.index, dtype="string")
        minor, error = parse_minor(refunds["amount"], currency)
        ok = error.isna()
        if not ok.all():
            log.warning(
                "settlement %s: %d refund rows with an unreadable amount left out (kept in %s)",
                summary["settlement-id"],
                int((~ok).sum()),
                PAYLOAD_FILE,
            )
        frames.append(
            pd.DataFrame(
                {
                    "settlement_id": summary["settlement-id"],
                    "deposit_date": summary.get("deposit-date"),
                    "currency": currency[ok],
                    "external_order_id": refunds.loc[ok, "order-id"],
                    "external_refund_id": refunds.loc[ok, "merchant-adjustment-item-id"],
                    "settled_minor": -minor[ok].astype("int64"),
                }
            )
        )
    if not frames:
        return SETTLEMENT_REFUNDS.empty()
    rows = pd.concat(frames, ignore_index=True)
    keys = ["settlement_id", "deposit_date", "currency", "external_order_id", "external_refund_id"]
    out = rows.groupby(keys, as_index=False, dropna=False)["settled_minor"].sum()
    out["account_id"] = account.id
    out["refund_uid"] = uids("refund", out["account_id"], out["external_refund_id"])
    out["deposit_date"] = pd.to_datetime(out["deposit_date"], format="ISO8601", utc=True)
    return out[list(SETTLEMENT_REFUNDS.dtypes)].astype(SETTLEMENT_REFUNDS.dtypes)
