"""Fuzzed inputs through the real mapping, parsing and validation: no crash, no vanished row, exact money.

CSV: files of template rows, each row broken (or not) the ways spreadsheet exports break, some files poisoned
whole. Every data line of a file that is read ends as a loaded refund or a quarantined row naming that file
and line; a file that is not read is quarantined whole; the money identity holds exactly per currency.

Amazon: refund events built from the Finances model's shapes, with keys dropped, nulled, retyped or doubled.
Every adjustment item ends as a refund row or a held-back record, and the money identity holds exactly.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from acorn.channels.accounts import parse_accounts
from acorn.channels.amazon.mapper import to_raw as amazon_to_raw
from acorn.channels.csv import files as csv_import
from acorn.channels.payloads import PayloadLog
from acorn.normalize import normalize
from acorn.quality.validate import validate
from acorn.settings import INCLUDE

TEMPLATE = (
    (INCLUDE / "data" / "csv_template" / "refunds_template.csv").read_text(encoding="utf-8").splitlines()
)
HEADER = TEMPLATE[0].split(",")
START = datetime(2026, 11, 12, 8, tzinfo=UTC)
END = START + timedelta(hours=1)
KEY = b"k" * 16


def _rows(rng: random.Random, file_no: int, n: int) -> list[list[str]]:
    """n distinct template rows (own order, line and refund ids), amounts varied."""
    out = []
    for i in range(n):
        row = TEMPLATE[1 + i % 3].split(",")
        for column in ("order_id", "line_id", "refund_id"):
            row[HEADER.index(column)] += f"-{file_no}-{i}"
        scale = Decimal(rng.randint(1, 400)) / 100
        money = ("refund_principal", "refund_tax", "refund_shipping", "refund_promotion", "restocking_fee")
        parts = {c: (Decimal(row[HEADER.index(c)]) * scale).quantize(Decimal("0.01")) for c in money}
        for c, v in parts.items():
            row[HEADER.index(c)] = str(v)
        amount = (
            parts["refund_principal"] + parts["refund_shipping"] + parts["refund_tax"]
            - parts["refund_promotion"] - parts["restocking_fee"]
        )  # fmt: skip
        row[HEADER.index("refund_amount")] = str(amount)
        out.append(row)
    return out


def _break(rng: random.Random, row: list[str], rows: list[list[str]]) -> str:
    """One row as a line of text, broken one way or left whole."""
    cut = rng.randrange(len(row))
    kind = rng.randrange(16)
    row = list(row)
    if kind == 0:
        row.pop(cut)  # a field missing
    elif kind == 1:
        row.insert(cut, "extra")  # a field too many
    elif kind == 2:
        row[cut] = '"' + row[cut]  # a quote that never closes
    elif kind == 3:
        row[cut] = row[cut][:2] + "\x00" + row[cut][2:]  # a NUL byte
    elif kind == 4:
        row[HEADER.index("refund_amount")] = rng.choice(["1,2", "abc", "", "inf", "1e400", "-", "12.345"])
    elif kind == 5:
        row[HEADER.index(rng.choice(["quantity", "refund_quantity"]))] = rng.choice(
            ["inf", "1e400", "12345678901234567890", "1.5", "", "-1"]
        )
    elif kind == 6:
        row[HEADER.index(rng.choice(["refunded_at", "order_date"]))] = rng.choice(
            ["0001-01-01", "2026-11-12 08:05", "31/02/2026", "", "2026-13-40T99:00:00Z"]
        )
    elif kind == 7:
        row[HEADER.index(rng.choice(["order_id", "line_id", "refund_id"]))] = "1.23457E+15"
    elif kind == 8 and rows:
        other = rng.choice(rows)  # an id of another row, with other values
        column = rng.choice(["order_id", "line_id"])
        row[HEADER.index(column)] = other[HEADER.index(column)]
    elif kind == 9:
        row[HEADER.index("currency")] = rng.choice(["EURO", "", "eur", "XBT"])
    elif kind == 10:
        row[cut] = "X" * 140_000  # above the csv module's field limit
    elif kind == 11:
        row[cut] = " " + row[cut] + " "
    return ",".join(row)


POISON = {
    "empty": b"",
    "binary": b"PK\x03\x04" + bytes(range(256)) * 4,
    "missing column": TEMPLATE[0].replace("refund_amount", "amount").encode() + b"\n" + TEMPLATE[1].encode(),
    "header twice": (TEMPLATE[0] + ",sku\n" + TEMPLATE[1] + ",X\n").encode(),
    "latin-2": (TEMPLATE[0] + "\n" + TEMPLATE[1].replace("JACKET-RED-M", "ŁÓDŹ-ŻÓŁW") + "\n").encode(
        "iso8859_2"
    ),
}


@pytest.fixture
def csv_account(tmp_path):
    return parse_accounts(
        {"accounts": [{"id": "web-shop", "channel": "csv", "source": "live",
                       "marketplaces": ["acorn-outdoor.example"], "currency": "EUR", "folder": str(tmp_path)}]},
        "test",
    )[0]  # fmt: skip


@pytest.mark.parametrize("seed", range(25))
def test_fuzzed_csv_files_lose_no_row_and_hold_the_money_exactly(csv_account, tmp_path, taxonomy, seed):
    rng = random.Random(seed)
    files: dict[str, list[int]] = {}  # file -> its data lines
    poisoned: set[str] = set()
    for f in range(4):
        name = f"export-{seed}-{f}.csv"
        path = tmp_path / name
        if rng.random() < 0.25:
            path.write_bytes(rng.choice(list(POISON.values())))
            poisoned.add(name)
        else:
            base = _rows(rng, f, rng.randint(5, 40))
            lines = [
                _break(rng, r, base[:i]) if rng.random() < 0.4 else ",".join(r) for i, r in enumerate(base)
            ]
            encoding = rng.choice(["utf-8", "utf-8-sig", "utf-16", "cp1252"])
            path.write_bytes(
                ("\r\n" if rng.random() < 0.3 else "\n").join([TEMPLATE[0], *lines]).encode(encoding)
            )
            files[name] = [n for n, text in enumerate(lines, start=2) if text.strip()]
        stamp = (START + timedelta(minutes=5)).timestamp()
        os.utime(path, (stamp, stamp))
    options = csv_import.CsvOptions.from_account(csv_account)
    raw = csv_import.to_raw(csv_account, csv_import.fetch(options, START, END), options)  # never raises
    canonical = normalize(raw, taxonomy, KEY)
    got = validate(canonical, account_id=csv_account.id, interval_start=None, interval_end=None,
                   control_totals=raw.control_totals)  # fmt: skip
    kept, q = got.canonical.refund_lines, got.canonical.quarantine
    for name, lines in files.items():
        source = q["source_file"].str.startswith(name)
        where = set(kept.loc[kept["_source_file"].str.startswith(name), "_source_row"]) | set(
            q.loc[source, "source_row"]
        )
        assert set(lines) <= where, (name, sorted(set(lines) - where))  # every data line is somewhere
    for name in poisoned:
        assert (q["source_file"] == name).any(), name  # a file not read is reported whole
    identity = got.verdict.checks[0]
    assert identity["success"], identity
    assert identity["differences_minor"] == {}
    assert got.verdict.status == "pass"


def _charge(kind: str, value: str, ccy: str = "EUR") -> dict:
    return {"ChargeType": kind, "ChargeAmount": {"CurrencyCode": ccy, "CurrencyAmount": Decimal(value)}}


def _event(rng: random.Random, n: int) -> dict:
    items = []
    for i in range(rng.randint(1, 3)):
        principal = Decimal(rng.randint(100, 20000)) / 100
        items.append(
            {
                "SellerSKU": f"SKU-APP-{n}",
                "OrderItemId": f"L{n}-{i}",
                "OrderAdjustmentItemId": f"A{n}-{i}",
                "QuantityShipped": 1,
                "ItemChargeAdjustmentList": [
                    _charge("Principal", str(-principal)),
                    _charge(rng.choice(["Tax", "ShippingCharge", "Goodwill", "GiftwrapTax"]), "-1.50"),
                ],
                "PromotionAdjustmentList": [
                    {"PromotionAmount": {"CurrencyCode": "EUR", "CurrencyAmount": Decimal("0.50")}}
                ],
            }
        )
    return {
        "AmazonOrderId": f"302-{n}",
        "MarketplaceName": "Amazon.de",
        "PostedDate": "2026-11-12T08:15:00Z",
        "ShipmentItemAdjustmentList": items,
    }


def _mutate(rng: random.Random, node):
    """Drop, null, retype or double one key somewhere in the event (in place)."""
    holders = []

    def walk(x):
        if isinstance(x, dict):
            holders.append(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(node)
    target = rng.choice(holders)
    key = rng.choice(list(target))
    action = rng.randrange(5)
    if action == 0:
        del target[key]
    elif action == 1:
        target[key] = None
    elif action == 2:
        target[key] = rng.choice(["", "x", 0, [], {}, "12,50", "1e400"])
    elif action == 3 and key == "CurrencyAmount":
        target["Amount"] = target.pop(key)
    elif action == 4 and key == "CurrencyCode":
        target[key] = rng.choice(["GBP", "EURO", None])


@pytest.mark.parametrize("seed", range(25))
def test_fuzzed_amazon_events_lose_no_item_and_hold_the_money_exactly(accounts, taxonomy, seed):
    eu = dataclasses.replace(accounts["amazon-eu"], source="live", connection_id="amazon_eu")
    rng = random.Random(seed)
    events = [_event(rng, n) for n in range(20)]
    items = {i["OrderAdjustmentItemId"] for e in events for i in e["ShipmentItemAdjustmentList"]}
    mutated = copy.deepcopy(events)
    for event in mutated:
        if rng.random() < 0.5:
            _mutate(rng, event)
    log = PayloadLog()
    body = {"payload": {"FinancialEvents": {"RefundEventList": mutated[:10]}}}
    log.add("listFinancialEvents", "GET page1", 200, json.dumps(body, default=str))
    log.add("listFinancialEvents", "GET page2", 200, json.dumps({"payload": {"FinancialEvents": {
        rng.choice(["RefundEventList", "ChargebackEventList"]): mutated[10:]}}}, default=str))  # fmt: skip
    if rng.random() < 0.3:
        log.add(
            "listFinancialEvents", "GET page3", 200, rng.choice(['{"payload": null}', "{}", '{"payload": 1}'])
        )
    raw = amazon_to_raw(eu, log)  # never raises
    canonical = normalize(raw, taxonomy, KEY)
    got = validate(canonical, account_id=eu.id, interval_start=START, interval_end=END,
                   control_totals=raw.control_totals)  # fmt: skip
    kept, q = got.canonical.refund_lines, got.canonical.quarantine
    # every item the mutated input still holds is loaded, or quarantined with its record
    sent = json.dumps(mutated, default=str)
    present = {i for i in items if f'"{i}"' in sent}
    seen = set(kept["external_refund_id"]) | set(q["source_key"].dropna())
    records = " ".join(q["raw_record"])
    assert not {i for i in present if i not in seen and i not in records}
    identity = got.verdict.checks[0]
    assert identity["success"], identity
