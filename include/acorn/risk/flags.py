"""Risk flags on refund lines, against the batch and the refunds already in the warehouse.

``history`` holds earlier refunds of the same order lines and buyers (refund_uid, line_uid, buyer_ref,
amount_minor, refunded_at), as read from the warehouse; a refund is compared with everything that came
before it, in time order, so a rerun flags exactly what the first run flagged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from acorn.columns import arrow_strings, factorize_ids, id_positions

HISTORY_COLUMNS = {
    "refund_uid": "string",
    "line_uid": "string",
    "buyer_ref": "string",
    "amount_minor": "int64",
    "refunded_at": "datetime64[us, UTC]",
}
SERIAL_WINDOW = timedelta(days=90)


def history_since(refunded_at: pd.Series, default: datetime) -> datetime:
    """The earliest stored refund that can count towards a flag of refunds made at ``refunded_at``: the first
    of them (``default`` when there are none) less the serial-returner window. Earlier refunds matter only
    on the same order line, which the history reads whatever their age."""
    first = refunded_at.min()
    return (default if pd.isna(first) else first.to_pydatetime()) - SERIAL_WINDOW


def empty_history() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in HISTORY_COLUMNS.items()})


#: What :func:`risk_flags` reads of the facts.
RISK_INPUTS = ("refund_uid", "line_uid", "buyer_ref", "amount_minor", "refunded_at", "paid_minor")


def assess(facts: pd.DataFrame, history: pd.DataFrame, serial_returner_refunds: int) -> pd.DataFrame:
    """The facts with the risk flags the policy's rules select on: ``duplicate_refund``, ``exceeds_paid``,
    ``buyer_refunds_90d`` and ``serial_returner`` (at least ``serial_returner_refunds`` refunds in 90 days,
    the policy's threshold). The facts are :func:`acorn.policy.engine.build_facts`' rows; their ``line_row``
    groups refunds by order line when present."""
    line_row = facts["line_row"].to_numpy() if "line_row" in facts else None
    flags = risk_flags(facts[list(RISK_INPUTS)], history, line_row)
    out = facts.copy(deep=False)
    for name, values in flags.items():
        out[name] = values
    out["serial_returner"] = out["buyer_refunds_90d"].to_numpy() >= serial_returner_refunds
    return out


def risk_flags(
    facts: pd.DataFrame, history: pd.DataFrame, line_row: np.ndarray | None = None
) -> pd.DataFrame:
    """Add ``duplicate_refund``, ``exceeds_paid`` and ``buyer_refunds_90d`` to ``facts``.

    ``facts`` needs refund_uid, line_uid, buyer_ref, amount_minor, refunded_at and paid_minor (what the
    buyer paid for the line). ``line_row`` is each refund's order line as the join found it (its row among
    the order lines, -1 when not found): the lines are then grouped by it instead of by their ids. Returns
    the columns aligned with ``facts``' index.
    """
    cols = list(HISTORY_COLUMNS)
    if history.empty:
        both = facts[cols]
    else:
        again = pc.is_in(
            arrow_strings(history["refund_uid"].astype("string")),
            value_set=arrow_strings(facts["refund_uid"]),
        )
        past = history[~pc.fill_null(again, False).to_numpy(zero_copy_only=False)][cols].astype(
            HISTORY_COLUMNS
        )
        both = pd.concat([past, facts[cols].astype(HISTORY_COLUMNS)], ignore_index=True)
    mine = slice(len(both) - len(facts), len(both))
    when = both["refunded_at"].astype("int64").to_numpy()
    amount = both["amount_minor"].to_numpy(dtype=np.int64)

    # per order line, in time order: how many refunds came before, and how much was refunded so far. Most
    # lines are refunded once: only the lines with several refunds are sorted.
    if line_row is None or facts.empty:
        line = factorize_ids(both["line_uid"])
    else:
        line = _line_groups(both, facts, line_row)
    nth = np.zeros(len(both), dtype=np.int64)
    so_far = amount.copy()
    several = np.flatnonzero(np.bincount(line)[line] > 1)
    if len(several):
        nth[several], so_far[several] = _running(line[several], when[several], amount[several])

    buyer = factorize_ids(both["buyer_ref"])
    buyer_counts = np.where(buyer >= 0, 1, 0)
    several = np.flatnonzero((buyer >= 0) & (np.bincount(buyer + 1)[buyer + 1] > 1))
    if len(several):
        buyer_counts[several] = _rolling_count(buyer[several], when[several] // 10**6, SERIAL_WINDOW)

    out = pd.DataFrame(index=facts.index)
    out["duplicate_refund"] = nth[mine] > 0
    out["exceeds_paid"] = so_far[mine] > facts["paid_minor"].to_numpy()
    out["buyer_refunds_90d"] = buyer_counts[mine]
    return out


def _line_groups(both: pd.DataFrame, facts: pd.DataFrame, line_row: np.ndarray) -> np.ndarray:
    """Group codes of the order lines of ``both`` (the past refunds, then ``facts``), equal for equal lines.

    A refund whose line the join found takes that row as its code; the few it did not find are grouped by
    id past the last row. A past refund takes the code of a refund of the batch on its line; past refunds of
    lines without one get codes of their own (they cannot change a flag of the batch).
    """
    codes = np.asarray(line_row, dtype=np.int64).copy()
    missing = np.flatnonzero(codes < 0)
    if len(missing):
        codes[missing] = factorize_ids(facts["line_uid"].iloc[missing]) + max(int(codes.max()), 0) + 1
    n_past = len(both) - len(facts)
    if not n_past:
        return codes
    at = id_positions(both["line_uid"].iloc[:n_past], facts["line_uid"])
    spare = int(codes.max()) + 1 + np.arange(n_past)
    return np.concatenate([np.where(at >= 0, codes[at], spare), codes])


def _running(group: np.ndarray, when: np.ndarray, amount: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group in time order (ties in row order): events before each row, and the running amount."""
    order = np.lexsort((np.arange(len(group)), when, group))
    group_sorted = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(group_sorted)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    nth = np.empty(len(order), dtype=np.int64)
    nth[order] = np.arange(len(order)) - group_start
    cumulative = np.cumsum(amount[order])
    before_group = np.where(group_start > 0, cumulative[group_start - 1], 0)
    so_far = np.empty(len(order), dtype=np.int64)
    so_far[order] = cumulative - before_group
    return nth, so_far


