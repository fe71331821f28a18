"""The reviewer's queue against a real Postgres: the facts per line, filters, sorting and pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acorn.errors import InvalidInput
from acorn.review.answers import answer_items
from acorn.review.queue import QueueFilter, list_items
from tests.integration.review.conftest import open_ids


def _page(conn, **kw):
    filters = QueueFilter(**{k: v for k, v in kw.items() if k in QueueFilter.__dataclass_fields__})
    rest = {k: v for k, v in kw.items() if k not in QueueFilter.__dataclass_fields__}
    return list_items(conn, filters, reporting_currency="EUR", **rest)


def test_each_line_shows_what_a_person_decides_on(conn, two_accounts):
    page = _page(conn, page_size=500)
    assert page.total == len(open_ids(conn))
    refund = next(i for i in page.items if i["kind"] == "refund_decision" and i["account_id"] == "amazon-jp")
    facts = conn.execute(
        "SELECT o.external_order_id, r.external_refund_id, l.sku, r.currency, r.amount_minor, r.reason "
        "FROM core.review_items i JOIN core.refund_lines r USING (refund_uid) "
        "JOIN core.order_lines l ON l.line_uid = r.line_uid JOIN core.orders o ON o.order_uid = r.order_uid "
        "WHERE i.review_item_id = %s",
        (refund["review_item_id"],),
    ).fetchone()
    assert (refund["order_id"], refund["refund_id"], refund["sku"]) == facts[:3]
    assert refund["currency"] == "JPY"
    assert refund["amount"] == f"{facts[4]:,} JPY"
    assert refund["amount_reporting"].endswith(" EUR")
    assert refund["reason"] == facts[5]
    assert refund["rule"]
    assert refund["rule_reason"]
    assert refund["channel"] == "amazon"
    assert refund["marketplace"] == "JP"
    for key in ("category", "channel_reason", "disposition", "days_since_delivery", "liable_party",
                "buyer_refunds_90d", "risk_flags", "claim", "raw_payloads", "batch_id"):  # fmt: skip
        assert key in refund
    assert refund["buyer_refunds_90d"] >= 1  # this refund counts
    assert refund["raw_payloads"] == f"batches/{refund['batch_id']}/raw_payloads"


def test_filters_narrow_the_queue_and_the_money_is_the_selection_s(conn, two_accounts):
    everything = _page(conn, page_size=500)
    jp = _page(conn, account="amazon-jp", page_size=500)
    assert {i["account_id"] for i in jp.items} == {"amazon-jp"}
    assert jp.total == len(open_ids(conn, "amazon-jp")) < everything.total
    rule = jp.items[0]["rule"]
    by_rule = _page(conn, rule=rule, page_size=500)
    assert by_rule.total
    assert {i["rule"] for i in by_rule.items} == {rule}
    amounts = sorted(
        Decimal(i["amount_reporting"].split()[0].replace(",", ""))
        for i in everything.items
        if i["amount_reporting"]
    )
    middle = amounts[len(amounts) // 2]
    upper = _page(conn, min_amount=middle, page_size=500)
    assert upper.total
    assert all(Decimal(i["amount_reporting"].split()[0].replace(",", "")) >= middle for i in upper.items)
    assert _page(conn, min_age_days=1).total == 0  # raised just now
    assert _page(conn, max_age_days=1).total == everything.total
    assert set(everything.facets["account"]) == {"amazon-jp", "shopify-outdoor"}


def test_pages_and_sorting_are_the_warehouse_s(conn, two_accounts):
    total = len(open_ids(conn))
    pages = [_page(conn, sort="amount", descending=True, page=p, page_size=10) for p in (1, 2)]
    assert pages[0].total == total
    assert pages[0].pages == -(-total // 10)
    assert not {i["review_item_id"] for i in pages[0].items} & {i["review_item_id"] for i in pages[1].items}
    top = conn.execute(
        "SELECT max(d.amount_reporting_minor) FROM core.review_items i JOIN core.decisions d USING (refund_uid) "
        "WHERE i.state = 'open'"
    ).fetchone()[0]
    assert pages[0].items[0]["amount_reporting"] == f"{Decimal(top) / 100:,.2f} EUR"


def test_answered_items_leave_the_open_queue_and_show_who_answered(conn, two_accounts):
    [first, *_] = open_ids(conn)
    answer_items(conn, [first], "escalated", responded_by="alice", comment="finance")
    assert first not in {i["review_item_id"] for i in _page(conn, page_size=500).items}
    [answered] = _page(conn, state="answered").items
    assert (answered["state"], answered["answered_by"], answered["answer_comment"]) == (
        "escalated",
        "alice",
        "finance",
    )


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"sort": "buyer_ref"}, "sort"), ({"page": 0}, "page"), ({"page_size": 501}, "page_size"),
     ({"state": "closed"}, "state"), ({"min_amount": Decimal("-1")}, "min_amount"), ({"request_id": "x"}, "request_id")],
)  # fmt: skip
def test_a_bad_parameter_names_its_field(conn, kw, field):
    with pytest.raises(InvalidInput) as raised:
        _page(conn, **kw)
    assert raised.value.field == field
