"""The channel's own control totals against what a batch kept and quarantined: the money identity.

A channel states how much it refunded per currency (a report footer, the sum of a page of events); every
refund row ACORN read is either kept or quarantined with its amount. The identity *control total = kept +
quarantined*, exact in minor units per currency, is what lets a batch be trusted as a whole: a difference
that no unreadable row can hold gives the batch the verdict ``hold`` (:mod:`acorn.quality.validate`).
"""

from __future__ import annotations

import json

import pandas as pd

#: quarantined entities that stand for a refund: refund lines, and file rows (one row = order, line, refund)
REFUND_ENTITIES = ("refund_lines", "csv_rows")


def money_identity(
    control_totals: dict[str, int],
    kept: pd.DataFrame,
    quarantine: pd.DataFrame,
    lines: pd.DataFrame | None = None,
) -> dict:
    """Per currency, exactly: the channel's control total = refunds kept + refunds quarantined.

    Every quarantined row that stands for a refund counts with its own amount where that amount was readable
    (refund lines, and file rows whose fields lined up though one of them failed). What is left is a
    difference, and it holds the batch, with one bounded exception: a refund row whose amount (or currency)
    could not be read may explain the part of a difference that it could hold. A refund gives back at most
    what its order line sold for, so each such row explains at most its line's principal + shipping + tax, in
    the line's currency; a difference above the sum of those bounds, or one with no such row, holds the
    batch (an inflated control total beside one unreadable row is not excused).
    """
    q = quarantine[quarantine["entity"].isin(REFUND_ENTITIES)]
    has_amount = q["amount_minor"].notna() & q["currency"].notna()
    readable, unreadable = q[has_amount], q[~has_amount]
    kept_sums = kept.groupby("currency")["amount_minor"].sum() if len(kept) else pd.Series(dtype="int64")
    q_sums = readable.groupby("currency")["amount_minor"].sum() if len(readable) else pd.Series(dtype="int64")
    bounds = _unreadable_bounds(unreadable, lines)
    diffs: dict[str, int] = {}
    attributed: dict[str, int] = {}
    for ccy in sorted(set(control_totals) | set(kept_sums.index) | set(q_sums.index)):
        diff = int(control_totals.get(ccy, 0)) - int(kept_sums.get(ccy, 0)) - int(q_sums.get(ccy, 0))
        if 0 < diff <= bounds.get(ccy, 0):
            attributed[ccy] = diff
        elif diff:
            diffs[ccy] = diff
    detail = "control total = kept + quarantined, per currency"
    if attributed:
        detail += f"; {attributed} within what {len(unreadable)} unreadable rows could hold"
    if diffs:
        detail += f"; unexplained {diffs}"
    return {
        "check": "money_identity",
        "success": not diffs,
        "differences_minor": diffs,
        "attributed_to_unreadable_minor": attributed,
        "unreadable_quarantined_rows": len(unreadable),
        "detail": detail,
    }


def _unreadable_bounds(unreadable: pd.DataFrame, lines: pd.DataFrame | None) -> dict[str, int]:
    """Per currency, the most the unreadable refund rows could hold: the total of each one's order line."""
    if unreadable.empty or lines is None or lines.empty:
        return {}
    line_ids = [json.loads(r).get("external_line_id") for r in unreadable["raw_record"]]
    by_id = lines.drop_duplicates("external_line_id").set_index("external_line_id")
    known = by_id.reindex(pd.Index(line_ids, dtype="string")).dropna(subset=["currency"])
    totals = known["principal_minor"] + known["shipping_minor"] + known["tax_minor"]
    return {str(c): int(v) for c, v in totals.groupby(known["currency"]).sum().items() if v > 0}
