"""The reviewer's page and its API, mounted by the Airflow API server at ``/acorn`` (see ``acorn_plugin``).

    GET  /acorn/review/                  the page (the Airflow UI shows it under Browse > Refund review)
    GET  /acorn/api/me                   who is logged in and what they may do
    GET  /acorn/api/items                the queue: filters, sort, server-side pages
    POST /acorn/api/answers              approve / reject / escalate one item or a selection, with a comment
    GET  /acorn/api/switch               the kill switch; POST toggles it, with a reason
    GET  /acorn/api/export               the operation log of the last N days, as CSV or Parquet
    GET  /acorn/api/batches/{id}/raw_payloads   the batch's payloads as they arrived (pseudonymized)

Every route needs a logged-in Airflow user (``auth``); bad parameters get a 4xx naming the field and write
nothing. The work is in ``acorn.review``; this module is the HTTP around it.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Body, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from acorn.errors import AcornError, InvalidInput, ItemsTaken, UnknownItems, WarehouseUnavailable
from acorn_airflow.page.auth import AnswererDep, ReviewerDep, SwitcherDep
from acorn_airflow.resources import PAUSE_VARIABLE, switch_on

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"

app = FastAPI(title="ACORN reviewer's page", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")


@app.exception_handler(StarletteHTTPException)
async def _http_errors(request: Request, exc: StarletteHTTPException) -> Response:
    """The page itself answers a missing or expired login with a link to Airflow's login; the API in JSON."""
    if exc.status_code == 401 and request.url.path.rstrip("/").endswith("/review"):
        from airflow.api_fastapi.app import get_auth_manager

        login = get_auth_manager().get_url_login(next_url=str(request.url))
        return HTMLResponse(
            f'<p>Log in to Airflow to review refunds: <a href="{html.escape(login)}">log in</a></p>',
            status_code=401,
        )
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


@app.exception_handler(AcornError)
async def _acorn_errors(request: Request, exc: AcornError) -> Response:
    """ACORN's typed errors as 4xx answers naming the field; nothing was written."""
    if isinstance(exc, UnknownItems):
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=404)
    if isinstance(exc, InvalidInput):
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=422)
    if isinstance(exc, ItemsTaken):
        return JSONResponse({"detail": str(exc), "field": "item_ids", "taken": exc.taken}, status_code=409)
    if isinstance(exc, WarehouseUnavailable):
        return JSONResponse({"detail": str(exc)}, status_code=503)
    log.error("reviewer's page: %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": str(exc)}, status_code=500)


def _warehouse():
    from acorn_airflow.resources import warehouse

    return warehouse()


@lru_cache(maxsize=4)
def _policy(path: str, mtime: float):
    from acorn.policy.rules import load_policy

    return load_policy(Path(path))


def reporting_currency() -> str:
    from acorn.settings import load_settings

    path = load_settings().policy_file
    return _policy(str(path), path.stat().st_mtime).reporting_currency


def paused() -> bool:
    """The kill switch as the Variable holds it now (read from Airflow's metadata DB, as the API server does)."""
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        var = session.scalar(select(Variable).where(Variable.key == PAUSE_VARIABLE))
        value = var.val if var is not None else "false"
    return switch_on(value)


def set_paused(value: bool) -> None:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        var = session.scalar(select(Variable).where(Variable.key == PAUSE_VARIABLE))
        if var is None:
            var = Variable(key=PAUSE_VARIABLE, description=SWITCH_DESCRIPTION)
            session.add(var)
        var.val = "true" if value else "false"


SWITCH_DESCRIPTION = (
    "ACORN kill switch: true sends every automatic approval to review. Change it on the reviewer's page "
    "(Browse > Refund review), which audits who, when and why."
)


def switch_state() -> dict:
    from acorn.review.switch import notice_outside_change

    now = paused()
    with _warehouse() as conn:
        return notice_outside_change(conn, now).to_json()


@app.get("/review/", include_in_schema=False)
def page(who: ReviewerDep) -> FileResponse:
    return FileResponse(STATIC / "review.html", headers={"Cache-Control": "no-store"})


@app.get("/review/static/{name}", include_in_schema=False)
def static_file(name: Literal["review.js", "review.css"], who: ReviewerDep) -> FileResponse:
    return FileResponse(STATIC / name)


@app.get("/api/me")
def me(who: ReviewerDep) -> dict:
    return {
        "name": who.name,
        "can_answer": who.can_answer,
        "can_switch": who.can_switch,
        "switch": switch_state(),
        "reporting_currency": reporting_currency(),
    }


