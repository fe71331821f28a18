"""Validate a canonical batch: GX row-level expectations -> quarantine, money identity -> batch verdict.

The verdict is ``pass`` or ``hold``. A held batch is not loaded (only its ledger row, quarantine and a
review item are): its money does not add up against the channel's own control totals, which no row-level
fix explains.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from acorn.columns import factorize_ids
from acorn.normalize import Canonical, empty_quarantine, quarantine_rows
from acorn.quality.gx import ProgressBarsConfig, gx, gxe, pandas_execution_engine
from acorn.quality.suites import order_lines_suite, orders_suite, refund_lines_suite

#: quarantined entities that stand for a refund: refund lines, and file rows (one row = order, line, refund)
REFUND_ENTITIES = ("refund_lines", "csv_rows")


@dataclass
class Verdict:
    status: str  # "pass" or "hold"
    checks: list[dict] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return self.status == "hold"


@dataclass
class Validated:
    canonical: Canonical
    verdict: Verdict
    expectations: dict[str, dict]


@functools.cache
def _context() -> gx.data_context.AbstractDataContext:
    """One ephemeral GX context per process: each new one costs time and a temporary Data Docs folder."""
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    # GX fingerprints every DataFrame under this many bytes (pandas' row hashes, then MD5) as a batch marker
    # nothing of ACORN's reads, and most of the suites' time on a large batch. GX offers no setting for
    # it; if a release drops the constant, the suites only get slower again (the benchmark shows it).
    pandas_execution_engine.HASH_THRESHOLD = 0
    return ctx


@functools.cache
def _batch_definition(name: str):
    """A whole-DataFrame batch definition per entity, created once in the process's context."""
    return (
        _context()
        .data_sources.add_pandas(name)
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe(name)
    )


def run_suite(frame: pd.DataFrame, suite: gx.ExpectationSuite) -> tuple[dict[int, list[str]], dict]:
    """Run ``suite`` over ``frame``; return failing row positions with the expectations they failed."""
    if frame.empty:
        return {}, {"evaluated": 0, "successful": 0, "success": True}
    ctx = _context()
    name = suite.name
    definition = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(
            name=name, data=_batch_definition(name), suite=ctx.suites.add_or_update(suite)
        )
    )
    # how many expectations read each column
    readers = Counter(
        getattr(e, name)
        for e in suite.expectations
        for name in ("column", "column_A", "column_B")
        if getattr(e, name, None)
    )
    # GX copies what it is given: hand it only the columns the suite reads (half the time on wide frames)
    data = frame[sorted(readers)].reset_index(drop=True)
    # GX checks uniqueness with pandas' duplicated on text ids; on the ids' exact integer
    # codes the same rows fail in a fraction of that (a column another expectation reads keeps its text)
    for e in suite.expectations:
        if isinstance(e, gxe.ExpectColumnValuesToBeUnique) and readers[e.column] == 1:
            codes = factorize_ids(data[e.column])
            data[e.column] = pd.arrays.IntegerArray(codes, codes < 0)
    result = definition.run(
        batch_parameters={"dataframe": data},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": []},
    )
    failures: dict[int, list[str]] = {}
    summary: dict[str, int | bool] = {
        "evaluated": int(result.statistics["evaluated_expectations"]),
        "successful": int(result.statistics["successful_expectations"]),
        "success": bool(result.success),
    }
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        column = cfg.kwargs.get("column") or cfg.kwargs.get("column_A") or "(table)"
        label = f"{cfg.type}({column})"
        summary[label] = int(r.result.get("unexpected_count") or 0)
        for idx in r.result.get("unexpected_index_list") or []:
            row = idx if isinstance(idx, int) else int(next(iter(idx.values())))
            failures.setdefault(row, []).append(label)
    return failures, summary


def _quarantine_failures(
    frame: pd.DataFrame, failures: dict[int, list[str]], account_id: str, entity: str, key: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not failures:
        return frame, empty_quarantine()
    frame = frame.reset_index(drop=True)
    mask = pd.Series(False, index=frame.index)
    mask[list(failures)] = True
    labels = pd.Series({i: "; ".join(v) for i, v in failures.items()}).reindex(frame.index)
    fields = labels.str.extract(r"\((\w+)\)", expand=False).astype("string")
    # only the failing rows are kept as text records: converting a whole column of timestamps costs seconds
    failing = frame[mask]
    q = quarantine_rows(
        failing.astype(
            {c: "string" for c in failing.columns if str(failing[c].dtype).startswith("datetime")}
        ),
        mask[mask],
        account_id=account_id,
        entity=entity,
        key_column=key,
        field=fields[mask],
        reason=labels[mask],
        check="great_expectations",
        amount_minor=failing.get("amount_minor"),
    )
    return frame[~mask].reset_index(drop=True), q


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


def validate(
    canonical: Canonical,
    *,
    account_id: str,
    interval_start: datetime | None,
    interval_end: datetime | None,
    control_totals: dict[str, int],
) -> Validated:
    """Run the suites, move failing rows to quarantine, and give the batch its verdict."""
    quarantined = [canonical.quarantine]
    expectations: dict[str, dict] = {}

    orders_failures, expectations["orders"] = run_suite(canonical.orders, orders_suite())
    orders, q = _quarantine_failures(
        canonical.orders, orders_failures, account_id, "orders", "external_order_id"
    )
    quarantined.append(q)

    line_failures, expectations["order_lines"] = run_suite(canonical.order_lines, order_lines_suite())
    lines, q = _quarantine_failures(
        canonical.order_lines, line_failures, account_id, "order_lines", "external_line_id"
    )
    quarantined.append(q)

    refunds = canonical.refund_lines
    probe = refunds.assign(
        components_minor=refunds["principal_minor"]
        + refunds["shipping_minor"]
        + refunds["tax_minor"]
        - refunds["promotion_minor"]
        - refunds["restocking_fee_minor"],
        refunded_at_epoch_s=refunds["refunded_at"].astype("int64") // 10**6,
    )
    refund_failures, expectations["refund_lines"] = run_suite(
        probe, refund_lines_suite(interval_start, interval_end)
    )
    refunds, q = _quarantine_failures(
        refunds, refund_failures, account_id, "refund_lines", "external_refund_id"
    )
    quarantined.append(q)

    quarantine = pd.concat([x for x in quarantined if len(x)] or [empty_quarantine()], ignore_index=True)
    identity = money_identity(control_totals, refunds, quarantine, canonical.order_lines)
    verdict = Verdict("pass" if identity["success"] else "hold", [identity])
    return Validated(Canonical(orders, lines, refunds, quarantine), verdict, expectations)
