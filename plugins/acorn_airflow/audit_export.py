"""The operation log export as a task: the last ``days`` days, as CSV and Parquet in the landing area."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from airflow.sdk import get_current_context, task

from acorn_airflow.batch import NO_RETRY_ON_CONFIG

log = logging.getLogger(__name__)


@task(retry_policy=NO_RETRY_ON_CONFIG)
def export_operation_log() -> dict:
    """Write ``exports/operation-log-<days>d-<time>.{csv,parquet}`` under the landing area; return where."""
    from acorn.review.export import operation_log, to_csv, to_parquet
    from acorn_airflow.resources import landing_root, warehouse

    ctx = get_current_context()
    days = int(ctx["params"]["days"])
    until = ctx["logical_date"] or datetime.now(UTC)
    with warehouse() as conn:
        frame = operation_log(conn, days, until)
    folder = landing_root() / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"operation-log-{days}d-{until:%Y%m%dT%H%M%SZ}"
    written = {}
    for suffix, encode in (("csv", to_csv), ("parquet", to_parquet)):
        path = folder / f"{stem}.{suffix}"
        with path.open("wb") as fh:
            fh.write(encode(frame))
        written[suffix] = str(path)
    counts = frame["record"].value_counts().to_dict()
    log.info(
        "operation log of the %d days to %s: %d rows %s, written to %s",
        days,
        until,
        len(frame),
        counts,
        written,
    )
    return {
        "rows": len(frame),
        "by_record": counts,
        "files": written,
        "days": days,
        "until": until.isoformat(),
    }
