"""The kill switch's history: every change of ``acorn_pause_auto_refunds`` is an event in the audit log.

The Airflow Variable stays the one source of the switch (the pipeline reads it); the reviewer's page sets
it and records here who changed it, when, why, and to what. A change made elsewhere (Admin > Variables, the
CLI) is noticed the next time the page is opened and recorded as such, so the log never says "off" while
the switch is on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg

from acorn.errors import InvalidInput

ACTION = "kill_switch_changed"
MAX_REASON = 500


@dataclass(frozen=True)
class SwitchState:
    paused: bool
    changed_by: str | None
    changed_at: datetime | None
    reason: str | None

    def to_json(self) -> dict:
        return {
            "paused": self.paused,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "reason": self.reason,
        }


def last_change(conn: psycopg.Connection) -> SwitchState | None:
    """The switch as the audit log last recorded it, or None when it was never changed through ACORN."""
    row = conn.execute(
        "SELECT details, actor, occurred_at FROM core.audit_log WHERE action = %s "
        "ORDER BY occurred_at DESC, event_id DESC LIMIT 1",
        (ACTION,),
    ).fetchone()
    if row is None:
        return None
    details, actor, at = row
    return SwitchState(bool(details["paused"]), actor, at, details.get("reason"))


def check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason", "say why the switch changes: it is kept in the audit log")
    if len(reason) > MAX_REASON:
        raise InvalidInput("reason", f"{len(reason)} characters; at most {MAX_REASON}")
    return reason


def record_change(
    conn: psycopg.Connection, *, paused: bool, changed_by: str, reason: str, was: bool, source: str = "page"
) -> SwitchState:
    """Audit one change of the switch (call it in the transaction that the Variable's change depends on)."""
    reason = check_reason(reason)
    at = conn.execute(
        "INSERT INTO core.audit_log (actor, action, details) VALUES (%s, %s, %s) RETURNING occurred_at",
        (changed_by, ACTION, json.dumps({"paused": paused, "was": was, "reason": reason, "source": source})),
    ).fetchone()[0]
    return SwitchState(paused, changed_by, at, reason)


def notice_outside_change(conn: psycopg.Connection, paused: bool) -> SwitchState:
    """The switch as it is now (``paused``, read from the Variable); a change the audit log did not see is
    recorded, by an unknown hand."""
    last = last_change(conn)
    if last is not None and last.paused == paused:
        return last
    if last is None and not paused:
        return SwitchState(False, None, None, None)
    return record_change(
        conn,
        paused=paused,
        changed_by="unknown (outside the reviewer's page)",
        reason="the Variable acorn_pause_auto_refunds was changed outside the reviewer's page",
        was=not paused,
        source="outside",
    )