@app.get("/api/items")
def items(
    who: ReviewerDep,
    state: Literal["open", "answered", "all"] = "open",
    account: str | None = None,
    channel: str | None = None,
    kind: Literal["refund_decision", "batch_hold", "anomaly"] | None = None,
    rule: str | None = None,
    reason: str | None = None,
    min_amount: Annotated[Decimal | None, Query(ge=0, max_digits=18)] = None,
    max_amount: Annotated[Decimal | None, Query(ge=0, max_digits=18)] = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    max_age_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    request_id: str | None = None,
    run_id: str | None = None,
    sort: Literal[
        "created_at", "amount", "account", "rule", "reason", "kind", "days_since_delivery"
    ] = "created_at",
    desc: bool = True,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    facets: bool = True,
) -> dict:
    from acorn.review.queue import QueueFilter, list_items

    filters = QueueFilter(
        state=state, account=account or None, channel=channel or None, kind=kind, rule=rule or None,
        reason=reason or None, min_amount=min_amount, max_amount=max_amount, min_age_days=min_age_days,
        max_age_days=max_age_days, request_id=request_id or None, run_id=run_id or None,
    )  # fmt: skip
    with _warehouse() as conn:
        result = list_items(
            conn, filters, reporting_currency=reporting_currency(), sort=sort, descending=desc, page=page,
            page_size=page_size, with_facets=facets,
        )  # fmt: skip
    return {**result.to_json(), "switch_paused": paused()}


class AnswerBody(BaseModel):
    item_ids: list[str] = Field(min_length=1, max_length=10_000)
    answer: Literal["approved", "rejected", "escalated"]
    comment: str = Field(default="", max_length=2000)


@app.post("/api/answers")
def answer(who: AnswererDep, body: Annotated[AnswerBody, Body()]) -> dict:
    """Answer the items, all or none; a review task whose items are now all answered goes on."""
    from acorn_airflow.page.actions import answer_and_go_on

    ids, resumed = answer_and_go_on(
        body.item_ids, body.answer, body.comment, user_id=who.id, user_name=who.name
    )
    return {"answered": len(ids), "answer": body.answer, "by": who.name, "resumed": resumed}


class SwitchBody(BaseModel):
    paused: bool
    reason: str = Field(min_length=1, max_length=500)


@app.get("/api/switch")
def get_switch(who: ReviewerDep) -> dict:
    return switch_state()


@app.post("/api/switch")
def set_switch(who: SwitcherDep, body: Annotated[SwitchBody, Body()]) -> dict:
    """Set the Variable and audit the change in one go: the audit row commits only if the Variable was set."""
    from acorn.review.switch import check_reason, record_change

    reason = check_reason(body.reason)
    was = paused()
    with _warehouse() as conn, conn.transaction():
        state = record_change(conn, paused=body.paused, changed_by=who.name, reason=reason, was=was)
        set_paused(body.paused)
    log.warning("kill switch %s by %s (was %s): %s", "ON" if body.paused else "off", who.name, was, reason)
    return state.to_json()


@app.get("/api/export")
def export(
    who: ReviewerDep,
    days: Annotated[int, Query(ge=1, le=366)] = 7,
    format: Literal["csv", "parquet"] = "csv",
) -> Response:
    from acorn.review.export import operation_log, to_csv, to_parquet

    until = datetime.now(UTC)
    with _warehouse() as conn:
        frame = operation_log(conn, days, until)
    name = f"acorn-operation-log-{days}d-{until:%Y%m%dT%H%M%SZ}.{format}"
    body, media = (to_csv(frame), "text/csv; charset=utf-8") if format == "csv" else (
        to_parquet(frame), "application/vnd.apache.parquet")  # fmt: skip
    log.info("%s exported %d rows of the operation log (%d days) as %s", who.name, len(frame), days, format)
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@app.get("/api/batches/{batch_id}/raw_payloads")
def raw_payloads(who: ReviewerDep, batch_id: str) -> StreamingResponse:
    """The payloads of the batch exactly as the landing area keeps them (buyer data pseudonymized)."""
    import uuid

    from airflow.sdk import ObjectStoragePath

    try:
        batch_id = str(uuid.UUID(batch_id))
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "batch_id: not a batch id") from None
    with _warehouse() as conn:
        row = conn.execute(
            "SELECT landing_uri FROM core.batch_ledger WHERE batch_id = %s", (batch_id,)
        ).fetchone()
    if row is None or not row[0]:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"batch_id: no landed batch {batch_id}")
    path = ObjectStoragePath(row[0]) / "raw_payloads.jsonl.gz"
    if not path.exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the batch's payloads are no longer at {row[0]}")

    def chunks():
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="raw_payloads-{batch_id}.jsonl.gz"'},
    )
