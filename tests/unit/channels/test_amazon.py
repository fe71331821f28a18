"""The SP-API client against the fake SP-API: every record once, the right canonical rows, under faults."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pandas as pd
import pytest

from acorn.channels.amazon.auth import LwaCredentials, TokenCache
from acorn.channels.amazon.client import SpApiClient, SpApiOptions
from acorn.channels.amazon.mapper import to_raw
from acorn.channels.http import ChannelError, CredentialError, RetryPolicy
from acorn.channels.payloads import PayloadLog
from acorn.normalize import normalize
from tests.fakes.amazon import FakeSpApi
from tests.fakes.dataset import demo_dataset

START = datetime(2026, 11, 20, 10, tzinfo=UTC)
END = START + timedelta(hours=3)
KEY = b"k" * 16
CATEGORIES = {"SKU-APP": "apparel", "SKU-ELE": "electronics", "SKU-BEA": "beauty", "SKU-HOM": "home"}


@pytest.fixture(scope="module")
def eu(accounts):
    acc = dataclasses.replace(
        accounts["amazon-eu"], source="live", connection_id="amazon_eu", extra={"sku_categories": CATEGORIES}
    )
    return acc


@pytest.fixture(scope="module")
def eu_data(eu, taxonomy):
    return demo_dataset(eu, START, END, taxonomy, KEY)


def client(fake: FakeSpApi, sleeps: list[float] | None = None, **kwargs) -> SpApiClient:
    creds = LwaCredentials(
        fake.client_id, fake.client_secret, fake.refresh_token, token_url=f"{fake.url}/auth/o2/token"
    )
    return SpApiClient(
        creds,
        region="EU",
        label="connection 'amazon_eu'",
        endpoint=fake.url,
        policy=RetryPolicy(
            attempts=4,
            backoff_s=0.001,
            max_backoff_s=60.0,
            sleep=(sleeps if sleeps is not None else []).append,
        ),
        options=SpApiOptions(report_poll_s=1.0),
        tokens=kwargs.pop("tokens", TokenCache()),
        **kwargs,
    )


def by_key(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.sort_values(key).reset_index(drop=True)


def test_every_record_arrives_once_with_its_money_through_pages_throttling_5xx_and_token_expiry(
    eu, eu_data, taxonomy
):
    sleeps: list[float] = []
    with FakeSpApi(eu_data) as fake:
        fake.fail(4, 429, {"Retry-After": "2"})  # request 2 is the Restricted Data Token
        fake.fail(7, 429)
        fake.fail(range(11, 14), 503)
        fake.token_max_uses = 25  # the access token "expires" mid-run
        log = client(fake, sleeps).fetch(eu.marketplaces, START, END, now=END + timedelta(hours=1))
        token_calls = len(fake.calls("/auth/o2/token"))
        finance_pages = fake.calls("/finances/v0/financialEvents")
    got = normalize(to_raw(eu, log), taxonomy, KEY)
    want = eu_data.canonical

    assert 2.0 in sleeps  # Retry-After honoured
    assert token_calls >= 2  # refreshed after the 403 "expired"
    assert len(finance_pages) >= 3
    assert finance_pages[1].query.get("NextToken") == "t0"
    assert got.quarantine.empty
    # refunds: every one exactly once, money, currency, dates and fulfillment as the channel has them
    g, w = by_key(got.refund_lines, "refund_uid"), by_key(want.refund_lines, "refund_uid")
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
    pd.testing.assert_frame_equal(
        g[[*money, "currency", "refunded_at", "quantity", "event_type"]],
        w[[*money, "currency", "refunded_at", "quantity", "event_type"]],
    )
    # reasons: from the returns reports; a returnless FBA refund has no return row, so no reason: UNMAPPED
    has_reason = g["raw_reason"].notna()
    assert has_reason.mean() > 0.8
    assert (g.loc[has_reason, "reason"] == w.loc[has_reason, "reason"]).all()
    assert g.loc[~has_reason, "returnless"].all()
    pd.testing.assert_series_equal(g["disposition"], w["disposition"])
    assert set(g.loc[g["raw_reason"].isna(), "reason"]) <= {"UNMAPPED"}
    # orders and lines
    go, wo = by_key(got.orders, "order_uid"), by_key(want.orders, "order_uid")
    pd.testing.assert_frame_equal(go, wo)
    gl, wl = by_key(got.order_lines, "line_uid"), by_key(want.order_lines, "line_uid")
    refunded = wl["line_uid"].isin(w["line_uid"])
    pd.testing.assert_frame_equal(gl[refunded], wl[refunded])
    same = [c for c in wl.columns if c not in ("referral_fee_minor", "shipped_late")]
    pd.testing.assert_frame_equal(gl[same], wl[same])  # the sale's fee is read for refunded lines only


def test_rate_limit_header_paces_each_operation(eu, eu_data):
    sleeps: list[float] = []
    with FakeSpApi(eu_data, rate_limit="0.5") as fake:
        c = client(fake, sleeps)
        c.call("getOrder", "GET", f"/orders/v0/orders/{next(iter(fake.orders))}")
        c.call("getOrder", "GET", f"/orders/v0/orders/{next(iter(fake.orders))}")
    assert sleeps
    assert 1.9 < sleeps[-1] <= 2.0


def test_a_repeated_page_token_ends_the_pages_instead_of_looping(eu, eu_data, caplog):
    with FakeSpApi(eu_data) as fake:
        fake.repeat_token = True
        log = client(fake).fetch(eu.marketplaces, START, END, now=END + timedelta(hours=1))
        assert len(fake.calls("/orders/v0/orders")) == 2  # the first page, then t0 once, then stop
    assert "getOrders sent a page token it had sent before, after 2 pages" in caplog.text
    assert len(log) > 0


def test_payloads_received_before_a_failure_midway_are_kept_in_the_landing(eu, eu_data, tmp_path):
    from acorn.channels.base import ConnectionInfo
    from acorn.channels.payloads import read_payloads
    from acorn.pipeline import DemoOptions, fetch

    with FakeSpApi(eu_data) as fake:
        fake.fail(range(6, 40), 400)  # orders and some of their items arrive, then the channel refuses
        conn = ConnectionInfo(
            "amazon_eu",
            login=fake.client_id,
            password=fake.client_secret,
            extra={"refresh_token": fake.refresh_token, "endpoint": fake.url, "token_url": f"{fake.url}/auth/o2/token"},
        )  # fmt: skip
        with pytest.raises(ChannelError, match="HTTP 400"):
            fetch(
                eu,
                START,
                END,
                tmp_path,
                as_of=END,
                demo_options=DemoOptions(),
                pseudonym_key=KEY,
                connection=conn,
            )
    kept = read_payloads(tmp_path)  # nothing was written before
    assert [p.kind for p in kept.payloads][:2] == ["getOrders", "getOrders"]
    statuses = [p.status for p in kept.payloads]
    assert statuses[-1] == 400  # the refusal itself, as received
    assert statuses[:-1] == [200] * (len(kept) - 1)
    assert len(kept) >= 3


def test_a_report_that_never_finishes_is_noted_and_the_run_maps_everything_else(
    eu, eu_data, taxonomy, caplog
):
    from acorn.channels.amazon.client import FBA_RETURNS

    with FakeSpApi(eu_data) as fake:
        fake.stuck_reports = {FBA_RETURNS}
        options = SpApiOptions(report_poll_s=1.0, report_timeout_s=3.0)
        sp = client(fake)
        sp.options = options
        log = sp.fetch(
            eu.marketplaces, START, END, now=END + timedelta(hours=1)
        )  # raised ChannelError before
    pending = [p for p in log.payloads if p.kind == "report_pending"]
    assert [json.loads(p.body)["report_type"] for p in pending] == [FBA_RETURNS]
    assert f"report {FBA_RETURNS}" in caplog.text
    assert "the run goes on without it" in caplog.text
    got = normalize(to_raw(eu, log), taxonomy, KEY)
    assert len(got.refund_lines) == len(
        eu_data.canonical.refund_lines
    )  # every refund, without its return row
    assert got.quarantine.empty


def test_revoked_client_fails_at_once_naming_the_connection(eu, eu_data):
    with FakeSpApi(eu_data) as fake:
        fake.revoked = True
        with pytest.raises(CredentialError, match=r"connection 'amazon_eu'.*invalid_client"):
            client(fake).fetch(eu.marketplaces, START, END, now=END + timedelta(hours=1))
        assert len(fake.calls("/auth/o2/token")) == 1  # no retry of a refused credential


def test_a_burst_of_5xx_longer_than_the_retries_fails_naming_the_call(eu, eu_data):
    with FakeSpApi(eu_data) as fake:
        fake.fail(range(3, 11), 503)  # after the LWA token and the Restricted Data Token
        with pytest.raises(ChannelError, match=r"getOrders: HTTP 503 after 4 attempts"):
            client(fake).fetch(eu.marketplaces, START, END, now=END + timedelta(hours=1))


def test_one_refresh_at_a_time_per_credential(eu, eu_data):
    tokens = TokenCache()
    with FakeSpApi(eu_data) as fake:
        c = client(fake, tokens=tokens)
        got: list[str] = []
        threads = [
            threading.Thread(
                target=lambda: got.append(tokens.token(c.creds, httpx.Client(), label="x", policy=c.policy))
            )
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(fake.calls("/auth/o2/token")) == 1
    assert len(set(got)) == 1
    assert tokens.refreshes == 1


def test_late_events_arrive_in_a_later_fetch_and_the_window_ends_two_minutes_ago(eu, eu_data, taxonomy):
    late = set(eu_data.raw.refunds["external_refund_id"][::4])
    with FakeSpApi(eu_data) as fake:
        fake.hidden_refunds = late
        now = END + timedelta(seconds=30)
        first = normalize(to_raw(eu, client(fake).fetch(eu.marketplaces, START, END, now=now)), taxonomy, KEY)
        before = fake.calls("/finances/v0/financialEvents")[0].query["PostedBefore"]
        fake.hidden_refunds = set()
        second = normalize(
            to_raw(eu, client(fake).fetch(eu.marketplaces, START, END, now=END + timedelta(days=1))),
            taxonomy,
            KEY,
        )
    assert pd.Timestamp(before) == pd.Timestamp(now - timedelta(minutes=2)).floor("s")
    every = eu_data.canonical.refund_lines
    visible = ~every["external_refund_id"].isin(late) & (every["refunded_at"] < now - timedelta(minutes=2))
    assert 0 < visible.sum() < len(every)
    # the first fetch sees what was posted and visible, the second everything, each refund once
    assert sorted(first.refund_lines["refund_uid"]) == sorted(every.loc[visible, "refund_uid"])
    assert sorted(second.refund_lines["refund_uid"]) == sorted(every["refund_uid"])


def test_jpy_has_no_decimals_and_a_shift_jis_report_is_read(accounts, taxonomy):
    jp = dataclasses.replace(accounts["amazon-jp"], source="live", connection_id="amazon_jp")
    data = demo_dataset(jp, START, END, taxonomy, KEY)
    with FakeSpApi(data) as fake:
        creds = LwaCredentials(
            fake.client_id, fake.client_secret, fake.refresh_token, token_url=f"{fake.url}/auth/o2/token"
        )
        c = SpApiClient(
            creds,
            region="FE",
            label="jp",
            endpoint=fake.url,
            policy=RetryPolicy(sleep=lambda s: None),
            tokens=TokenCache(),
        )
        raw = to_raw(jp, c.fetch(jp.marketplaces, START, END, now=END + timedelta(hours=1)))
    assert (raw.refunds["currency"] == "JPY").all()
    assert not raw.refunds["amount"].str.contains(r"\.").any()
    got = normalize(raw, taxonomy, KEY)
    assert got.quarantine.empty
    assert got.refund_lines["amount_minor"].sum() == data.canonical.refund_lines["amount_minor"].sum()
    assert (got.refund_lines.loc[got.refund_lines["disposition"].notna(), "raw_reason"].notna()).all()


def test_a_hand_written_refund_event_maps_to_hand_computed_money(eu, taxonomy):
    event = {
        "AmazonOrderId": "028-1234567-1234567",
        "MarketplaceName": "Amazon.de",
        "PostedDate": "2026-11-20T10:15:00Z",
        "ShipmentItemAdjustmentList": [
            {
                "SellerSKU": "SKU-APP-0001",
                "OrderItemId": "11111",
                "OrderAdjustmentItemId": "99999",
                "QuantityShipped": 1,
                "ItemChargeAdjustmentList": [
                    {
                        "ChargeType": "Principal",
                        "ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": -49.99},
                    },
                    {"ChargeType": "Tax", "ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": -9.50}},
                    {
                        "ChargeType": "ShippingCharge",
                        "ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": -4.99},
                    },
                    {
                        "ChargeType": "RestockingFee",
                        "ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": 7.50},
                    },
                ],
                "PromotionAdjustmentList": [
                    {"PromotionAmount": {"CurrencyCode": "EUR", "CurrencyAmount": 5.00}}
                ],
            }
        ],
    }
    log = PayloadLog()
    log.add(
        "listFinancialEvents",
        "GET test",
        200,
        '{"payload": {"FinancialEvents": {"GuaranteeClaimEventList": [EVENT]}}}'.replace(
            "EVENT", json.dumps(event)
        ),
    )
    refund = normalize(to_raw(eu, log), taxonomy, KEY).refund_lines.iloc[0]
    assert refund["event_type"] == "GUARANTEE_CLAIM"
    assert refund["marketplace"] == "DE"
    assert (refund["principal_minor"], refund["tax_minor"], refund["shipping_minor"]) == (4999, 950, 499)
    assert (refund["restocking_fee_minor"], refund["promotion_minor"]) == (750, 500)
    assert refund["amount_minor"] == 4999 + 950 + 499 - 750 - 500  # 51.98 EUR to the buyer
    assert refund["returnless"]
    assert refund["reason"] == "UNMAPPED"


def test_a_payload_of_the_wrong_shape_is_quarantined_by_name_and_the_others_are_mapped(eu, taxonomy):
    log = PayloadLog()
    log.add("getOrders", "GET /orders/v0/orders?x", 200, '{"errors": []}')
    log.add("getOrders", "GET /orders/v0/orders?y", 200, '{"payload": null}')  # crashed: AttributeError
    log.add("listFinancialEvents", "GET /finances?z", 200, '{"payload": [1]}')
    log.add("listFinancialEvents", "GET test", 200, _events(RefundEventList=[_event(_item("R1"))]))
    got = normalize(to_raw(eu, log), taxonomy, KEY)
    q = got.quarantine.set_index("source_file")
    assert q.loc["payload #0 (getOrders GET /orders/v0/orders?x)", "reason"] == "missing from the response"
    assert q.loc["payload #1 (getOrders GET /orders/v0/orders?y)", "reason"] == "is null, not an object"
    assert q.loc["payload #2 (listFinancialEvents GET /finances?z)", "reason"] == "is [1], not an object"
    assert set(q["field"]) == {"payload"}
    assert got.refund_lines["external_refund_id"].tolist() == ["R1"]


def _charge(kind: str, value: str, ccy: str = "EUR", key: str = "CurrencyAmount") -> dict:
    return {"ChargeType": kind, "ChargeAmount": {"CurrencyCode": ccy, key: Decimal(value)}}


def _item(adjustment_id: str, *charges: dict, line: str = "L1") -> dict:
    return {
        "SellerSKU": "SKU-APP-1",
        "OrderItemId": line,
        "OrderAdjustmentItemId": adjustment_id,
        "QuantityShipped": 1,
        "ItemChargeAdjustmentList": list(charges) or [_charge("Principal", "-10.00")],
    }


def _event(*items: dict, market: str = "Amazon.de") -> dict:
    return {
        "AmazonOrderId": "302-1",
        "MarketplaceName": market,
        "PostedDate": "2026-11-20T10:15:00Z",
        "ShipmentItemAdjustmentList": list(items),
    }


def _events(**lists: list) -> str:
    return json.dumps({"payload": {"FinancialEvents": lists}}, default=str)


def test_documented_charge_types_fall_in_their_components(eu, taxonomy):
    item = _item(
        "R1",
        _charge("Principal", "-20.00"),
        _charge("Goodwill", "-5.00"),
        _charge("ReturnShipping", "-3.00"),
        _charge("Giftwrap", "-2.00"),
        _charge("GiftwrapTax", "-0.38"),
        _charge("Tax", "-3.80"),
    )
    log = PayloadLog()
    log.add("listFinancialEvents", "GET test", 200, _events(RefundEventList=[_event(item)]))
    got = normalize(to_raw(eu, log), taxonomy, KEY)
    assert got.quarantine.empty  # each one was in no component, and the refund was quarantined
    refund = got.refund_lines.iloc[0]
    assert (refund["principal_minor"], refund["shipping_minor"], refund["tax_minor"]) == (2500, 500, 418)
    assert refund["amount_minor"] == 3418


def test_money_amazon_did_not_state_as_finances_money_is_held_back_by_field_not_read_as_zero(eu, taxonomy):
    under_amount = _item("R1", _charge("Principal", "-28.29", key="Amount"))
    two_currencies = _item("R2", _charge("Principal", "-10.00"), _charge("Tax", "-1.90", "GBP"), line="L2")
    unknown = _item("R3", _charge("Principal", "-10.00"), _charge("NewFee", "-1.00"), line="L3")
    log = PayloadLog()
    body = _events(
        RefundEventList=[
            _event(under_amount, two_currencies, unknown),
            _event(_item("R4"), market="Amazon.xx"),
        ]
    )
    log.add("listFinancialEvents", "GET test", 200, body)
    raw = to_raw(eu, log)
    got = normalize(raw, taxonomy, KEY)
    assert (
        got.refund_lines.empty
    )  # R1 was loaded as a 0.00 refund, R2 summed under EUR, R3 quarantined unnamed
    q = got.quarantine.set_index("source_key")
    assert q.loc["R1", "field"] == "Principal.ChargeAmount"
    assert "has no readable CurrencyAmount" in q.loc["R1", "reason"]
    assert q.loc["R2", "reason"] == "charges in EUR, GBP on one item: not summed"
    assert q.loc["R3", "reason"] == "charge type 'NewFee' is in none of ACORN's components"
    assert q.loc["R4", "field"] == "MarketplaceName"
    assert set(q["source_file"]) == {"payload #0 (listFinancialEvents GET test)"}
    # what could be read counts in the money identity: R3's 11.00 and R4's 10.00; R1 and R2 hold no amount
    assert raw.control_totals == {"EUR": 2100}
    assert q.loc[["R3", "R4"], "amount_minor"].tolist() == [1100, 1000]
    assert q.loc[["R1", "R2"], "amount_minor"].isna().all()


def test_the_same_adjustment_id_in_two_event_lists_keeps_both_rows(eu):
    log = PayloadLog()
    body = _events(RefundEventList=[_event(_item("R1"))], ChargebackEventList=[_event(_item("R1"))])
    log.add("listFinancialEvents", "GET page1", 200, body)
    log.add("listFinancialEvents", "GET page2", 200, _events(RefundEventList=[_event(_item("R1"))]))
    refunds = to_raw(eu, log).refunds
    assert sorted(refunds["event_type"]) == [
        "CHARGEBACK",
        "REFUND",
    ]  # the refund row was lost; a repeat is not a row


def test_orders_of_unknown_marketplaces_or_without_an_id_are_reported_and_unshipped_lines_have_no_ship_date(
    eu, taxonomy
):
    order = {
        "AmazonOrderId": "302-1",
        "MarketplaceId": "A1PA6795UKMFR9",
        "PurchaseDate": "2026-11-19T09:00:00Z",
        "OrderStatus": "Unshipped",
        "EarliestShipDate": "2026-11-21T00:00:00Z",
        "FulfillmentChannel": "MFN",
        "OrderTotal": {"CurrencyCode": "EUR", "Amount": "10.00"},
    }
    stranger = {**order, "AmazonOrderId": "302-2", "MarketplaceId": "A2XXXXXXXXXXXX"}
    nameless = {k: v for k, v in order.items() if k != "AmazonOrderId"}
    item = {
        "OrderItemId": "L1",
        "SellerSKU": "SKU-APP-1",
        "QuantityOrdered": 1,
        "ItemPrice": {"CurrencyCode": "EUR", "Amount": "10.00"},
    }
    log = PayloadLog()
    log.add("getOrders", "GET o", 200, json.dumps({"payload": {"Orders": [order, stranger, nameless]}}))
    log.add(
        "getOrderItems",
        "GET i",
        200,
        json.dumps({"payload": {"AmazonOrderId": "302-1", "OrderItems": [item]}}),
    )
    log.add(
        "getOrderItems",
        "GET j",
        200,
        json.dumps({"payload": {"OrderItems": [{**item, "OrderItemId": "L9"}]}}),
    )
    raw = to_raw(eu, log)
    line = raw.order_lines.set_index("external_line_id").loc["L1"]
    assert line["shipped_at"] is pd.NA  # was the EarliestShipDate of an order not shipped
    got = normalize(raw, taxonomy, KEY)
    assert got.orders["external_order_id"].tolist() == ["302-1"]
    assert got.order_lines["external_line_id"].tolist() == ["L1"]
    q = got.quarantine
    stranger_q = q[q["source_key"] == "302-2"].iloc[0]
    assert stranger_q["reason"] == "marketplace id 'A2XXXXXXXXXXXX' is not one ACORN knows"
    assert q.loc[q["source_key"].isna(), "field"].tolist() == ["external_order_id"]  # the order without an id
    assert q.loc[q["source_key"] == "L9", "reason"].tolist() == ["order_uid: missing order reference"]


def test_an_event_without_its_currency_is_kept_and_reported_by_field(eu, taxonomy):
    item = {"OrderItemId": "1", "OrderAdjustmentItemId": "2", "QuantityShipped": 1,
            "ItemChargeAdjustmentList": [{"ChargeType": "Principal", "ChargeAmount": {"CurrencyAmount": -10}}]}  # fmt: skip
    log = PayloadLog()
    body = {
        "payload": {
            "FinancialEvents": {
                "RefundEventList": [
                    {
                        "AmazonOrderId": "A",
                        "MarketplaceName": "Amazon.de",
                        "PostedDate": "2026-11-20T10:00:00Z",
                        "ShipmentItemAdjustmentList": [item],
                    }
                ]
            }
        }
    }
    log.add("listFinancialEvents", "GET test", 200, json.dumps(body))
    got = normalize(to_raw(eu, log), taxonomy, KEY)
    assert got.refund_lines.empty
    row = got.quarantine.iloc[0]
    assert row["field"] == "currency"
    assert "missing" in row["reason"]
    assert '"external_refund_id": "2"' in row["raw_record"]


def test_settlement_reports_give_what_each_refund_settled_and_when(eu, eu_data):
    from acorn.channels.amazon.settlement import settlement_refunds

    with FakeSpApi(eu_data) as fake:
        log = client(fake).fetch(eu.marketplaces, START, END, now=END + timedelta(hours=1))
    settled = settlement_refunds(eu, log).set_index("refund_uid").sort_index()
    refunds = eu_data.canonical.refund_lines.set_index("refund_uid").sort_index()
    assert settled.index.tolist() == refunds.index.tolist()  # one row per refund, across two currencies
    assert (settled["settled_minor"] == refunds["amount_minor"]).all()
    assert (settled["currency"] == refunds["currency"]).all()
    assert set(settled["deposit_date"]) == {pd.Timestamp(END + FakeSpApi.DEPOSIT_AFTER)}
    assert settled["settlement_id"].nunique() == refunds["currency"].nunique()


def test_every_minted_access_token_is_handed_over_for_masking_and_kept_out_of_the_payloads(eu, eu_data):
    minted: list[str] = []
    with FakeSpApi(eu_data) as fake:
        fake.token_max_uses = 10
        log = client(fake, on_secret=minted.append).fetch(
            eu.marketplaces, START, END, now=END + timedelta(hours=1)
        )
        issued = len(fake.calls("/auth/o2/token")) + len(fake.calls("/tokens/2021-03-01/restrictedDataToken"))
    assert len(minted) == issued >= 3  # access tokens and Restricted Data Tokens alike
    stored = "".join(p.request + p.body for p in log.payloads)
    assert not any(token in stored for token in minted)
    assert fake.refresh_token not in stored
    assert fake.client_secret not in stored


def test_reimbursements_from_the_report_and_safet_events(eu, eu_data):
    from acorn.channels.amazon.reimbursements import reimbursements

    with FakeSpApi(eu_data) as fake:
        log = client(fake).fetch(eu.marketplaces, START, END, now=END + timedelta(hours=1))
    safet = {
        "PostedDate": "2026-11-20T11:00:00Z",
        "SAFETClaimId": "SC-0042",
        "ReimbursedAmount": {"CurrencyCode": "EUR", "CurrencyAmount": 12.34},
        "ReasonCode": "ReturnedDamaged",
    }
    body = {"payload": {"FinancialEvents": {"SAFETReimbursementEventList": [safet]}}}
    log.add("listFinancialEvents", "GET test", 200, json.dumps(body))
    got = reimbursements(eu, log).set_index("reimbursement_id")
    assert got.loc["SC-0042", ["source", "currency", "amount_minor"]].tolist() == ["safet_claim", "EUR", 1234]
    report = got[got["source"] == "fba_reimbursements_report"]
    raw = eu_data.raw.refunds.set_index("external_refund_id")
    for rid, row in report.iterrows():
        source = raw.loc[rid.removeprefix("RB")]
        assert row["external_order_id"] == source["external_order_id"]
        assert row["currency"] == source["currency"]
    assert len(report) > 0


def test_buyer_emails_come_with_a_restricted_data_token_and_their_absence_is_said(
    eu, eu_data, taxonomy, caplog
):
    with FakeSpApi(eu_data) as fake:
        log = client(fake).fetch(eu.marketplaces, START, END, now=END + timedelta(hours=1))
        [rdt_call] = fake.calls("/tokens/2021-03-01/restrictedDataToken")
        orders_calls = fake.calls("/orders/v0/orders")
    got = normalize(to_raw(eu, log), taxonomy, KEY)
    assert rdt_call.json()["restrictedResources"][0] == {
        "method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]
    }  # fmt: skip
    assert all(r.headers["x-amz-access-token"].startswith("Atz.sprdt|") for r in orders_calls)
    assert got.orders["buyer_ref"].notna().all()

    with FakeSpApi(eu_data) as fake:
        fake.rdt_allowed = False  # the app has no PII role
        log = client(fake).fetch(eu.marketplaces, START, END, now=END + timedelta(hours=1))
    got = normalize(to_raw(eu, log), taxonomy, KEY)
    assert got.orders["buyer_ref"].isna().all()
    assert got.refund_lines.shape[0] == eu_data.canonical.refund_lines.shape[0]
    assert "buyer-based rules (serial returners, buyer refunds in 90 days) are off" in caplog.text


def test_a_safet_event_without_an_amount_and_a_settlement_row_without_one_are_left_out_with_a_warning(
    eu, caplog
):
    """Valid per Amazon's models; both crashed with AttributeError: the payload log parameter hid the logger."""
    from acorn.channels.amazon.client import SETTLEMENT
    from acorn.channels.amazon.reimbursements import reimbursements
    from acorn.channels.amazon.settlement import settlement_refunds

    log = PayloadLog()
    safet = {"PostedDate": "2026-11-20T11:00:00Z", "SAFETClaimId": "SC-1", "ReasonCode": "ReturnedDamaged"}
    body = {"payload": {"FinancialEvents": {"SAFETReimbursementEventList": [safet]}}}
    log.add("listFinancialEvents", "GET test", 200, json.dumps(body))
    report = (
        "settlement-id\tdeposit-date\tcurrency\ttransaction-type\torder-id\tmerchant-adjustment-item-id\tamount\n"
        "S1\t2026-11-21T00:00:00Z\tEUR\t\t\t\t\n"
        "S1\t\t\tRefund\t302-1\tA1\t\n"
        "S1\t\t\tRefund\t302-2\tA2\t-12.50\n"
    )
    log.add(f"report:{SETTLEMENT}", "GET doc", 200, report.encode(), binary=True)
    assert reimbursements(eu, log).empty
    settled = settlement_refunds(eu, log)
    assert settled["settled_minor"].tolist() == [1250]
    assert "1 reimbursement rows without a readable amount" in caplog.text
    assert "settlement S1: 1 refund rows with an unreadable amount left out" in caplog.text


def test_marketplace_facilitator_tax_is_read_from_the_withheld_list(accounts, taxonomy):
    """Amazon's published refund shape (a US order in a facilitator state): the buyer gets 27.05 back, of
    which Amazon returns 2.06 of tax it collected to the seller."""
    na = dataclasses.replace(accounts["amazon-na"], source="live", connection_id="amazon_na")
    item = _item("98765432109876", _charge("Principal", "-24.99", "USD"), _charge("Tax", "-2.06", "USD"))
    item["ItemTaxWithheldList"] = [
        {
            "TaxCollectionModel": "MarketplaceFacilitator",
            "TaxesWithheld": [_charge("MarketplaceFacilitatorTax-Principal", "2.06", "USD")],
        }
    ]
    log = PayloadLog()
    log.add(
        "listFinancialEvents", "GET test", 200, _events(RefundEventList=[_event(item, market="Amazon.com")])
    )
    refund = normalize(to_raw(na, log), taxonomy, KEY).refund_lines.iloc[0]
    assert (refund["amount_minor"], refund["tax_minor"]) == (2705, 206)
    assert refund["tax_withheld_minor"] == 206  # not read before: the seller's cost held Amazon's tax
