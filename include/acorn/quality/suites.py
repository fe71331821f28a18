"""The expectation suites, one per canonical entity, defined in code (GX Core 1.x).

Row-level expectations decide which rows are quarantined; they are written so that each failing row can be
named (GX's ``unexpected_index_list``). Batch-level checks (money identity) live in :mod:`.validate`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from acorn.money import CURRENCY_EXPONENT
from acorn.quality.gx import gx, gxe
from acorn.schema import EVENT_TYPES, FULFILLMENT_MODELS

MAX_MINOR = 10**11  # a single line above 1bn in any currency is a parsing accident, not a refund
CURRENCIES = sorted(CURRENCY_EXPONENT)


def _non_negative(*columns: str) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=MAX_MINOR) for c in columns]


def orders_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="orders",
        expectations=[
            gxe.ExpectColumnValuesToBeUnique(column="order_uid"),
            gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=CURRENCIES),
            gxe.ExpectColumnValuesToBeInSet(column="fulfillment_model", value_set=list(FULFILLMENT_MODELS)),
            *_non_negative("order_total_minor"),
        ],
    )


def order_lines_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="order_lines",
        expectations=[
            gxe.ExpectColumnValuesToBeUnique(column="line_uid"),
            gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=CURRENCIES),
            gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=1, max_value=10_000),
            *_non_negative(
                "principal_minor", "shipping_minor", "tax_minor", "promotion_minor", "referral_fee_minor"
            ),
        ],
    )


#: No refund is older than this: earlier dates are placeholders (0001-01-01, a spreadsheet's 1900-01-01).
EARLIEST_REFUND = datetime(2000, 1, 1, tzinfo=UTC)


def refund_lines_suite(interval_start: datetime | None, interval_end: datetime | None) -> gx.ExpectationSuite:
    """Refund lines of one interval: amounts add up, codes are known, the event lies in the interval (when the
    batch is an interval of events; files picked by arrival carry refunds of any date, but none before
    :data:`EARLIEST_REFUND`)."""
    in_interval = interval_start is not None and interval_end is not None
    window = [
        gxe.ExpectColumnValuesToBeBetween(
            column="refunded_at_epoch_s",
            min_value=int((interval_start if in_interval else EARLIEST_REFUND).timestamp()),
            max_value=int(interval_end.timestamp()) - 1 if in_interval else None,
        )
    ]
    return gx.ExpectationSuite(
        name="refund_lines",
        expectations=[
            gxe.ExpectColumnValuesToBeUnique(column="refund_uid"),
            gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=CURRENCIES),
            gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(EVENT_TYPES)),
            gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=1, max_value=10_000),
            *_non_negative(
                "principal_minor",
                "shipping_minor",
                "tax_minor",
                "promotion_minor",
                "restocking_fee_minor",
                "amount_minor",
            ),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="amount_minor", column_B="components_minor"),
            *window,
        ],
    )