def _rolling_count(codes: np.ndarray, seconds: np.ndarray, window: timedelta) -> np.ndarray:
    """Per key code, how many events fall in (t - window, t], vectorized: one sort and two binary searches.

    Key and time are packed into one int64 (key code in the high bits, seconds below with room for the
    window, so a window reaching before a key's first event stops at the key before), so a single sorted
    array answers every row's window. When the row numbers fit in the bits left over, they ride along in
    the low bits and one value sort gives the order too (numpy's vectorized sort, where ``argsort`` compares
    indirectly).
    """
    seconds = seconds - seconds.min()
    window_s = int(window.total_seconds())
    seconds_bits = (int(seconds.max()) + window_s).bit_length()
    row_bits = max(len(codes) - 1, 1).bit_length()
    packed = (codes.astype(np.int64) << seconds_bits) + seconds
    if int(codes.max()).bit_length() + seconds_bits + row_bits <= 63:
        tagged = np.sort((packed << row_bits) | np.arange(len(packed)))
        order, sorted_packed = tagged & ((1 << row_bits) - 1), tagged >> row_bits
    else:
        order = packed.argsort()  # rows with equal keys get equal counts: their order does not matter
        sorted_packed = packed[order]
    # searching sorted queries in the sorted array is cache-friendly; the counts are put back in row order
    left = sorted_packed.searchsorted(sorted_packed - window_s, side="right")
    right = sorted_packed.searchsorted(sorted_packed, side="right")
    counts = np.empty(len(packed), dtype=np.int64)
    counts[order] = right - left
    return counts
