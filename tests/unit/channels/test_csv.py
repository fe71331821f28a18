"""CSV import: the template, encodings, delimiters, decimal commas, the size limit, and bad rows by file and line."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from acorn.channels.accounts import parse_accounts
from acorn.channels.csv import files as csv_import
from acorn.normalize import normalize
from acorn.settings import INCLUDE

TEMPLATE = INCLUDE / "data" / "csv_template" / "refunds_template.csv"
START = datetime(2026, 11, 12, 8, tzinfo=UTC)
END = START + timedelta(hours=1)
KEY = b"k" * 16


@pytest.fixture
def drop(tmp_path: Path):
    account = parse_accounts(
        {
            "accounts": [
                {
                    "id": "web-shop",
                    "channel": "csv",
                    "source": "live",
                    "marketplaces": ["acorn-outdoor.example"],
                    "currency": "EUR",
                    "folder": str(tmp_path),
                }
            ]
        },
        "test",
    )[0]
    return account, tmp_path


def put(folder: Path, name: str, data: bytes, at: datetime = START + timedelta(minutes=5)) -> Path:
    path = folder / name
    path.write_bytes(data)
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


def run(account, taxonomy):
    options = csv_import.CsvOptions.from_account(account)
    log = csv_import.fetch(options, START, END)
    return normalize(csv_import.to_raw(account, log, options), taxonomy, KEY)


def test_the_documented_template_maps_to_hand_checked_rows(drop, taxonomy):
    account, folder = drop
    put(folder, "refunds.csv", TEMPLATE.read_bytes())
    got = run(account, taxonomy)
    assert got.quarantine.empty
    assert (len(got.orders), len(got.order_lines), len(got.refund_lines)) == (3, 3, 3)
    r = got.refund_lines.set_index("external_refund_id")
    assert r.loc[
        "RF-5002", ["principal_minor", "tax_minor", "restocking_fee_minor", "amount_minor"]
    ].tolist() == [2499, 475, 375, 2599]
    assert r.loc["RF-5002", "reason"] == "DEFECTIVE"
    assert r.loc["RF-5002", "disposition"] == "CUSTOMER_DAMAGED"
    assert r.loc["RF-5003", "currency"] == "GBP"
    assert r.loc["RF-5003", "returnless"]
    assert r.loc["RF-5001", "refunded_at"] == datetime(2026, 11, 12, 8, 5, tzinfo=UTC)
    lines = got.order_lines.set_index("external_line_id")
    assert lines.loc["WEB-1002-1", ["quantity", "principal_minor"]].tolist() == [2, 4998]


@pytest.mark.parametrize(
    ("encoding", "sku"),
    [
        ("utf-8", "JACKET-ÉTÉ"),
        ("utf-8-sig", "JACKET-ÉTÉ"),
        ("cp1252", "CAFÉ-TASSE-€"),
        ("shift_jis", "ジャケット赤"),
    ],
)
def test_each_encoding_is_detected_and_read(drop, taxonomy, encoding, sku):
    account, folder = drop
    text = TEMPLATE.read_text(encoding="utf-8").replace("JACKET-RED-M", sku)
    put(folder, "export.csv", text.encode(encoding))
    got = run(account, taxonomy)
    assert got.quarantine.empty
    assert sku in set(got.order_lines["sku"])
    detected = csv_import.detect_encoding(text.encode(encoding))
    assert detected.replace("_", "-").lower() in {encoding.replace("_", "-"), "utf-8"} | (
        {"shift-jis", "cp932"} if encoding == "shift_jis" else set()
    )


def test_semicolon_files_use_decimal_commas(drop, taxonomy):
    account, folder = drop
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    header, row = lines[0].replace(",", ";"), lines[1].replace(",", ";")
    row = row.replace(";79.99;", ";1.079,99;", 1).replace(
        ";95.18;", ";1.095,18;", 1
    )  # order total and principal
    put(folder, "eu.csv", f"{header}\n{row}\n".encode())
    got = run(account, taxonomy)
    assert got.quarantine.empty
    assert got.orders["order_total_minor"].tolist() == [109518]
    assert got.order_lines["principal_minor"].tolist() == [107999]


def test_bad_rows_are_quarantined_by_file_line_and_field_and_nothing_is_lost(drop, taxonomy):
    account, folder = drop
    rows = TEMPLATE.read_text(encoding="utf-8").splitlines()
    broken = [
        rows[0],
        rows[1],
        rows[2].rsplit(",", 3)[0],  # fields missing at the end
        rows[3].replace("RF-5003", "1.23457E+15"),  # an id Excel rewrote
        rows[1].replace("RF-5001", "RF-5004").replace("2026-11-12T08:05:00Z", "12/11/2026 08:05"),  # bad date
    ]
    put(folder, "messy.csv", ("\n".join(broken) + "\n").encode())
    got = run(account, taxonomy)
    q = got.quarantine.set_index("source_row")
    assert sorted(q.index) == [3, 4, 5]
    assert q.loc[3, "field"] == "(row)"
    assert "27 fields where the header has 30" in q.loc[3, "reason"]
    assert q.loc[4, "field"] == "refund_id"
    assert "Excel" in q.loc[4, "reason"]
    assert q.loc[5, "field"] == "refunded_at"
    assert set(q["source_file"]) == {"messy.csv (utf-8)"}
    assert len(got.refund_lines) + len(q) == len(broken) - 1  # every data row is loaded or quarantined


def test_a_file_above_the_limit_is_reported_not_read(drop, taxonomy):
    account, folder = drop
    account = dataclasses.replace(account, extra={**account.extra, "max_bytes": 100})
    put(folder, "huge.csv", TEMPLATE.read_bytes())
    got = run(account, taxonomy)
    assert got.refund_lines.empty
    assert got.quarantine["source_file"].tolist() == ["huge.csv"]
    assert "above the limit of 100" in got.quarantine["reason"].iloc[0]


def test_an_empty_file_is_reported_and_the_good_files_beside_it_are_read(drop, taxonomy):
    account, folder = drop
    put(folder, "empty.csv", b"")
    put(folder, "good.csv", TEMPLATE.read_bytes())
    got = run(account, taxonomy)  # raised a bare StopIteration before
    assert len(got.refund_lines) == 3  # the template's three refunds
    assert got.quarantine["source_file"].tolist() == ["empty.csv"]
    assert got.quarantine["field"].tolist() == ["(file)"]
    assert "empty file" in got.quarantine["reason"].iloc[0]


def test_a_missing_required_column_names_file_and_column_and_the_good_file_beside_it_is_read(drop, taxonomy):
    account, folder = drop
    text = TEMPLATE.read_text(encoding="utf-8").replace("refund_amount", "amount_refunded")
    put(folder, "renamed.csv", text.encode())
    put(folder, "good.csv", TEMPLATE.read_bytes())
    got = run(account, taxonomy)  # raised for the whole interval before: good.csv was not read either
    assert len(got.refund_lines) == 3
    q = got.quarantine.iloc[0]
    assert (q["source_file"], q["field"]) == ("renamed.csv", "refund_amount")
    assert q["reason"] == "required column missing; see the template"


def test_only_files_that_arrived_in_the_interval_are_taken(drop, taxonomy):
    account, folder = drop
    put(folder, "now.csv", TEMPLATE.read_bytes())
    put(folder, "earlier.csv", TEMPLATE.read_bytes().replace(b"RF-", b"OLD-"), at=START - timedelta(hours=2))
    got = run(account, taxonomy)
    assert sorted(got.refund_lines["external_refund_id"]) == ["RF-5001", "RF-5002", "RF-5003"]


def test_a_file_not_in_the_configured_encoding_names_file_and_encoding(drop, taxonomy):
    account, folder = drop
    account = dataclasses.replace(account, extra={**account.extra, "encoding": "utf-8"})
    text = TEMPLATE.read_text(encoding="utf-8").replace("JACKET-RED-M", "ジャケット")
    put(folder, "sjis.csv", text.encode("shift_jis"))
    q = run(account, taxonomy).quarantine.iloc[0]
    assert (q["source_file"], q["field"]) == ("sjis.csv", "encoding")
    assert q["reason"].startswith("not utf-8 (byte ")


def _template_rows() -> list[str]:
    return TEMPLATE.read_text(encoding="utf-8").splitlines()


def test_one_unbalanced_quote_costs_its_line_not_the_rest_of_the_file(drop, taxonomy):
    account, folder = drop
    rows = _template_rows()
    broken = rows[1].replace("JACKET-RED-M", '"JACKET-RED-M')  # a quote that never closes
    put(folder, "quote.csv", "\n".join([rows[0], broken, rows[2], rows[3]]).encode() + b"\n")
    got = run(account, taxonomy)  # one rejected record of the rest of the file before, verdict pass
    assert sorted(got.refund_lines["external_refund_id"]) == ["RF-5002", "RF-5003"]
    q = got.quarantine.set_index("source_row")
    assert q.index.tolist() == [2]
    assert q.loc[2, "reason"] == "an unbalanced quote: the line cannot be split into fields"


def test_a_field_above_128_kib_costs_its_row_not_the_file(drop, taxonomy):
    account, folder = drop
    rows = _template_rows()
    put(
        folder,
        "long.csv",
        "\n".join([rows[0], rows[1].replace("JACKET-RED-M", "X" * 200_000), rows[2]]).encode(),
    )
    got = run(account, taxonomy)
    assert got.refund_lines["external_refund_id"].tolist() == ["RF-5002"]
    q = got.quarantine.iloc[0]
    assert q["source_row"] == 2
    assert q["reason"] == "a field of 200000 characters (the limit is 131072)"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_are_read_with_or_without_a_byte_order_mark(drop, taxonomy, encoding):
    account, folder = drop
    text = TEMPLATE.read_text(encoding="utf-8").replace("JACKET-RED-M", "JACKE-GRÜN-€")
    put(folder, "utf16.csv", text.encode(encoding))
    got = run(account, taxonomy)  # "order_id: required column missing" before
    assert got.quarantine.empty
    assert "JACKE-GRÜN-€" in set(got.order_lines["sku"])


def test_a_file_that_reads_differently_in_two_encodings_is_refused_not_guessed(drop, taxonomy):
    account, folder = drop
    text = TEMPLATE.read_text(encoding="utf-8").replace("JACKET-RED-M", "KURTKA-ŻÓŁTA-ŁÓDŹ")
    put(folder, "polish.csv", text.encode("iso8859_2"))
    q = run(account, taxonomy).quarantine.iloc[0]  # stored as Shift_JIS mojibake before
    assert (q["source_file"], q["field"]) == ("polish.csv", "encoding")
    assert "reads differently as" in q["reason"]
    assert "set the account's encoding" in q["reason"]
    configured = dataclasses.replace(account, extra={**account.extra, "encoding": "iso8859_2"})
    assert "KURTKA-ŻÓŁTA-ŁÓDŹ" in set(run(configured, taxonomy).order_lines["sku"])


def test_a_duplicated_header_column_refuses_the_file_by_name(drop, taxonomy):
    account, folder = drop
    rows = _template_rows()
    put(folder, "twice.csv", "\n".join([rows[0] + ",sku", rows[1] + ",OTHER-SKU"]).encode())
    q = run(account, taxonomy).quarantine.iloc[0]  # the last sku column silently won before
    assert (q["source_file"], q["field"]) == ("twice.csv", "sku")
    assert q["reason"].startswith("appears 2 times in the header (columns [9, 31])")


def test_a_binary_file_is_refused_and_the_files_beside_it_are_read(drop, taxonomy):
    account, folder = drop
    put(folder, "export.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 8)  # an .xlsx renamed
    put(folder, "good.csv", TEMPLATE.read_bytes())
    got = run(account, taxonomy)
    assert len(got.refund_lines) == 3
    assert got.quarantine["source_file"].tolist() == ["export.csv"]


@pytest.mark.parametrize("block", [csv_import._Rows.BLOCK, 1])
def test_an_order_or_line_id_repeated_with_other_values_is_held_back_not_joined_to_the_first(
    drop, taxonomy, monkeypatch, block
):
    monkeypatch.setattr(csv_import._Rows, "BLOCK", block)  # 1: the first row already packed into Arrow
    account, folder = drop
    rows = _template_rows()
    header = rows[0].split(",")
    other = rows[2].split(",")
    other[header.index("line_id")] = rows[1].split(",")[
        header.index("line_id")
    ]  # row 3 reuses row 2's line id
    same = rows[1].replace("RF-5001", "RF-5009")  # a second refund of row 2's line: same line, same order
    put(folder, "ids.csv", "\n".join([rows[0], rows[1], ",".join(other), same]).encode() + b"\n")
    got = run(account, taxonomy)  # row 3's refund was loaded against row 2's line and order before
    assert sorted(got.refund_lines["external_refund_id"]) == ["RF-5001", "RF-5009"]
    q = got.quarantine.iloc[0]
    assert (q["source_row"], q["field"]) == (3, "line_id")
    assert q["reason"] == "WEB-1001-1 repeats line 2's order line with another sku"


def test_times_without_a_zone_are_refused_unless_the_account_names_its_timezone(drop, taxonomy):
    account, folder = drop
    rows = _template_rows()
    local = rows[1].replace("2026-11-12T08:05:00Z", "2026-11-12 08:05:00")
    put(folder, "local.csv", "\n".join([rows[0], local]).encode() + b"\n")
    q = run(account, taxonomy).quarantine.iloc[0]  # read as UTC without a word before
    assert (q["source_row"], q["field"]) == (2, "refunded_at")
    assert "no time zone in '2026-11-12 08:05:00'" in q["reason"]
    berlin = dataclasses.replace(account, extra={**account.extra, "timezone": "Europe/Berlin"})
    got = run(berlin, taxonomy)
    assert got.quarantine.empty
    assert got.refund_lines["refunded_at"].iloc[0] == pd.Timestamp("2026-11-12T07:05:00Z")


def test_a_rejected_row_counts_with_its_own_amount_in_the_money_identity(drop, taxonomy):
    from acorn.recon.control_totals import money_identity

    account, folder = drop
    rows = TEMPLATE.read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    excel = rows[2].replace("RF-5002", "1.23457E+15")  # its fields line up: the amount can be read
    short = rows[3].split(",")
    short.pop(header.index("sku"))  # a field missing mid-row: no field of it can be trusted
    put(folder, "rejects.csv", "\n".join([rows[0], rows[1], excel, ",".join(short)]).encode() + b"\n")
    options = csv_import.CsvOptions.from_account(account)
    raw = csv_import.to_raw(account, csv_import.fetch(options, START, END), options)
    got = normalize(raw, taxonomy, KEY)
    q = got.quarantine.set_index("source_row")
    amount = rows[2].split(",")[header.index("refund_amount")]
    assert q.loc[3, "field"] == "refund_id"
    assert q.loc[3, "amount_minor"] == int(Decimal(amount) * 100)
    assert q.loc[3, "currency"] == "EUR"
    assert q.loc[4, "field"] == "(row)"
    assert q.loc[4, "amount_minor"] is pd.NA
    kept = int(got.refund_lines["amount_minor"].sum())
    assert raw.control_totals == {"EUR": kept + q.loc[3, "amount_minor"]}
    identity = money_identity(raw.control_totals, got.refund_lines, got.quarantine)
    assert identity["success"]
    assert identity["unreadable_quarantined_rows"] == 1
    off = money_identity({"EUR": raw.control_totals["EUR"] + 1}, got.refund_lines, got.quarantine)
    assert off["differences_minor"] == {"EUR": 1}
    assert not off["success"]


def test_rows_the_expectations_quarantine_keep_their_file_and_line(drop, taxonomy):
    from acorn.quality.validate import validate

    account, folder = drop
    rows = _template_rows()
    header = rows[0].split(",")
    off = rows[2].split(",")
    off[header.index("refund_amount")] = "1.00"  # its components no longer add up to the amount
    put(folder, "sums.csv", "\n".join([rows[0], rows[1], ",".join(off), rows[3]]).encode() + b"\n")
    got = validate(
        run(account, taxonomy),
        account_id=account.id,
        interval_start=None,
        interval_end=None,
        control_totals={},
    )
    q = got.canonical.quarantine
    assert q["check_name"].tolist() == ["great_expectations"]
    assert (q["source_file"].iloc[0], q["source_row"].iloc[0]) == ("sums.csv (utf-8)", 3)  # "" and 2 before
    assert "_source" not in q["raw_record"].iloc[0]
    assert len(got.canonical.refund_lines) == 2


def test_files_are_taken_once_by_name_and_content_whatever_their_modification_time(drop, tmp_path, taxonomy):
    account, folder = drop
    options = csv_import.CsvOptions.from_account(account)
    marks = tmp_path / "landing" / "web-shop" / "csv_files_taken"

    def take(interval: str, start: datetime) -> list[str]:
        taken = csv_import.TakenFiles(marks, interval)
        return [
            p.request for p in csv_import.fetch(options, start, start + timedelta(hours=1), taken).payloads
        ]

    put(
        folder, "old.csv", TEMPLATE.read_bytes(), at=START - timedelta(days=30)
    )  # cp -p of last month's export
    put(folder, "now.csv", TEMPLATE.read_bytes().replace(b"RF-", b"NOW-"))
    assert take("h08", START) == ["old.csv", "now.csv"]  # old.csv was never read before, nor reported
    assert take("h08", START) == ["old.csv", "now.csv"]  # a re-run of the interval takes what it took
    later = START + timedelta(hours=1)
    put(folder, "now.csv", TEMPLATE.read_bytes().replace(b"RF-", b"NOW-"), at=later + timedelta(minutes=1))
    assert take("h09", later) == []  # touched, same content: taken already
    put(folder, "now.csv", TEMPLATE.read_bytes().replace(b"RF-", b"FIX-"), at=later + timedelta(minutes=2))
    assert take("h09", later) == ["now.csv"]  # a corrected export under the same name is new
    put(folder, "next.csv", TEMPLATE.read_bytes(), at=later + timedelta(hours=5))
    assert take("h09", later) == ["now.csv"]  # arrived after the interval: a later run's


def test_a_run_reads_at_most_its_byte_cap_and_leaves_the_other_files_for_the_next(drop, tmp_path, taxonomy):
    account, folder = drop
    size = len(TEMPLATE.read_bytes())
    options = dataclasses.replace(csv_import.CsvOptions.from_account(account), max_interval_bytes=2 * size)
    marks = tmp_path / "landing" / "web-shop" / "csv_files_taken"
    for i, name in enumerate(("c.csv", "a.csv", "b.csv")):  # arrival order c, a, b
        put(folder, name, TEMPLATE.read_bytes().replace(b"RF-", f"R{i}-".encode()), at=START + timedelta(i))
    hour, next_hour = START + timedelta(days=3), START + timedelta(days=3, hours=1)

    first = csv_import.fetch(options, hour, next_hour, csv_import.TakenFiles(marks, "h1"))
    assert [(p.kind, p.request) for p in first.payloads] == [
        ("csv", "c.csv"), ("csv", "a.csv"), ("csv:deferred", "b.csv")
    ]  # fmt: skip
    raw = csv_import.to_raw(account, first, options)
    assert raw.rejects == []  # not refused: the next run takes it
    second = csv_import.fetch(
        options, next_hour, next_hour + timedelta(hours=1), csv_import.TakenFiles(marks, "h2")
    )
    assert [(p.kind, p.request) for p in second.payloads] == [("csv", "b.csv")]

    by_mtime = csv_import.fetch(options, START, START + timedelta(days=3))  # no record of taken files
    refused = csv_import.to_raw(account, by_mtime, options).rejects
    assert [(r["source_file"], r["field"]) for r in refused] == [("b.csv", "(file)")]
    assert "max_interval_bytes" in refused[0]["reason"]
