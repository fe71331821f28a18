"""Risk flags on refund lines, against the batch and the refunds already in the warehouse.

``history`` holds earlier refunds of the same order lines and buyers (refund_uid, line_uid, buyer_ref,
amount_minor, refunded_at), as read from the warehouse; a refund is compared with everything that came
before it, in time order, so a rerun flags exactly what the first run flagged.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

HISTORY_COLUMNS = {
    "refund_uid": "string",
    "line_uid": "string",
    "buyer_ref": "string",
    "amount_minor": "int64",
    "refunded_at": "datetime64[us, UTC]",
}
SERIAL_WINDOW = timedelta(days=90)


def empty_history() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in HISTORY_COLUMNS.items()})


def risk_flags(facts: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Add ``duplicate_refund``, ``exceeds_paid`` and ``buyer_refunds_90d`` to ``facts``.

    ``facts`` needs refund_uid, line_uid, buyer_ref, amount_minor, refunded_at and paid_minor (what the
    buyer paid for the line). Returns the columns aligned with ``facts``' index.
    """
    cols = list(HISTORY_COLUMNS)
    past = history[~history["refund_uid"].isin(facts["refund_uid"])][cols].astype(HISTORY_COLUMNS)
    both = pd.concat(
        [past.assign(_row=-1), facts[cols].astype(HISTORY_COLUMNS).assign(_row=range(len(facts)))],
        ignore_index=True,
    ).sort_values(["refunded_at", "refund_uid"], kind="stable")

    by_line = both.groupby("line_uid", sort=False)
    both["_nth_on_line"] = by_line.cumcount()
    both["_refunded_so_far"] = by_line["amount_minor"].cumsum()

    # refunds by the same buyer in the 90 days up to and including this one
    buyers = both[both["buyer_ref"].notna()]
    buyers = buyers.assign(
        _buyer_90d=_rolling_count(buyers["buyer_ref"], buyers["refunded_at"], SERIAL_WINDOW)
    )

    mine = both[both["_row"] >= 0].set_index("_row").sort_index()
    buyer_counts = buyers[buyers["_row"] >= 0].set_index("_row")["_buyer_90d"]
    out = pd.DataFrame(index=facts.index)
    out["duplicate_refund"] = (mine["_nth_on_line"] > 0).to_numpy()
    out["exceeds_paid"] = mine["_refunded_so_far"].to_numpy() > facts["paid_minor"].to_numpy()
    out["buyer_refunds_90d"] = buyer_counts.reindex(range(len(facts))).fillna(0).astype("int64").to_numpy()
    return out


def _rolling_count(keys: pd.Series, times: pd.Series, window: timedelta) -> pd.Series:
    """Per key, how many events fall in (t - window, t], vectorized: one sort and two binary searches.

    Key and time are packed into one int64 (key code in the high bits, seconds in the low 32), so a single
    sorted array answers every row's window.
    """
    if keys.empty:
        return pd.Series(dtype="int64", index=keys.index)
    codes = pd.factorize(keys)[0].astype("int64")
    seconds = (times.astype("int64") // 10**6).to_numpy()
    seconds = seconds - seconds.min()
    packed = (codes << 32) + seconds
    order = packed.argsort(kind="stable")
    sorted_packed = packed[order]
    left = sorted_packed.searchsorted(packed - int(window.total_seconds()), side="right")
    right = sorted_packed.searchsorted(packed, side="right")
    return pd.Series(right - left, index=keys.index)
