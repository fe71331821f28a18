"""The reviewer's page in a real browser: headless Debian chromium, driven by playwright, against `make up`
(``python -m acorn_airflow.up``: airflow standalone with ACORN's DAGs, plugin and a loaded warehouse).

A person logs in to Airflow, opens Browse > Refund review, filters, answers one line, approves a selection,
pauses automatic refunds and downloads the export; the warehouse says what they did, under their name. The
screenshots go to ``ACORN_SCREENSHOTS`` (the README's are made with ``ACORN_SCREENSHOTS=docs/screenshots``).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.integration.review.conftest import open_ids

CHROMIUM = Path("/usr/bin/chromium")
try:
    import playwright.sync_api  # noqa: F401

    MISSING = None if CHROMIUM.exists() else "Debian's chromium is not installed (apt-get install chromium)"
except ImportError:
    MISSING = "the playwright package is not installed (make install)"
#: .ci/run sets ACORN_REQUIRE_BROWSER=1 once chromium is there: in CI this test runs, it is never skipped.
REQUIRED = os.environ.get("ACORN_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(
    MISSING is not None and not REQUIRED, reason=f"browser test skipped: {MISSING}"
)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ui(tmp_path, loader_dsn, two_accounts):
    """`make up` on a free port, on the test warehouse with two demo accounts loaded; its URL and password."""
    port, home = _free_port(), tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ACORN_HOME"))}
    env.update({
        "ACORN_HOME": str(home), "ACORN_UI_PORT": str(port), "AIRFLOW_CONN_ACORN_WAREHOUSE": loader_dsn,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "plugins")]),
    })  # fmt: skip
    log = (tmp_path / "up.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "acorn_airflow.up"], env=env, cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2):
                    break
            except OSError as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"make up did not start: {(tmp_path / 'up.log').read_text()[-3000:]}"
                    ) from exc
                time.sleep(1)
        passwords = home / "airflow" / "simple_auth_manager_passwords.json.generated"
        yield url, json.loads(passwords.read_text())["admin"]
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)


def _count(conn, sql, params=()):
    return conn.execute(sql, params).fetchone()[0]


def test_a_reviewer_works_the_queue_in_the_airflow_ui(ui, conn, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    if MISSING:
        pytest.fail(f"ACORN_REQUIRE_BROWSER=1, but {MISSING}")
    url, password = ui
    shots = Path(os.environ.get("ACORN_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    jp_open = len(open_ids(conn, "amazon-jp"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        anonymous = browser.new_context()
        assert anonymous.request.get(f"{url}/acorn/api/items").status == 401
        assert anonymous.request.get(f"{url}/acorn/review/").status == 401
        page = browser.new_page(viewport={"width": 1800, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)  # the page's first answer imports the library: seconds under load

        # log in to Airflow and open Browse > Refund review: the page is inside the Airflow UI
        page.goto(f"{url}/auth/login?next={url}/plugin/acorn-review")
        page.locator("input[name=username]").fill("admin")
        page.locator("input[name=password]").fill(password)
        page.locator("button[type=submit]").click()
        page.wait_for_url("**/plugin/acorn-review")
        frame = page.frame_locator("iframe")
        expect(frame.locator("#who")).to_have_text("admin")
        expect(frame.locator("#queue tbody tr").first).to_be_visible()
        expect(frame.locator("#pageinfo")).to_contain_text(f"({len(open_ids(conn))} items")
        page.screenshot(path=str(shots / "reviewer-page.png"))

        # filter to one account
        frame.locator("select[name=account]").select_option("amazon-jp")
        frame.locator("#filters button[type=submit]").click()
        expect(frame.locator("#pageinfo")).to_contain_text(f"({jp_open} items")
        accounts = frame.locator("#queue tbody tr td:nth-child(2)").all_inner_texts()
        assert accounts
        assert all(a.startswith("amazon-jp") for a in accounts)

        # answer one line, with a comment
        first = frame.locator("#queue tbody tr").first
        item = first.get_attribute("data-item")
        first.locator("input[aria-label=Comment]").fill("photos show use")
        first.get_by_role("button", name="Reject").click()
        expect(frame.locator("#message")).to_contain_text("1 item rejected by admin")
        assert conn.execute(
            "SELECT answer, responded_by, comment, source FROM core.review_item_answers WHERE review_item_id = %s",
            (item,),
        ).fetchone() == ("rejected", "admin", "photos show use", "page")
        expect(frame.locator("#pageinfo")).to_contain_text(f"({jp_open - 1} items")

        # approve the page's selection in bulk
        on_page = frame.locator("#queue tbody tr").count()
        frame.locator("#all").check()
        expect(frame.locator("#selected")).to_have_text(f"{on_page} selected")
        frame.locator("#bulk-comment").fill("checked in bulk")
        frame.get_by_role("button", name="Approve selected").click()
        expect(frame.locator("#message")).to_contain_text(f"{on_page} items approved by admin")
        assert (
            _count(
                conn,
                "SELECT count(*) FROM core.review_item_answers WHERE answer = 'approved' AND responded_by = 'admin' "
                "AND comment = 'checked in bulk'",
            )
            == on_page
        )

        # pause automatic refunds: the page says so on every view, and the change is audited
        frame.locator("#switch-reason").fill("duplicate refunds reported by support")
        frame.locator("#switch-toggle").click()
        expect(frame.locator("#switch-banner")).to_contain_text("PAUSED")
        page.reload()
        expect(page.frame_locator("iframe").locator("#switch-banner")).to_contain_text(
            "duplicate refunds reported by support"
        )
        frame = page.frame_locator("iframe")
        expect(frame.locator("#queue tbody tr").first).to_be_visible()
        page.screenshot(path=str(shots / "reviewer-page-paused.png"))
        assert page.request.get(f"{url}/acorn/api/switch").json()["paused"] is True
        assert conn.execute(
            "SELECT actor, details->>'paused', details->>'reason' FROM core.audit_log "
            "WHERE action = 'kill_switch_changed'"
        ).fetchall() == [("admin", "true", "duplicate refunds reported by support")]

        # download the last 7 days of the operation log
        with page.expect_download() as download:
            frame.locator("#export-csv").click()
        data = Path(download.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        log = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
        answers = log[log["record"] == "review_answer"]
        assert len(answers) == on_page + 1
        assert set(answers["actor"]) == {"admin"}
        assert (log["record"] == "decision").sum() == _count(conn, "SELECT count(*) FROM core.decisions")
        browser.close()
