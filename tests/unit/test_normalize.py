from datetime import UTC, datetime

import pandas as pd
import pytest

from acorn import schema
from acorn.channels.demo.generator import generate
from acorn.channels.raw import RawBatch
from acorn.normalize import _clean_text, _parse_timestamps, _parse_whole, normalize
from acorn.schema import uid

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def _one_refund_batch(accounts, **overrides) -> RawBatch:
    batch = generate(accounts["amazon-eu"], DAY, DAY.replace(hour=1))
    refunds = batch.refunds.iloc[:3].copy()
    for column, value in overrides.items():
        refunds.loc[refunds.index[0], column] = value
    return RawBatch(batch.account_id, batch.channel, batch.orders, batch.order_lines, refunds, {})


def test_every_input_row_is_kept_or_quarantined(accounts, taxonomy):
    batch = generate(accounts["amazon-na"], DAY, datetime(2026, 11, 3, tzinfo=UTC), lines_per_hour=300)
    canonical = normalize(batch, taxonomy, b"k")
    q = canonical.quarantine.groupby("entity").size()
    assert len(canonical.orders) + q.get("orders", 0) == len(batch.orders)
    assert len(canonical.order_lines) + q.get("order_lines", 0) == len(batch.order_lines)
    assert len(canonical.refund_lines) + q.get("refund_lines", 0) == len(batch.refunds)
    assert q.get("refund_lines", 0) > 0


def test_a_comma_decimal_is_quarantined_with_row_field_and_reason(accounts, taxonomy):
    canonical = normalize(_one_refund_batch(accounts, amount="12,30"), taxonomy, b"k")
    row = canonical.quarantine.iloc[0]
    assert (row["entity"], row["source_row"], row["field"]) == ("refund_lines", 1, "amount_minor")
    assert "not a decimal number" in row["reason"]
    assert '"amount": "12,30"' in row["raw_record"]
    assert len(canonical.refund_lines) == 2


def test_an_impossible_date_and_an_unknown_currency_are_named(accounts, taxonomy):
    canonical = normalize(_one_refund_batch(accounts, refunded_at="31/02/2026 25:00"), taxonomy, b"k")
    assert canonical.quarantine.iloc[0]["field"] == "refunded_at"
    canonical = normalize(_one_refund_batch(accounts, currency="EURO"), taxonomy, b"k")
    assert canonical.quarantine.iloc[0]["field"] == "currency"
    assert canonical.quarantine.iloc[0]["reason"] == "currency: unknown currency code"


def test_amounts_are_exact_minor_units_and_times_are_utc(accounts, taxonomy):
    canonical = normalize(_one_refund_batch(accounts, amount="20.19", currency="EUR"), taxonomy, b"k")
    refunds = canonical.refund_lines
    assert refunds["amount_minor"].dtype == "int64"
    assert str(refunds["refunded_at"].dt.tz) == "UTC"


def test_reasons_are_normalized_and_unknown_codes_are_unmapped(accounts, taxonomy):
    batch = _one_refund_batch(accounts, reason="APPAREL_TOO_SMALL")
    batch.refunds.loc[batch.refunds.index[1], "reason"] = "SOMETHING_NEW"
    refunds = normalize(batch, taxonomy, b"k").refund_lines
    assert refunds["reason"].tolist()[:2] == ["SIZE_FIT", "UNMAPPED"]
    assert refunds["raw_reason"].tolist()[:2] == ["APPAREL_TOO_SMALL", "SOMETHING_NEW"]


def test_dispositions_are_normalized_unknown_is_unmapped_and_missing_stays_missing(accounts, taxonomy):
    batch = _one_refund_batch(accounts, disposition="DAMAGED")
    batch.refunds.loc[batch.refunds.index[1], "disposition"] = "MELTED"
    batch.refunds.loc[batch.refunds.index[2], "disposition"] = None
    refunds = normalize(batch, taxonomy, b"k").refund_lines
    assert refunds["disposition"].tolist() == ["CUSTOMER_DAMAGED", "UNMAPPED", pd.NA]


def test_buyers_are_pseudonymised_with_the_key(accounts, taxonomy):
    batch = _one_refund_batch(accounts)
    a = normalize(batch, taxonomy, b"key-a").orders["buyer_ref"]
    b = normalize(batch, taxonomy, b"key-b").orders["buyer_ref"]
    assert not a.str.contains("@").any()
    assert (a != b).all()
    pd.testing.assert_series_equal(a, normalize(batch, taxonomy, b"key-a").orders["buyer_ref"])


def test_text_is_stripped_exactly_as_python_strips_it_and_blank_is_missing():
    spaces = [c for c in map(chr, range(0x3001)) if c.isspace()]
    values = [f"{c}A-1" for c in spaces] + [f"A-1{c}" for c in spaces] + ["", None, "Café", "clean"]
    raw = pd.Series(values, dtype="string")
    pd.testing.assert_series_equal(_clean_text(raw), raw.str.strip().replace("", pd.NA))
    clean = pd.Series(["A-1", None, "B-2"], dtype="string")
    assert _clean_text(clean).array is clean.array  # nothing to strip: the raw text is kept, not copied


