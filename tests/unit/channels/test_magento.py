"""The Magento REST client against the fake store: searchCriteria pages, the repeated last page, the mapping."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from acorn.channels.http import CredentialError, RetryPolicy
from acorn.channels.magento import MagentoClient, to_raw
from acorn.normalize import normalize
from tests.fakes.dataset import demo_dataset
from tests.fakes.magento import FakeMagento

START = datetime(2026, 11, 20, 10, tzinfo=UTC)
END = START + timedelta(hours=4)
KEY = b"k" * 16
CATEGORIES = {"SKU-APP": "apparel", "SKU-ELE": "electronics", "SKU-BEA": "beauty", "SKU-HOM": "home"}


@pytest.fixture(scope="module")
def store(accounts):
    return dataclasses.replace(
        accounts["magento-eu"],
        source="live",
        connection_id="magento_eu",
        extra={"sku_categories": CATEGORIES},
    )


@pytest.fixture(scope="module")
def store_data(store, taxonomy):
    return demo_dataset(store, START, END, taxonomy, KEY)


def client(fake: FakeMagento, token: str = "magento-integration-token") -> MagentoClient:
    return MagentoClient(
        fake.url,
        token,
        label="connection 'magento_eu'",
        policy=RetryPolicy(attempts=4, backoff_s=0.001, max_backoff_s=60.0, sleep=lambda s: None),
        page_size=9,
    )


@pytest.mark.parametrize("lying_total", [0, 50], ids=["true-total", "total-count-too-high"])
def test_every_record_arrives_once_even_when_magento_repeats_its_last_page(
    store, store_data, taxonomy, lying_total
):
    with FakeMagento(store_data) as fake:
        fake.total_count_bonus = lying_total
        fake.fail(2, 503)
        log = client(fake).fetch(START, END)
        memo_pages = [
            r.query["searchCriteria[currentPage]"] for r in fake.calls("/rest/default/V1/creditmemos")
        ]
    got = normalize(to_raw(store, log), taxonomy, KEY)
    want = store_data.canonical
    expected_pages = -(-len(want.refund_lines) // 9)
    # with a lying total the client reads the repeated last page once, sees nothing new and stops; page 2 is
    # asked twice: the 503 and its retry (memos are searched first)
    assert memo_pages.count("2") == 2
    assert len(memo_pages) == expected_pages + (1 if lying_total else 0) + 1
    assert got.quarantine.empty
    g = got.refund_lines.sort_values("refund_uid").reset_index(drop=True)
    w = want.refund_lines.sort_values("refund_uid").reset_index(drop=True)
    assert g["refund_uid"].is_unique
    assert g["refund_uid"].tolist() == w["refund_uid"].tolist()
    money = [
        "principal_minor",
        "shipping_minor",
        "tax_minor",
        "promotion_minor",
        "restocking_fee_minor",
        "amount_minor",
    ]
    pd.testing.assert_frame_equal(g[[*money, "currency", "refunded_at", "quantity", "raw_reason", "reason"]],
                                  w[[*money, "currency", "refunded_at", "quantity", "raw_reason", "reason"]])  # fmt: skip
    to_stock = w["disposition"] == "SELLABLE"  # back_to_stock, normalized
    assert to_stock.any()
    assert (g.loc[to_stock, "disposition"] == "SELLABLE").all()
    assert g.loc[~to_stock, "disposition"].isna().all()
    assert len(got.orders) == len(want.orders)
    gl = got.order_lines.sort_values("line_uid").reset_index(drop=True)
    wl = want.order_lines.sort_values("line_uid").reset_index(drop=True)
    cols = ["line_uid", "order_uid", "category", "quantity", "currency", "principal_minor", "tax_minor",
            "promotion_minor", "shipped_at"]  # fmt: skip
    pd.testing.assert_frame_equal(gl[cols], wl[cols])


def test_a_revoked_token_stops_with_the_connection_named(store_data):
    with FakeMagento(store_data) as fake, pytest.raises(CredentialError, match="connection 'magento_eu'"):
        client(fake, token="expired").fetch(START, END)


def test_an_adjustment_only_credit_memo_is_quarantined_with_its_money_not_dropped(store, taxonomy):
    from acorn.channels.payloads import PayloadLog

    memo = {"entity_id": 9, "order_id": 4, "created_at": "2026-11-20 10:30:00", "order_currency_code": "EUR",
            "grand_total": 15.0, "adjustment_positive": 15.0, "items": [], "comments": [{"comment": "Goodwill"}]}  # fmt: skip
    log = PayloadLog()
    log.add("creditmemos", "GET test", 200, json.dumps({"items": [memo], "total_count": 1}))
    got = normalize(to_raw(store, log), taxonomy, KEY)
    assert got.refund_lines.empty
    row = got.quarantine.iloc[0]
    assert (row["source_key"], row["currency"], row["amount_minor"]) == ("memo-9", "EUR", 1500)


def test_the_connections_endpoint_extra_points_the_client_at_another_server(store, store_data):
    from acorn.channels.base import ConnectionInfo
    from tests.fakes.fetching import fetch

    with FakeMagento(store_data) as fake:
        conn = ConnectionInfo(
            "magento_eu", host="https://shop.invalid", password=fake.token, extra={"endpoint": fake.url}
        )
        log = fetch(store, conn, START, END, now=END)  # went to shop.invalid: endpoint was ignored
    assert len(log) > 0
    assert len(fake.calls(".*orders.*")) > 0


def test_a_memo_of_the_interval_comes_with_its_order_changed_since_and_a_memo_changed_later_stays_out(
    store, store_data, taxonomy
):
    with FakeMagento(store_data) as fake:
        memo = fake.entities["creditmemos"][0]
        order = next(o for o in fake.entities["orders"] if o["entity_id"] == memo["order_id"])
        order["updated_at"] = "2026-11-29 12:00:00"  # the order changed days after the interval
        late = fake.entities["creditmemos"][1]
        late["created_at"] = "2026-11-19 09:00:00"  # an earlier interval's memo, commented on in this one
        log = client(fake).fetch(START, END)
        searches = [r.query for r in fake.calls("/rest/default/V1/orders")]
    raw = to_raw(store, log)
    memo_ids = {str(i["entity_id"]) for i in memo["items"]}
    late_ids = {str(i["entity_id"]) for i in late["items"]}
    assert memo_ids <= set(raw.refunds["external_refund_id"])
    assert not late_ids & set(raw.refunds["external_refund_id"])  # read again, quarantined as outside before
    assert str(memo["order_id"]) in set(raw.orders["external_order_id"])  # its order was not seen before
    by_id = [
        q for q in searches if q.get("searchCriteria[filter_groups][0][filters][0][field]") == "entity_id"
    ]
    assert by_id
    assert normalize(raw, taxonomy, KEY).quarantine.empty


def test_a_search_page_of_the_wrong_shape_is_quarantined_by_name_and_the_others_are_read(
    store, store_data, taxonomy
):
    with FakeMagento(store_data) as fake:
        log = client(fake).fetch(START, END)
    log.add("orders", "GET /V1/orders page 9", 200, '{"message": "Internal Error. Details are available"}')
    got = normalize(to_raw(store, log), taxonomy, KEY)  # raised PayloadError for the whole batch before
    assert len(got.refund_lines) == len(store_data.canonical.refund_lines)
    q = got.quarantine.iloc[0]
    assert q["source_file"].endswith("(orders GET /V1/orders page 9)")
    assert (q["field"], q["reason"]) == ("items", "missing from the search result")
