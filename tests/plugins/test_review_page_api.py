"""The reviewer's page API as the Airflow API server serves it: Airflow's own app with ACORN's plugin mounted,
Airflow's auth manager checking real tokens, a real warehouse behind it."""

from __future__ import annotations

import gzip
import io

import jwt
import pandas as pd
import pytest

from acorn_airflow.page.app import paused
from tests.integration.review.conftest import open_ids

USERS = {"alice": "admin", "uma": "user", "victor": "viewer"}


@pytest.fixture(scope="module")
def api(airflow_db):
    import os

    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = ",".join(f"{u}:{r}" for u, r in USERS.items())
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app()) as client:
        yield client


def token(user: str, expires_in: int = 600) -> str:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(
        SimpleAuthManagerUser(username=user, role=USERS[user]), expiration_time_in_seconds=expires_in
    )


def auth(user: str) -> dict:
    return {"Authorization": f"Bearer {token(user)}"}


@pytest.fixture
def empty_warehouse(monkeypatch, loader_dsn, conn):
    monkeypatch.setenv("AIRFLOW_CONN_ACORN_WAREHOUSE", loader_dsn)
    return conn


@pytest.fixture
def warehouse(empty_warehouse, two_accounts):
    return empty_warehouse


ENDPOINTS = [
    ("GET", "/acorn/review/", None),
    ("GET", "/acorn/api/me", None),
    ("GET", "/acorn/api/items", None),
    (
        "POST",
        "/acorn/api/answers",
        {"item_ids": ["00000000-0000-0000-0000-000000000000"], "answer": "approved"},
    ),
    ("GET", "/acorn/api/switch", None),
    ("POST", "/acorn/api/switch", {"paused": True, "reason": "x"}),
    ("GET", "/acorn/api/export", None),
    ("GET", "/acorn/api/batches/00000000-0000-0000-0000-000000000000/raw_payloads", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_needs_a_valid_airflow_token(api, empty_warehouse, method, path, body):
    def call(headers=None, cookies=None):
        api.cookies.clear()
        for k, v in (cookies or {}).items():
            api.cookies.set(k, v)
        return api.request(method, path, json=body, headers=headers or {})

    assert call().status_code == 401
    assert call({"Authorization": f"Bearer {token('alice', expires_in=-60)}"}).status_code == 401
    forged = jwt.encode(
        {"sub": "alice", "role": "admin", "aud": "apache-airflow"}, "not-the-key", algorithm="HS512"
    )
    assert call({"Authorization": f"Bearer {forged}"}).status_code == 403
    assert call(cookies={"_token": forged}).status_code == 403
    assert call(auth("alice")).status_code not in (401, 403)
    assert call(cookies={"_token": token("alice")}).status_code not in (401, 403)  # the UI's own cookie


def test_a_viewer_reads_the_queue_but_answers_nothing_and_a_user_answers_but_cannot_pause(api, warehouse):
    ids = open_ids(warehouse)
    assert api.get("/acorn/api/items", headers=auth("victor")).json()["total"] == len(ids)
    body = {"item_ids": ids[:1], "answer": "approved"}
    assert api.post("/acorn/api/answers", json=body, headers=auth("victor")).status_code == 403
    assert (
        api.post("/acorn/api/switch", json={"paused": True, "reason": "r"}, headers=auth("uma")).status_code
        == 403
    )
    me = api.get("/acorn/api/me", headers=auth("uma")).json()
    assert (me["name"], me["can_answer"], me["can_switch"]) == ("uma", True, False)
    assert warehouse.execute("SELECT count(*) FROM core.review_item_answers").fetchone()[0] == 0


def test_answers_carry_the_airflow_user_and_a_second_reviewer_finds_the_item_taken(api, warehouse):
    ids = open_ids(warehouse)
    one = api.post("/acorn/api/answers", json={"item_ids": ids[:1], "answer": "rejected", "comment": "used"},
                   headers=auth("uma"))  # fmt: skip
    assert one.status_code == 200
    assert one.json()["answered"] == 1
    bulk = api.post(
        "/acorn/api/answers", json={"item_ids": ids[1:4], "answer": "approved"}, headers=auth("alice")
    )
    assert bulk.json()["answered"] == 3
    again = api.post(
        "/acorn/api/answers", json={"item_ids": ids[:2], "answer": "approved"}, headers=auth("alice")
    )
    assert again.status_code == 409
    assert set(again.json()["taken"]) == set(ids[:2])
    rows = warehouse.execute(
        "SELECT responded_by, answer, count(*) FROM core.review_item_answers GROUP BY 1, 2 ORDER BY 1"
    ).fetchall()
    assert rows == [("alice", "approved", 3), ("uma", "rejected", 1)]


BAD_ANSWERS = [
    ({"item_ids": ["00000000-0000-0000-0000-000000000000"], "answer": "approved"}, 404, "item_ids"),
    ({"item_ids": ["nope"], "answer": "approved"}, 422, "item_ids"),
    ({"item_ids": None, "answer": "maybe"}, 422, "answer"),
    ({"item_ids": None, "answer": "approved", "comment": "x" * 2001}, 422, "comment"),
    ({"item_ids": [], "answer": "approved"}, 422, "item_ids"),
    ({"item_ids": None}, 422, "answer"),
]


def test_bad_answers_get_a_4xx_naming_the_field_and_write_nothing(api, warehouse):
    for body, status, field in BAD_ANSWERS:
        if body["item_ids"] is None:
            body = {**body, "item_ids": open_ids(warehouse)[:1]}
        answer = api.post("/acorn/api/answers", json=body, headers=auth("alice"))
        assert answer.status_code == status, body
        detail = answer.json()
        named = detail.get("field") or [e["loc"][-1] for e in detail["detail"]]
        assert field in named, detail
    assert warehouse.execute("SELECT count(*) FROM core.review_item_answers").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [("page=x", "page"), ("page_size=0", "page_size"), ("min_amount=lots", "min_amount"), ("sort=buyer", "sort"),
     ("kind=other", "kind"), ("max_age_days=-1", "max_age_days")],
)  # fmt: skip
def test_a_bad_filter_gets_a_422_naming_it(api, empty_warehouse, query, field):
    answer = api.get(f"/acorn/api/items?{query}", headers=auth("alice"))
    assert answer.status_code == 422
    assert field in [e["loc"][-1] for e in answer.json()["detail"]]


def test_filters_and_pages_come_from_the_warehouse(api, warehouse):
    jp = api.get("/acorn/api/items?account=amazon-jp&page_size=5&sort=amount", headers=auth("alice")).json()
    assert jp["total"] == len(open_ids(warehouse, "amazon-jp"))
    assert len(jp["items"]) == 5
    assert {i["account_id"] for i in jp["items"]} == {"amazon-jp"}


def test_the_kill_switch_sets_the_variable_and_audits_who_and_why(api, warehouse):

    on = api.post(
        "/acorn/api/switch", json={"paused": True, "reason": "duplicate refunds"}, headers=auth("alice")
    )
    assert on.status_code == 200
    assert on.json()["paused"] is True
    assert paused() is True
    assert api.get("/acorn/api/items", headers=auth("victor")).json()["switch_paused"] is True
    assert (
        api.post("/acorn/api/switch", json={"paused": False, "reason": ""}, headers=auth("alice")).status_code
        == 422
    )
    api.post("/acorn/api/switch", json={"paused": False, "reason": "fixed"}, headers=auth("alice"))
    assert paused() is False
    events = warehouse.execute(
        "SELECT actor, details->>'paused', details->>'reason' FROM core.audit_log "
        "WHERE action = 'kill_switch_changed' ORDER BY event_id"
    ).fetchall()
    assert events == [("alice", "true", "duplicate refunds"), ("alice", "false", "fixed")]


def test_the_export_and_the_raw_payloads_download(api, warehouse):
    [item] = open_ids(warehouse)[:1]
    api.post("/acorn/api/answers", json={"item_ids": [item], "answer": "escalated", "comment": "@finance"},
             headers=auth("alice"))  # fmt: skip
    csv = api.get("/acorn/api/export?days=7&format=csv", headers=auth("victor"))
    assert csv.status_code == 200
    assert "attachment" in csv.headers["content-disposition"]
    assert csv.content.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    answer = frame[frame["record"] == "review_answer"]
    assert list(answer["comment"]) == ["'@finance"]
    parquet = pd.read_parquet(
        io.BytesIO(api.get("/acorn/api/export?format=parquet", headers=auth("alice")).content)
    )
    assert len(parquet) == len(frame)
    assert api.get("/acorn/api/export?days=0", headers=auth("alice")).status_code == 422
    batch = warehouse.execute("SELECT batch_id::text FROM core.batch_ledger LIMIT 1").fetchone()[0]
    raw = api.get(f"/acorn/api/batches/{batch}/raw_payloads", headers=auth("alice"))
    assert raw.status_code == 200
    assert gzip.decompress(raw.content).strip()
