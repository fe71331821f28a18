"""What each stage of a batch reports: typed, small, and safe to pass through XCom and to log.

A report names its account, its landing folder and its interval, and counts and sums (minor units per
currency) of what the stage read, kept, quarantined, decided or loaded. ``to_xcom`` gives plain JSON (the
interval as two ISO 8601 instants); ``from_xcom`` reads it back typed, so that no task re-parses a window.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self


@dataclass(frozen=True)
class Interval:
    """A data interval ``[start, end)``, in UTC."""

    start: datetime
    end: datetime

    def to_xcom(self) -> list[str]:
        return [self.start.isoformat(), self.end.isoformat()]

    @classmethod
    def from_xcom(cls, value: list[str] | tuple[str, str]) -> Interval:
        start, end = value
        return cls(datetime.fromisoformat(start), datetime.fromisoformat(end))

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


@dataclass(frozen=True)
class StageReport:
    account_id: str
    landing: str
    interval: Interval

    def to_xcom(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["interval"] = self.interval.to_xcom()
        return out

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> Self:
        """The report as ``to_xcom`` gave it; also as a run from before the typed reports left it in XCom (the
        interval under ``window``, and the earlier stages' fields), so that on-call can clear a task of such a
        run after an upgrade."""
        value = dict(value)
        if "interval" not in value and "window" in value:
            value["interval"] = value.pop("window")
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in value.items() if k in names and k != "interval"}
        return cls(**fields, interval=Interval.from_xcom(value["interval"]))


@dataclass(frozen=True)
class ExtractReport(StageReport):
    source: str
    #: payloads kept in the landing folder as received
    payloads: int
    #: records the channel returned, per entity (and rows the mapper held back, refunds of other intervals)
    read: dict[str, int]
    kept: dict[str, int]
    quarantined: int
    control_totals_minor: dict[str, int]
    refunds_minor: dict[str, int]


@dataclass(frozen=True)
class ValidateReport(StageReport):
    verdict: str
    checks: list[dict[str, Any]]
    expectations: dict[str, dict[str, Any]]
    kept: dict[str, int]
    quarantined: int
    quarantined_by_field: dict[str, int]
    refunds_minor: dict[str, int]


@dataclass(frozen=True)
class DecideReport(StageReport):
    policy_version: str
    auto_refunds_paused: bool
    verdict: str
    outcomes: dict[str, int]
    liability: dict[str, int]
    categories: dict[str, int]
    claims: int
    review_items: int
    refunds_reporting_minor: int
    reporting_currency: str


@dataclass(frozen=True)
class LoadReport(StageReport):
    batch_id: str
    replay: bool
    verdict: str
    inserted: dict[str, int]
    updated: dict[str, int]
    loaded_refunds_minor: dict[str, int]
    quarantined: int
    review_items: int
    review_minor: dict[str, int]
    refunds_absent_from_reread: int
    withdrawn: dict[str, int]
    #: the decide stage's outcomes, carried for the run's summary
    outcomes: dict[str, int] = field(default_factory=dict)
