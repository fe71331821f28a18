"""Small hand-written refund cases for the policy tests: one order, one line, one refund each."""

from __future__ import annotations

import pandas as pd

from acorn.schema import ORDER_LINES, ORDERS, REFUND_LINES

REFUNDED_AT = pd.Timestamp("2026-11-02T10:00:00Z")


def case(**kw) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(refunds, lines, orders) for one refund; keyword arguments override any column of the three."""
    n = kw.pop("n", 1)
    order = {
        "order_uid": "o1",
        "account_id": "amazon-eu",
        "channel": "amazon",
        "marketplace": "DE",
        "external_order_id": "302-1",
        "purchased_at": REFUNDED_AT - pd.Timedelta(days=10),
        "currency": "EUR",
        "fulfillment_model": "AFN",
        "ship_method": "AMAZON",
        "buyer_ref": "b1",
        "order_total_minor": 11900,
    }
    line = {
        "line_uid": "l1",
        "order_uid": "o1",
        "account_id": "amazon-eu",
        "external_line_id": "302-1-0",
        "sku": "SKU-1",
        "category": "apparel",
        "quantity": 1,
        "currency": "EUR",
        "principal_minor": 10000,
        "shipping_minor": 0,
        "tax_minor": 1900,
        "promotion_minor": 0,
        "referral_fee_minor": 1500,
        "shipped_at": REFUNDED_AT - pd.Timedelta(days=9),
        "delivered_at": REFUNDED_AT - pd.Timedelta(days=5),
        "shipped_late": False,
    }
    refund = {
        "refund_uid": "r1",
        "line_uid": "l1",
        "order_uid": "o1",
        "account_id": "amazon-eu",
        "channel": "amazon",
        "marketplace": "DE",
        "external_refund_id": "R1",
        "event_type": "REFUND",
        "refunded_at": REFUNDED_AT,
        "currency": "EUR",
        "quantity": 1,
        "principal_minor": 10000,
        "shipping_minor": 0,
        "tax_minor": 1900,
        "promotion_minor": 0,
        "restocking_fee_minor": 0,
        "tax_withheld_minor": 0,
        "amount_minor": 11900,
        "presentment_currency": "EUR",
        "presentment_amount_minor": 11900,
        "raw_reason": "DEFECTIVE",
        "reason": "DEFECTIVE",
        "disposition": "SELLABLE",
        "returnless": False,
        "return_received_at": REFUNDED_AT - pd.Timedelta(days=1),
    }
    for key, value in kw.items():
        for record in (order, line, refund):
            if key in record:
                record[key] = value
    refunds = pd.DataFrame(
        [{**refund, "refund_uid": f"r{i}", "external_refund_id": f"R{i}"} for i in range(n)]
    )
    return (
        refunds.astype(REFUND_LINES.dtypes),
        pd.DataFrame([line]).astype(ORDER_LINES.dtypes),
        pd.DataFrame([order]).astype(ORDERS.dtypes),
    )
