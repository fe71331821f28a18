"""Buyer e-mails never reach a landing file or the quarantine in clear; replays give the same buyers."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta

import pandas as pd

from acorn import pipeline
from acorn.channels.payloads import PayloadLog
from acorn.landing import batch_folder, read_frame
from acorn.privacy import PREFIX, pseudonym, pseudonymize, scrub_payloads

KEY = b"k" * 32
EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}")
START = datetime(2026, 11, 2, 9, tzinfo=UTC)
END = START + timedelta(hours=3)


def _landing_bytes(folder):
    for path in folder.iterdir():
        data = path.read_bytes()
        yield path.name, gzip.decompress(data) if path.suffix == ".gz" else data


def test_a_demo_batch_writes_no_buyer_email_and_keeps_the_buyer_reference(accounts, taxonomy, tmp_path):
    from acorn.channels.demo import generator as demo

    account = accounts["amazon-na"]
    folder = batch_folder(tmp_path, account.id, START, END)
    pipeline.extract(account, START, END, folder, as_of=END, taxonomy=taxonomy, pseudonym_key=KEY,
                     demo_options=pipeline.DemoOptions(lines_per_hour=200))  # fmt: skip
    pipeline.validate_stage(folder, account.id, START, END)
    leaks = {name for name, data in _landing_bytes(folder) if EMAIL.search(data)}
    assert leaks == set()
    raw = demo.generate(account, START, END, seed=7, lines_per_hour=200, as_of=END)
    assert raw.orders["buyer_email"].str.contains("@").sum() > 0  # the channel did send e-mails
    orders = read_frame(folder, "canonical_orders").set_index("external_order_id")["buyer_ref"]
    want = raw.orders.set_index("external_order_id")["buyer_email"].dropna()
    assert orders[want.index].tolist() == [pseudonym(e, KEY) for e in want]
    quarantine = read_frame(folder, "quarantine")
    assert len(quarantine) > 0
    assert not quarantine["raw_record"].str.contains("@", regex=False).any()


def test_kept_payloads_lose_every_email_and_map_to_the_same_buyer():
    log = PayloadLog()
    log.add("orders", "GET /orders", 200, '{"email": "Ann.Buyer@Example.com", "note": "cc ops@shop.example"}')
    log.add("csv", "drop.csv", 200, b"order_id,buyer_email\n1,ann.buyer@example.com\n", binary=True)
    log.add("report", "doc", 200, gzip.compress(b"x@y.example"), binary=True)
    scrubbed = scrub_payloads(log, KEY)
    ref = pseudonym("ann.buyer@example.com", KEY)
    assert (
        scrubbed.payloads[0].body
        == f'{{"email": "{PREFIX}{ref}", "note": "cc {PREFIX}{pseudonym("ops@shop.example", KEY)}"}}'
    )
    assert scrubbed.payloads[1].content() == f"order_id,buyer_email\n1,{PREFIX}{ref}\n".encode()
    assert scrubbed.payloads[2] == log.payloads[2]  # gzip documents carry no buyer data
    again = pseudonymize(pd.Series([f"{PREFIX}{ref}", "ann.buyer@example.com", None], dtype="string"), KEY)
    assert again.tolist()[:2] == [ref, ref]
    assert again.isna().tolist() == [False, False, True]
