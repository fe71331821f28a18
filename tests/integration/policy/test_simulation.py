"""Simulation over stored refunds: a proposed policy is compared with the one in force, nothing is decided."""

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from acorn.landing import batch_folder
from acorn.policy.fx import read_ecb_csv
from acorn.policy.rules import load_policy
from acorn.policy.simulate import format_report, main, simulate
from acorn.settings import load_settings
from acorn.warehouse.load import load_fx_rates
from tests.integration.warehouse.test_batch_load import run_batch

DAY = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def stored_day(conn, accounts, taxonomy, policy, tmp_path):
    load_fx_rates(conn, read_ecb_csv(load_settings().fx_file), "test")
    account = accounts["amazon-eu"]
    run_batch(
        conn,
        account,
        batch_folder(tmp_path, account.id, DAY, DAY + timedelta(days=1)),
        taxonomy,
        policy,
        start=DAY,
        end=DAY + timedelta(days=1),
    )
    return conn


def _stricter(tmp_path):
    """The default policy with the high-value threshold lowered from 250.00 to 50.00 EUR."""
    data = yaml.safe_load(load_settings().policy_file.read_text())
    data["version"] = "2026.12.0-proposed"
    for rule in data["decision_rules"]:
        if rule["id"] == "D040-high-value":
            rule["when"]["amount_reporting"]["gte"] = "50.00"
    path = tmp_path / "proposed.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_stricter_threshold_shows_more_review_and_decides_nothing(stored_day, policy, tmp_path):
    conn = stored_day
    decisions_before = conn.execute(
        "SELECT count(*), md5(string_agg(d::text, '' ORDER BY refund_uid)) FROM core.decisions d"
    ).fetchone()
    stored = dict(conn.execute("SELECT outcome, count(*) FROM core.decisions GROUP BY 1").fetchall())
    report = simulate(
        conn, policy, load_policy(_stricter(tmp_path)), DAY, DAY + timedelta(days=1), requested_by="test"
    )
    assert report["refund_lines"] == sum(stored.values())
    assert report["current"]["outcomes"] == stored
    assert report["review_load_delta"] > 0
    assert report["proposed"]["outcomes"]["review"] == stored["review"] + report["review_load_delta"]
    assert set(report["transitions"]) <= {"approve->review", "claim->review", "reject->review"}
    assert report["current"]["refunded_reporting_minor"] == report["proposed"]["refunded_reporting_minor"]
    assert (
        conn.execute(
            "SELECT count(*), md5(string_agg(d::text, '' ORDER BY refund_uid)) FROM core.decisions d"
        ).fetchone()
        == decisions_before
    )
    stored_report = conn.execute(
        "SELECT proposed_version, report->>'changed_lines' FROM core.policy_simulations"
    ).fetchone()
    assert stored_report[0].startswith("2026.12.0-proposed+")  # the version with its rules' hash
    assert stored_report[1] == str(report["changed_lines"])
    assert "review load: +" in format_report(report)


def test_the_same_policy_changes_nothing(stored_day, policy):
    report = simulate(stored_day, policy, policy, DAY, DAY + timedelta(days=1), requested_by="test")
    assert report["changed_lines"] == 0
    assert report["transitions"] == {}


def test_cli_prints_the_comparison(stored_day, warehouse_dsn, tmp_path, capsys):
    code = main(
        [
            "--policy",
            str(_stricter(tmp_path)),
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-03",
            "--dsn",
            warehouse_dsn,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "vs  proposed 2026.12.0-proposed" in out
    assert "stored as core.policy_simulations" in out
