"""The load against a real Postgres: idempotent, complete, and honest about money."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from acorn import pipeline
from acorn.errors import LoadError
from acorn.landing import batch_folder, read_frame, read_json, write_frame, write_json
from acorn.risk.flags import SERIAL_WINDOW, history_since
from acorn.warehouse import queries

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
END = START + timedelta(hours=1)
TABLES = (
    "core.orders",
    "core.order_lines",
    "core.refund_lines",
    "core.decisions",
    "core.policy_rules",
    "core.claims",
    "core.review_items",
    "core.quarantine",
    "core.batch_ledger",
)


def snapshot(conn) -> dict:
    out = {}
    for table in TABLES:
        out[table] = conn.execute(
            f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"
        ).fetchone()
    return out


def run_batch(
    conn, account, folder: Path, taxonomy, policy, *, start=START, end=END, as_of=None, tamper=None, load=True
):
    pipeline.extract(
        account,
        start,
        end,
        folder,
        as_of=as_of or end,
        taxonomy=taxonomy,
        pseudonym_key=b"k",
        demo_options=pipeline.DemoOptions(lines_per_hour=120),
    )
    if tamper:
        tamper(folder)
    validated = pipeline.validate_stage(folder, account.id, start, end)
    pipeline.decide_stage(conn, folder, account.id, start, end, policy)
    if not load:
        return validated, None
    return validated, pipeline.load_stage(conn, folder, account.id, start, end, "test-run")


def test_the_same_batch_loaded_twice_gives_identical_tables(conn, fx, accounts, taxonomy, policy, tmp_path):
    account = accounts["amazon-eu"]
    folder = batch_folder(tmp_path, account.id, START, END)
    _, first = run_batch(conn, account, folder, taxonomy, policy)
    before = snapshot(conn)
    _, second = run_batch(conn, account, folder, taxonomy, policy)
    assert not first.replay
    assert first.inserted["refund_lines"] > 0
    assert second.replay
    assert second.batch_id == first.batch_id
    assert snapshot(conn) == before
    actions = [r[0] for r in conn.execute("SELECT action FROM core.audit_log ORDER BY event_id").fetchall()]
    assert actions[-2:] == ["batch_loaded", "batch_replayed"]


def test_each_decision_reads_its_rules_reasons_from_the_policy_rules(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    account = accounts["amazon-eu"]
    start, end = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
    folder = batch_folder(tmp_path, account.id, start, end)
    run_batch(conn, account, folder, taxonomy, policy, start=start, end=end)
    decided = read_frame(folder, "decisions").astype("string")
    shown = pd.DataFrame(
        conn.execute(
            "SELECT refund_uid::text, decision_rule, decision_reason, liability_rule, liability_reason "
            "FROM mart.refunds WHERE outcome IS NOT NULL"
        ).fetchall(),
        columns=["refund_uid", "decision_rule", "decision_reason", "liability_rule", "liability_reason"],
    )
    expected = decided[shown.columns].sort_values("refund_uid", ignore_index=True)
    assert len(expected) > 100
    assert expected["decision_rule"].nunique() > 2
    pd.testing.assert_frame_equal(
        shown.sort_values("refund_uid", ignore_index=True), expected, check_dtype=False
    )
    stored = conn.execute("SELECT kind, count(*) FROM core.policy_rules GROUP BY 1 ORDER BY 1").fetchall()
    assert stored == [
        ("decision", expected["decision_rule"].nunique()),
        ("liability", expected["liability_rule"].nunique()),
    ]


def test_input_equals_loaded_plus_quarantined_per_currency(conn, fx, accounts, taxonomy, policy, tmp_path):
    account = accounts["amazon-na"]
    start, end = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
    folder = batch_folder(tmp_path, account.id, start, end)
    validated, _loaded = run_batch(conn, account, folder, taxonomy, policy, start=start, end=end)
    control = read_json(folder, "control")
    assert validated.verdict == "pass"
    loaded_rows = dict(conn.execute("SELECT currency, count(*) FROM core.refund_lines GROUP BY 1").fetchall())
    quarantined = conn.execute(
        "SELECT count(*) FROM core.quarantine WHERE entity = 'refund_lines'"
    ).fetchone()[0]
    assert sum(loaded_rows.values()) + quarantined == control["read"]["refund_lines"]
    assert quarantined > 0
    loaded_sums = dict(
        conn.execute("SELECT currency, sum(amount_minor) FROM core.refund_lines GROUP BY 1").fetchall()
    )
    readable_q = dict(
        conn.execute(
            "SELECT currency, sum(amount_minor) FROM core.quarantine WHERE entity = 'refund_lines' "
            "AND amount_minor IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    unreadable = conn.execute(
        "SELECT count(*) FROM core.quarantine WHERE entity = 'refund_lines' AND amount_minor IS NULL"
    ).fetchone()[0]
    # what the warehouse cannot show is the unreadable rows' share, within what their order lines could hold
    attributed = read_json(folder, "verdict")["checks"][0]["attributed_to_unreadable_minor"]
    assert unreadable > 0
    assert attributed
    for ccy, total in control["control_totals_minor"].items():
        missing = total - loaded_sums.get(ccy, 0) - readable_q.get(ccy, 0)
        assert missing == attributed.get(ccy, 0), (ccy, missing, unreadable)
    decided = conn.execute("SELECT count(*) FROM core.decisions").fetchone()[0]
    assert decided == sum(loaded_rows.values())


def test_a_batch_whose_money_does_not_add_up_is_held_for_review(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    account = accounts["shopify-outdoor"]
    folder = batch_folder(tmp_path, account.id, START, END)

    def off_by_a_cent(folder):
        control = read_json(folder, "control")
        control["control_totals_minor"]["USD"] += 1
        write_json(folder, "control", control)

    validated, _loaded = run_batch(conn, account, folder, taxonomy, policy, tamper=off_by_a_cent)
    assert validated.verdict == "hold"
    assert validated.checks[0]["differences_minor"] == {"USD": 1}
    assert conn.execute("SELECT count(*) FROM core.refund_lines").fetchone() == (0,)
    assert conn.execute("SELECT status FROM core.batch_ledger").fetchone() == ("held",)
    _kind, summary = conn.execute(
        "SELECT kind, summary FROM core.review_items WHERE kind = 'batch_hold'"
    ).fetchone()
    assert "unexplained {'USD': 1}" in summary


def test_late_data_re_read_adds_only_what_is_new(conn, fx, accounts, taxonomy, policy, tmp_path):
    account = accounts["magento-eu"]
    day, next_day = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
    for hour in range(24):
        s = day + timedelta(hours=hour)
        run_batch(
            conn,
            account,
            batch_folder(tmp_path, account.id, s, s + timedelta(hours=1)),
            taxonomy,
            policy,
            start=s,
            end=s + timedelta(hours=1),
        )
    hourly = snapshot(conn)["core.refund_lines"][0]
    _, daily = run_batch(
        conn,
        account,
        batch_folder(tmp_path, account.id, day, next_day),
        taxonomy,
        policy,
        start=day,
        end=next_day,
        as_of=next_day + timedelta(days=1),
    )
    total = snapshot(conn)["core.refund_lines"][0]
    assert daily.inserted["refund_lines"] == total - hourly > 0
    assert daily.updated["refund_lines"] == 0
    assert daily.updated["decisions"] == 0


def test_a_re_read_stores_each_quarantined_row_once_and_the_summary_counts_it_once(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    from acorn.warehouse.reports import write_daily_summary

    account = accounts["amazon-na"]  # its demo batches hold malformed rows
    day, next_day = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
    for hour in range(24):
        s = day + timedelta(hours=hour)
        end = s + timedelta(hours=1)
        run_batch(
            conn, account, batch_folder(tmp_path, account.id, s, end), taxonomy, policy, start=s, end=end
        )
    hourly = conn.execute("SELECT count(*) FROM core.quarantine").fetchone()[0]
    assert hourly > 0
    run_batch(
        conn,
        account,
        batch_folder(tmp_path, account.id, day, next_day),
        taxonomy,
        policy,
        start=day,
        end=next_day,
        as_of=next_day + timedelta(days=1),
    )
    twice = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM core.quarantine GROUP BY entity, check_name, field, raw_record "
        "HAVING count(*) > 1) d"
    ).fetchone()[0]
    assert twice == 0  # 2 copies of every hourly row before
    stored = conn.execute("SELECT count(*) FROM core.quarantine").fetchone()[0]
    assert hourly <= stored < 2 * hourly
    write_daily_summary(conn, day.date())
    by_currency = dict(conn.execute("SELECT currency, quarantined FROM mart.daily_summary").fetchall())
    assert sum(by_currency.values()) == stored  # each held row counted once, under its own currency
    held = dict(
        conn.execute(
            "SELECT CASE WHEN currency ~ '^[A-Z]{3}$' THEN currency ELSE 'XXX' END, count(*) "
            "FROM core.quarantine GROUP BY 1"
        ).fetchall()
    )
    assert {c: n for c, n in by_currency.items() if n} == held


def test_a_decision_for_a_refund_line_not_in_the_batch_stops_the_whole_load(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    account = accounts["amazon-eu"]
    folder = batch_folder(tmp_path, account.id, START, END)
    run_batch(conn, account, folder, taxonomy, policy, load=False)
    decisions = read_frame(folder, "decisions")
    stray = "00000000-0000-5000-8000-000000000000"
    decisions.loc[3, "refund_uid"] = stray
    write_frame(folder, "decisions", decisions)
    with pytest.raises(
        LoadError, match=f"1 decisions name refund lines that are not in the batch \\(first: {stray}\\)"
    ):
        pipeline.load_stage(conn, folder, account.id, START, END, "test-run")
    for table in ("core.batch_ledger", "core.refund_lines", "core.decisions"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_refunds_whose_order_came_earlier_take_their_context_from_the_warehouse(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    account = accounts["amazon-eu"]
    folder = batch_folder(tmp_path, account.id, START, END)
    run_batch(conn, account, folder, taxonomy, policy)
    with_batch_context = read_frame(folder, "decisions")
    # the same refunds again, as if their order lines and orders had come in an earlier batch
    refunds = read_frame(folder, "valid_refund_lines")
    for name, key in (("valid_order_lines", "line_uid"), ("valid_orders", "order_uid")):
        frame = read_frame(folder, name)
        write_frame(folder, name, frame[~frame[key].isin(refunds[key])])
    report = pipeline.decide_stage(conn, folder, account.id, START, END, policy)
    with_warehouse_context = read_frame(folder, "decisions")
    assert len(with_warehouse_context) == len(refunds) > 0
    assert report.outcomes == with_batch_context["outcome"].value_counts().to_dict()
    pd.testing.assert_frame_equal(with_warehouse_context, with_batch_context)


def test_refund_history_reads_a_lines_refunds_of_any_age_and_a_buyers_since_the_window(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    run_batch(conn, accounts["amazon-eu"], tmp_path, taxonomy, policy)
    stored = queries.refunds_posted(conn, START, END)
    buyers = dict(conn.execute("SELECT order_uid::text, buyer_ref FROM core.orders").fetchall())
    one = stored.iloc[0]
    buyer = buyers[one["order_uid"]]
    later = one["refunded_at"].to_pydatetime() + SERIAL_WINDOW + timedelta(days=1)
    assert history_since(pd.Series([later, later + timedelta(hours=3)]), START) == later - SERIAL_WINDOW
    assert history_since(pd.Series([], dtype="datetime64[us, UTC]"), START) == START - SERIAL_WINDOW

    on_line = queries.refund_history(conn, [one["line_uid"]], [], later - SERIAL_WINDOW)
    assert one["refund_uid"] in set(on_line["refund_uid"])  # the same line: whatever its age
    by_buyer = queries.refund_history(
        conn, [], [buyer], one["refunded_at"].to_pydatetime() - timedelta(seconds=1)
    )
    expected = {
        u for u, o in zip(stored["refund_uid"], stored["order_uid"], strict=True) if buyers[o] == buyer
    }
    assert set(by_buyer["refund_uid"]) == expected
    assert one["refund_uid"] in expected
    assert queries.refund_history(conn, [], [buyer], later - SERIAL_WINDOW).empty  # too old to count


def test_a_value_the_warehouse_refuses_fails_the_batch_naming_it_and_writes_nothing(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    from acorn.errors import BatchDataError

    account = accounts["shopify-outdoor"]
    folder = batch_folder(tmp_path, account.id, START, END)
    run_batch(conn, account, folder, taxonomy, policy, load=False)
    lines = read_frame(folder, "valid_order_lines")
    lines.loc[0, "sku"] = "SKU\x00NUL"  # text Postgres cannot store
    write_frame(folder, "valid_order_lines", lines)
    with pytest.raises(
        BatchDataError, match=r"batch of shopify-outdoor \[2026-11-02 09:00.*nothing was loaded"
    ):
        pipeline.load_stage(conn, folder, account.id, START, END, "test-run")
    for table in ("core.batch_ledger", "core.order_lines", "core.refund_lines"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM core.audit_log WHERE batch_id IS NOT NULL").fetchone()[0] == 0


def test_a_nul_byte_in_one_field_holds_back_its_row_not_the_batch(conn, fx, taxonomy, policy, tmp_path):
    import os

    from acorn.channels.accounts import parse_accounts
    from acorn.settings import INCLUDE

    account = parse_accounts({"accounts": [{"id": "web-shop", "channel": "csv", "source": "live",
        "marketplaces": ["acorn-outdoor.example"], "currency": "EUR", "folder": str(tmp_path / "drop")}]},
        "test")[0]  # fmt: skip
    (tmp_path / "drop").mkdir()
    text = (INCLUDE / "data" / "csv_template" / "refunds_template.csv").read_text(encoding="utf-8")
    drop = tmp_path / "drop" / "refunds.csv"
    drop.write_text(text.replace("JACKET-RED-M", "JACKET\x00RED-M"), encoding="utf-8")
    start, end = datetime(2026, 11, 12, 8, tzinfo=UTC), datetime(2026, 11, 12, 9, tzinfo=UTC)
    os.utime(drop, (start.timestamp() + 60, start.timestamp() + 60))
    folder = batch_folder(tmp_path / "landing", account.id, start, end)
    pipeline.extract(account, start, end, folder, as_of=end, taxonomy=taxonomy, pseudonym_key=b"k",
                     demo_options=pipeline.DemoOptions())  # fmt: skip
    pipeline.validate_stage(folder, account.id, start, end)
    pipeline.decide_stage(conn, folder, account.id, start, end, policy)
    pipeline.load_stage(conn, folder, account.id, start, end, "test-run")  # a BatchDataError at COPY before
    assert conn.execute("SELECT status FROM core.batch_ledger").fetchone()[0] == "loaded"
    assert conn.execute("SELECT count(*) FROM core.order_lines").fetchone()[0] == 2
    field, reason, record = conn.execute(
        "SELECT field, reason, raw_record::text FROM core.quarantine WHERE entity = 'order_lines'"
    ).fetchone()
    assert field == "sku"
    assert "NUL byte" in reason
    assert "JACKET\u2400RED-M" in record


def test_a_re_decision_under_the_same_policy_keeps_the_decision_it_replaces(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    account = accounts["amazon-eu"]
    folder = batch_folder(tmp_path, account.id, START, END)
    run_batch(conn, account, folder, taxonomy, policy)
    first = dict(conn.execute("SELECT refund_uid, outcome FROM core.decisions").fetchall())
    # the same refunds decided again under the same policy version, auto-refunds paused meanwhile
    pipeline.decide_stage(conn, folder, account.id, START, END, policy, paused=True)
    loaded = pipeline.load_stage(conn, folder, account.id, START, END, "test-run-2")
    changed = {uid for uid, outcome in first.items() if outcome == "approve"}
    assert changed
    assert loaded.updated["decisions"] == len(changed)
    history = conn.execute(
        "SELECT refund_uid, outcome, policy_version, superseded_by_batch::text FROM core.decision_history"
    ).fetchall()
    assert {h[0] for h in history} == changed  # gone before: the first decision was overwritten in place
    assert {h[1] for h in history} == {"approve"}
    assert {h[2] for h in history} == {policy.version}
    assert {h[3] for h in history} == {loaded.batch_id}
    now = dict(conn.execute("SELECT refund_uid, outcome FROM core.decisions").fetchall())
    assert {now[uid] for uid in changed} == {"review"}


def test_a_corrected_refund_corrects_its_open_claim_and_review_item_not_what_a_person_acted_on(
    conn, loader_dsn, fx, accounts, taxonomy, policy, tmp_path
):
    account = accounts["amazon-eu"]
    first = batch_folder(tmp_path / "first", account.id, START, END)
    loader = psycopg.connect(loader_dsn, autocommit=True)  # as the pipeline connects: may it correct?
    run_batch(loader, account, first, taxonomy, policy)
    claimed = conn.execute("SELECT refund_uid::text, amount_minor FROM core.claims ORDER BY 1").fetchall()
    reviewed = conn.execute(
        "SELECT refund_uid::text, amount_minor FROM core.review_items WHERE kind = 'refund_decision' ORDER BY 1"
    ).fetchall()
    assert claimed
    assert len(reviewed) >= 2
    shown = reviewed[1][0]  # a person has this one in front of them: its text must stay what they see
    request = conn.execute(
        "INSERT INTO core.review_requests (request_id, dag_id, run_id, item_ids) "
        "SELECT gen_random_uuid(), 'd', 'r', array_agg(review_item_id) FROM core.review_items "
        "WHERE refund_uid = %s RETURNING request_id",
        (shown,),
    ).fetchone()[0]
    conn.execute("UPDATE core.review_items SET request_id = %s WHERE refund_uid = %s", (request, shown))
    halved = {claimed[0][0], reviewed[0][0], shown}

    def corrected(folder):  # the channel re-exports two refunds at half their amount
        refunds = read_frame(folder, "canonical_refund_lines")
        hit = refunds["refund_uid"].astype(str).isin(halved)
        for column in ("principal_minor", "shipping_minor", "tax_minor", "promotion_minor",
                       "restocking_fee_minor", "amount_minor"):  # fmt: skip
            refunds.loc[hit, column] = refunds.loc[hit, column] // 2
        refunds.loc[hit, "amount_minor"] = (
            refunds["principal_minor"] + refunds["shipping_minor"] + refunds["tax_minor"]
            - refunds["promotion_minor"] - refunds["restocking_fee_minor"]
        )[hit]  # fmt: skip
        write_frame(folder, "canonical_refund_lines", refunds)
        control = read_json(folder, "control")
        control["control_totals_minor"] = {
            str(c): int(v) for c, v in refunds.groupby("currency")["amount_minor"].sum().items()
        }
        write_json(folder, "control", control)

    second = batch_folder(tmp_path / "second", account.id, START, END)
    run_batch(loader, account, second, taxonomy, policy, tamper=corrected)
    loader.close()
    now = dict(conn.execute("SELECT refund_uid::text, amount_minor FROM core.claims").fetchall())
    refund_now = dict(conn.execute("SELECT refund_uid::text, amount_minor FROM core.refund_lines").fetchall())
    uid = claimed[0][0]
    assert refund_now[uid] < claimed[0][1]
    assert now[uid] < claimed[0][1]  # the claim kept the amount of the refund before its correction
    old, new = conn.execute(
        "SELECT old_amount_minor, new_amount_minor FROM core.claim_corrections WHERE refund_uid = %s", (uid,)
    ).fetchone()
    assert (old, new) == (claimed[0][1], now[uid])
    item_now = conn.execute(
        "SELECT amount_minor FROM core.review_items WHERE refund_uid = %s AND kind = 'refund_decision'",
        (reviewed[0][0],),
    ).fetchone()[0]
    assert item_now == refund_now[reviewed[0][0]] != reviewed[0][1]
    still_shown = conn.execute(
        "SELECT amount_minor FROM core.review_items WHERE refund_uid = %s AND kind = 'refund_decision'",
        (shown,),
    ).fetchone()[0]
    assert still_shown == reviewed[1][1] != refund_now[shown]
    conn.execute("UPDATE core.claims SET state = 'filed' WHERE refund_uid = %s", (uid,))
    with pytest.raises(
        psycopg.errors.RaiseException, match="is filed already: only an open one is corrected"
    ):
        conn.execute("UPDATE core.claims SET amount_minor = 1 WHERE refund_uid = %s", (uid,))


def _keep_refunds_from(folder, first: int) -> None:
    """The batch as a re-export that lacks its first refunds, its control total with it."""
    refunds = read_frame(folder, "canonical_refund_lines").iloc[first:]
    write_frame(folder, "canonical_refund_lines", refunds)
    control = read_json(folder, "control")
    control["control_totals_minor"] = {
        str(c): int(v) for c, v in refunds.groupby("currency")["amount_minor"].sum().items()
    }
    write_json(folder, "control", control)


def test_a_refund_the_re_export_no_longer_shows_is_kept_and_put_before_a_person(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    account = accounts["amazon-eu"]
    run_batch(conn, account, batch_folder(tmp_path / "first", account.id, START, END), taxonomy, policy)
    loaded = conn.execute("SELECT count(*) FROM core.refund_lines").fetchone()[0]
    gone: list[str] = []

    def without_one(folder):  # the channel's re-export of the interval lacks one refund
        gone.append(str(read_frame(folder, "canonical_refund_lines")["refund_uid"].iloc[0]))
        _keep_refunds_from(folder, 1)

    second = batch_folder(tmp_path / "second", account.id, START, END)
    _, report = run_batch(conn, account, second, taxonomy, policy, tamper=without_one)
    assert report.refunds_absent_from_reread == 1  # silently kept before
    assert conn.execute("SELECT count(*) FROM core.refund_lines").fetchone()[0] == loaded
    item = conn.execute(
        "SELECT refund_uid::text, state, summary FROM core.review_items WHERE kind = 'anomaly'"
    ).fetchone()
    assert item[:2] == (gone[0], "open")
    assert "no longer shows it" in item[2]
    audited = conn.execute(
        "SELECT details->>'count' FROM core.audit_log WHERE action = 'refunds_absent_from_reread'"
    ).fetchone()
    assert audited == ("1",)

    third = batch_folder(tmp_path / "third", account.id, START, END)
    _, report = run_batch(conn, account, third, taxonomy, policy, tamper=lambda f: _keep_refunds_from(f, 2))
    assert report.refunds_absent_from_reread == 2
    assert conn.execute("SELECT count(*) FROM core.review_items WHERE kind = 'anomaly'").fetchone()[0] == 2


def test_what_a_new_decision_no_longer_derives_is_withdrawn_not_left_open(
    conn, loader_dsn, fx, accounts, taxonomy, policy, tmp_path
):
    from acorn.policy.rules import load_policy
    from acorn.settings import load_settings

    text = load_settings().policy_file.read_text(encoding="utf-8")
    claimed_as = 'outcome: claim\n    why: "someone else should bear this cost: open a claim"'
    assert claimed_as in text
    no_claims = tmp_path / "policy.yaml"  # ops turn claims into reviews: a new policy (content) version
    no_claims.write_text(text.replace(claimed_as, 'outcome: review\n    why: "check before claiming"'))
    reviewing = load_policy(no_claims)
    account = accounts["amazon-eu"]
    loader = psycopg.connect(loader_dsn, autocommit=True)
    run_batch(loader, account, batch_folder(tmp_path / "a", account.id, START, END), taxonomy, policy)
    claims = dict(conn.execute("SELECT claim_id::text, amount_minor FROM core.claims").fetchall())
    items = conn.execute("SELECT count(*) FROM core.review_items WHERE kind = 'refund_decision'").fetchone()[
        0
    ]
    assert claims
    assert items
    filed = next(iter(claims))  # a person filed this one already: it stays as it is
    conn.execute("UPDATE core.claims SET state = 'filed' WHERE claim_id = %s", (filed,))

    _, report = run_batch(
        loader, account, batch_folder(tmp_path / "b", account.id, START, END), taxonomy, reviewing
    )
    loader.close()
    states = dict(conn.execute("SELECT claim_id::text, state FROM core.claims").fetchall())
    assert states == {c: "filed" if c == filed else "withdrawn" for c in claims}  # all left open before
    open_items = conn.execute(
        "SELECT count(*) FROM core.review_items WHERE kind = 'refund_decision' AND state = 'open'"
    ).fetchone()[0]
    withdrawn_items = conn.execute(
        "SELECT count(*) FROM core.review_items WHERE kind = 'refund_decision' AND state = 'withdrawn'"
    ).fetchone()[0]
    assert withdrawn_items == items  # the old version's questions: a person was asked twice before
    assert open_items == report.review_items > items  # the new version asks anew, claims now included
    assert report.withdrawn == {"claims": len(claims) - 1, "review_items": items}
    audit = conn.execute(
        "SELECT details->>'count' FROM core.audit_log WHERE action = 'claims_withdrawn'"
    ).fetchone()
    assert audit == (str(len(claims) - 1),)
    with pytest.raises(psycopg.errors.RaiseException, match="cannot go from withdrawn to filed"):
        conn.execute("UPDATE core.claims SET state = 'filed' WHERE state = 'withdrawn'")
    with pytest.raises(psycopg.errors.RaiseException, match="cannot go from filed to open"):
        conn.execute("UPDATE core.claims SET state = 'open' WHERE claim_id = %s", (filed,))


def test_a_single_currency_channels_refunds_were_presented_in_their_own_currency(
    conn, fx, accounts, taxonomy, policy, tmp_path
):
    account = accounts["amazon-jp"]
    run_batch(conn, account, batch_folder(tmp_path, account.id, START, END), taxonomy, policy)
    rows = conn.execute(
        "SELECT currency, amount_minor, presentment_currency, presentment_amount_minor FROM core.refund_lines"
    ).fetchall()
    assert rows
    assert all((c, a) == (pc, pa) for c, a, pc, pa in rows)
    mart = conn.execute(
        "SELECT presentment_currency, sum(presentment_amount) = sum(amount) FROM mart.refunds GROUP BY 1"
    ).fetchall()
    assert mart == [("JPY", True)]


@pytest.mark.parametrize("name", ["claims", "review_items"])
def test_withdrawing_hash_joins_the_batch_ids_instead_of_nesting_loops(conn, name):
    """``NOT (id = ANY(array))`` per row, or the nested loops the planner picks for rows just written (no
    statistics yet), are quadratic: a million-line batch's withdraw step ran for minutes (``make bench``). On
    an empty table, as in the load's transaction, the statements must be planned as hash joins."""
    from acorn.warehouse.load import WITHDRAW, hash_joins_only

    ids = [str(uuid.uuid4()) for _ in range(3)]
    batch = str(uuid.uuid4())
    params = (batch, ids, ids) if name == "claims" else ("acorn", batch, ids, ids)
    with conn.transaction(), hash_joins_only(conn.cursor()) as cur:
        plan = "\n".join(r[0] for r in cur.execute(f"EXPLAIN {WITHDRAW[name]}", params).fetchall())
    assert "Hash Anti Join" in plan
    assert "Nested Loop" not in plan
    assert "= ANY" not in plan
    assert conn.execute("SHOW enable_nestloop").fetchone()[0] == "on"  # only for these statements
