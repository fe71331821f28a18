"""Validate a canonical batch: GX row-level expectations -> quarantine, money identity -> batch verdict.

The verdict is ``pass`` or ``hold``. A held batch is not loaded (only its ledger row, quarantine and a
review item are): its money does not add up against the channel's own control totals, which no row-level
fix explains.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from acorn.columns import factorize_ids
from acorn.normalize import Canonical, empty_quarantine, quarantine_rows
from acorn.quality.gx import ProgressBarsConfig, gx, gxe, skip_batch_fingerprints
from acorn.quality.suites import order_lines_suite, orders_suite, refund_lines_suite
from acorn.recon.control_totals import money_identity


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
    skip_batch_fingerprints()
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