def test_timestamps_read_as_pandas_reads_iso_8601_whichever_parser_reads_them():
    zoned = [
        "2026-11-02T10:15:30Z",
        "2026-11-02T10:15:30.5+05:30",
        "2026-11-02 10:15Z",
        "2026-11-02T10:15:30-0800",
    ]
    other = ["2026-11-02T10:15:30", "2026-11-02", "2026-11-02T10:15:30.123456789Z", "31/02/2026 25:00", None]
    for values in (zoned, zoned + other, [*zoned, "2026-02-30T10:00:00Z", *other]):
        text = pd.Series(values, dtype="string")
        expected = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce").astype(
            "datetime64[us, UTC]"
        )
        pd.testing.assert_series_equal(_parse_timestamps(text), expected)
    assert _parse_timestamps(pd.Series(zoned[1:2], dtype="string"))[0] == pd.Timestamp(
        "2026-11-02T04:45:30.5Z"
    )


def test_an_order_id_is_the_same_on_the_order_its_lines_and_its_refunds(accounts, taxonomy):
    batch = _one_refund_batch(accounts)
    canonical = normalize(batch, taxonomy, b"k")
    refund = canonical.refund_lines.iloc[0]
    external = batch.refunds.iloc[0]
    assert refund["order_uid"] == uid("order", "amazon-eu", external["external_order_id"])
    assert refund["line_uid"] == uid("line", "amazon-eu", external["external_line_id"])
    assert refund["refund_uid"] == uid("refund", "amazon-eu", external["external_refund_id"])
    line = canonical.order_lines.set_index("line_uid").loc[refund["line_uid"]]
    assert line["order_uid"] == refund["order_uid"]
    assert refund["order_uid"] in set(canonical.orders["order_uid"])


def test_ids_minted_block_by_block_are_each_rows_uid(monkeypatch):
    monkeypatch.setattr(schema, "_UID_BLOCK", 3)
    accounts = pd.Series(["amazon-eu"] * 7 + ["shop"] * 3, index=range(10, 20))
    keys = pd.Series([f"A-{i}" for i in range(9)] + [None], index=range(10, 20), dtype="string")
    minted = schema.uids("order", accounts, keys)
    assert minted.index.tolist() == list(range(10, 20))
    expected = [schema.uid("order", a, k) for a, k in zip(accounts[:9], keys[:9], strict=True)]
    assert minted.tolist() == [*expected, schema.uid("<NA>")]  # a missing key: the id of "<NA>"


def test_whole_numbers_read_alike_from_plain_digits_and_from_anything_else():
    plain = pd.Series(["1", "007", "-3", None, "2147483647"], dtype="string")
    num, bad = _parse_whole(plain)
    assert num.tolist() == [1, 7, -3, 0, 2147483647]
    assert bad.tolist() == [False, False, False, True, False]
    mixed = pd.Series(["1", "3.0", "+4", None, "2.5", "x", "1e3"], dtype="string")
    num, bad = _parse_whole(mixed)
    assert num.tolist() == [1, 3, 4, 0, 0, 0, 1000]
    assert bad.tolist() == [False, False, False, True, True, True, False]


def test_a_quantity_that_is_not_whole_is_quarantined_by_field(accounts, taxonomy):
    canonical = normalize(_one_refund_batch(accounts, quantity="1.5"), taxonomy, b"k")
    assert len(canonical.refund_lines) == 2
    assert canonical.quarantine["reason"].tolist() == [
        "quantity: not a whole number (of at most ±2147483647)"
    ]


@pytest.mark.parametrize("text", ["inf", "1e400", "-Infinity", "12345678901234567890", "2147483648", "nan"])
def test_a_quantity_beyond_the_warehouse_integers_is_quarantined_with_the_text_received(
    accounts, taxonomy, text
):
    """Read as -9223372036854775808 before (20 digits failed the batch at COPY, inf passed as a number)."""
    canonical = normalize(_one_refund_batch(accounts, quantity=text), taxonomy, b"k")
    assert len(canonical.refund_lines) == 2
    row = canonical.quarantine.iloc[0]
    assert row["field"] == "quantity"
    assert f'"quantity": "{text}"' in row["raw_record"]


def test_a_presentment_currency_without_its_amount_is_quarantined_not_given_the_shops(accounts, taxonomy):
    # the shop's 2-decimal amount read as yen is no amount: it crashed the frame's integer column before
    canonical = normalize(_one_refund_batch(accounts, presentment_currency="JPY"), taxonomy, b"k")
    row = canonical.quarantine.iloc[0]
    assert (row["entity"], row["source_row"], row["field"]) == ("refund_lines", 1, "presentment_amount_minor")
    assert "missing" in row["reason"]
    assert len(canonical.refund_lines) == 2
