"""The Shopify GraphQL client against the fake shop: pages, the cost throttle, 5xx, auth, the mapping."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from acorn.channels.http import ChannelError, CredentialError, RetryPolicy
from acorn.channels.shopify import ShopifyClient, to_raw
from acorn.normalize import normalize
from tests.fakes.dataset import demo_dataset
from tests.fakes.shopify import FakeShopify

START = datetime(2026, 11, 20, 10, tzinfo=UTC)
END = START + timedelta(hours=4)
KEY = b"k" * 16


@pytest.fixture(scope="module")
def shop(accounts):
    return dataclasses.replace(accounts["shopify-outdoor"], source="live", connection_id="shopify_outdoor")


@pytest.fixture(scope="module")
def shop_data(shop, taxonomy):
    return demo_dataset(shop, START, END, taxonomy, KEY)


def client(fake: FakeShopify, sleeps: list[float], token: str = "shpat_fake") -> ShopifyClient:
    return ShopifyClient(
        "acorn-outdoor.myshopify.com",
        token,
        label="connection 'shopify_outdoor'",
        endpoint=fake.url,
        policy=RetryPolicy(attempts=4, backoff_s=0.001, max_backoff_s=60.0, sleep=sleeps.append),
        page_size=10,
    )


def test_every_order_and_refund_arrives_once_through_pages_throttling_and_5xx(shop, shop_data, taxonomy):
    sleeps: list[float] = []
    with FakeShopify(shop_data) as fake:
        fake.throttle_at = {3}
        fake.fail(5, 502)
        log = client(fake, sleeps).fetch(START, END)
        pages = len(fake.requests)
    got = normalize(to_raw(shop, log), taxonomy, KEY)
    want = shop_data.canonical

    assert pages >= len(want.orders) // 10 + 2  # several pages, plus the throttled and the failed call
    assert any(s > 0.5 for s in sleeps)  # waited for the bucket to refill at restoreRate
    assert got.quarantine.empty
    g = got.refund_lines.sort_values("refund_uid").reset_index(drop=True)
    w = want.refund_lines.sort_values("refund_uid").reset_index(drop=True)
    assert g["refund_uid"].is_unique
    assert g["refund_uid"].tolist() == w["refund_uid"].tolist()
    same = [
        "amount_minor",
        "tax_minor",
        "shipping_minor",
        "restocking_fee_minor",
        "currency",
        "refunded_at",
        "quantity",
    ]
    pd.testing.assert_frame_equal(g[same], w[same])
    # Shopify gives the refunded subtotal net of discounts
    assert (g["principal_minor"] == w["principal_minor"] - w["promotion_minor"]).all()
    assert (g["promotion_minor"] == 0).all()
    returned = ~w["returnless"]
    assert (g.loc[returned, "reason"] == w.loc[returned, "reason"]).all()
    assert (g.loc[returned, "disposition"] == w.loc[returned, "disposition"]).all()
    assert (g.loc[~returned, "reason"] == "UNMAPPED").all()
    go = got.orders.sort_values("order_uid").reset_index(drop=True)
    wo = want.orders.sort_values("order_uid").reset_index(drop=True)
    pd.testing.assert_frame_equal(go, wo)
    gl = got.order_lines.sort_values("line_uid").reset_index(drop=True)
    wl = want.order_lines.sort_values("line_uid").reset_index(drop=True)
    cols = ["line_uid", "order_uid", "sku", "category", "quantity", "currency", "principal_minor", "tax_minor",
            "promotion_minor", "shipped_at", "delivered_at"]  # fmt: skip
    pd.testing.assert_frame_equal(gl[cols], wl[cols])
    # shipping is per order in Shopify: the order's total lands on its first line
    pd.testing.assert_series_equal(
        gl.groupby("order_uid")["shipping_minor"].sum(), wl.groupby("order_uid")["shipping_minor"].sum()
    )


def test_a_wrong_token_stops_with_the_connection_named(shop_data):
    with FakeShopify(shop_data) as fake, pytest.raises(CredentialError, match="connection 'shopify_outdoor'"):
        client(fake, [], token="shpat_revoked").fetch(START, END)


def test_throttled_for_good_fails_after_bounded_attempts(shop_data):
    with FakeShopify(shop_data) as fake:
        fake.throttle_at = set(range(1, 10))
        with pytest.raises(ChannelError, match="THROTTLED after 4 attempts"):
            client(fake, []).fetch(START, END)
        assert len(fake.requests) == 4


def test_a_shipping_only_refund_is_quarantined_with_its_money_not_dropped(shop, taxonomy):
    from acorn.channels.payloads import PayloadLog

    bag = {"shopMoney": {"amount": "4.99", "currencyCode": "USD"}}
    refund = {
        "id": "gid://shopify/Refund/77",
        "createdAt": "2026-11-20T10:30:00Z",
        "refundLineItems": {"nodes": []},
        "refundShippingLines": {"nodes": [{"subtotalAmountSet": bag}]},
        "transactions": {"nodes": [{"kind": "REFUND", "status": "SUCCESS", "amountSet": bag}]},
        "return": None,
    }
    order = {
        "id": "gid://shopify/Order/5",
        "currencyCode": "USD",
        "lineItems": {"nodes": []},
        "refunds": [refund],
    }
    log = PayloadLog()
    log.add("graphql:orders", "POST test", 200, json.dumps({"data": {"orders": {"nodes": [order]}}}))
    got = normalize(to_raw(shop, log), taxonomy, KEY)
    assert got.refund_lines.empty
    row = got.quarantine[got.quarantine["entity"] == "refund_lines"].iloc[0]
    assert (row["source_key"], row["currency"], row["amount_minor"]) == ("77", "USD", 499)
    assert "missing order line reference" in row["reason"]


def _order(number: int, updated: str, *refunds: dict, items: int = 1, more_items: bool = False) -> dict:
    bag = {"shopMoney": {"amount": "20.00", "currencyCode": "USD"}}
    return {
        "id": f"gid://shopify/Order/{number}",
        "createdAt": "2026-11-01T09:00:00Z",
        "updatedAt": updated,
        "currencyCode": "USD",
        "totalPriceSet": bag,
        "lineItems": {
            "pageInfo": {"hasNextPage": more_items},
            "nodes": [
                {
                    "id": f"gid://shopify/LineItem/{number}{i}",
                    "sku": "S",
                    "quantity": 1,
                    "originalTotalSet": bag,
                }
                for i in range(items)
            ],
        },
        "refunds": list(refunds),
    }


def _refund(number: int, line: str, created: str) -> dict:
    bag = {"shopMoney": {"amount": "20.00", "currencyCode": "USD"}}
    return {
        "id": f"gid://shopify/Refund/{number}",
        "createdAt": created,
        "refundLineItems": {"nodes": [{"id": f"gid://shopify/RefundLineItem/{number}", "quantity": 1,
                                       "lineItem": {"id": f"gid://shopify/LineItem/{line}"}, "subtotalSet": bag,
                                       "totalTaxSet": {"shopMoney": {"amount": "0.00", "currencyCode": "USD"}}}]},
        "transactions": {"nodes": [{"kind": "REFUND", "status": "SUCCESS", "amountSet": bag}]},
        "return": None,
    }  # fmt: skip


def test_only_the_intervals_refunds_are_read_and_a_past_interval_sees_orders_changed_since(
    shop, shop_data, taxonomy
):
    inside = "2026-11-20T10:30:00Z"
    nodes = [
        # refunded three days ago and today; the order changed in the interval
        _order(
            1, "2026-11-20T10:31:00Z", _refund(11, "10", "2026-11-17T08:00:00Z"), _refund(12, "10", inside)
        ),
        _order(
            2, "2026-11-25T12:00:00Z", _refund(21, "20", inside)
        ),  # refunded in the interval, changed since
        _order(3, "2026-11-26T12:00:00Z"),  # a sale after the interval: a later batch's
    ]
    with FakeShopify(shop_data) as fake:
        fake.nodes = nodes
        log = client(fake, []).fetch(START, END)
        query = fake.requests[-1].json()["variables"]["query"]
    assert query == "updated_at:>='2026-11-20T10:00:00Z'"  # no upper bound: order 2 was not seen before
    raw = to_raw(shop, log)
    assert sorted(raw.refunds["external_refund_id"]) == ["12", "21"]  # 11 was read, then quarantined
    assert raw.outside_interval == 1
    assert sorted(raw.orders["external_order_id"]) == ["1", "2"]
    got = normalize(raw, taxonomy, KEY)
    assert got.quarantine.empty


def _windowed_log():
    """A payload log of a fetch of 10:00-14:00 on 20 November, before its pages."""
    from acorn.channels.payloads import PayloadLog

    log = PayloadLog()
    log.add(
        "window",
        "interval",
        200,
        json.dumps({"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T14:00:00Z"}),
    )
    return log


def test_an_order_with_more_line_items_than_one_page_is_held_back_whole_with_its_refunds_money(
    shop, taxonomy
):

    log = _windowed_log()
    big = _order(4, "2026-11-20T10:31:00Z", _refund(41, "40", "2026-11-20T10:30:00Z"), more_items=True)
    log.add("graphql:orders", "POST test", 200, json.dumps({"data": {"orders": {"nodes": [big]}}}))
    raw = to_raw(shop, log)
    got = normalize(raw, taxonomy, KEY)
    assert got.orders.empty  # the first 100 items were read and the rest silently lost before
    assert got.refund_lines.empty
    q = got.quarantine.set_index("entity")
    assert q.loc["orders", "field"] == "lineItems"
    assert q.loc["refund_lines", "amount_minor"] == 2000
    assert raw.control_totals == {"USD": 2000}


def test_nested_lists_longer_than_a_page_are_read_to_their_end(shop, shop_data, taxonomy):
    with FakeShopify(shop_data) as fake:
        fake.nested_page = 1  # every list of two or more nodes is cut after its first
        log = client(fake, []).fetch(START, END)
    got = normalize(to_raw(shop, log), taxonomy, KEY)
    want = shop_data.canonical
    assert len(list(log.of("graphql:more"))) > 0
    assert got.quarantine.empty  # each order with two lines was held back whole before
    for name, key in (("order_lines", "line_uid"), ("refund_lines", "refund_uid")):
        g = getattr(got, name).sort_values(key).reset_index(drop=True)
        w = getattr(want, name).sort_values(key).reset_index(drop=True)
        assert g[key].tolist() == w[key].tolist()
    assert got.refund_lines["amount_minor"].sum() == want.refund_lines["amount_minor"].sum()


def test_what_the_buyer_got_back_in_their_own_currency_is_kept_beside_the_shops(shop, taxonomy):

    def both(usd: str, jpy: str) -> dict:
        return {"shopMoney": {"amount": usd, "currencyCode": "USD"},
                "presentmentMoney": {"amount": jpy, "currencyCode": "JPY"}}  # fmt: skip

    refund = _refund(51, "50", "2026-11-20T10:30:00Z")
    refund["refundLineItems"]["nodes"][0]["subtotalSet"] = both("20.00", "3000")
    refund["refundLineItems"]["nodes"][0]["totalTaxSet"] = both("0.00", "0")
    refund["transactions"]["nodes"][0]["amountSet"] = both("20.00", "3010")  # what the buyer's card got
    plain = _refund(61, "60", "2026-11-20T10:40:00Z")  # a shop selling in its own currency only
    log = _windowed_log()
    orders = [_order(5, "2026-11-20T10:31:00Z", refund), _order(6, "2026-11-20T10:41:00Z", plain)]
    log.add("graphql:orders", "POST test", 200, json.dumps({"data": {"orders": {"nodes": orders}}}))
    got = normalize(to_raw(shop, log), taxonomy, KEY).refund_lines.set_index("external_refund_id")
    columns = ["currency", "amount_minor", "presentment_currency", "presentment_amount_minor"]
    assert got.loc["51", columns].tolist() == ["USD", 2000, "JPY", 3010]  # fetched and dropped before
    assert got.loc["61", columns].tolist() == ["USD", 2000, "USD", 2000]
