"""Buyer data is pseudonymized before anything is written: the landing files, the quarantine, the warehouse.

A buyer's e-mail becomes a keyed hash (BLAKE2b with ACORN's pseudonym key, 32 hex characters): the same
buyer gives the same reference, so the serial-returner rules work, and nobody without the key can go back.
Where a channel's response is kept as received for replay, every e-mail address in it is replaced by its
pseudonym marked ``pseud:`` (:func:`scrub_payloads`); mapping the kept payload again reads the marked value
and gives the same buyer reference, so a replay gives the same rows. Gzip documents (Amazon's reports) carry no
buyer e-mail and are kept as they came.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

import pandas as pd
import pyarrow as pa

from acorn.channels.payloads import PayloadLog
from acorn.channels.raw import RawBatch
from acorn.columns import map_distinct

PREFIX = "pseud:"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
EMAIL_TEXT = re.compile(_EMAIL)
EMAIL_BYTES = re.compile(_EMAIL.encode())
_GZIP = b"\x1f\x8b"


def pseudonym(value: str, key: bytes) -> str:
    """The buyer reference of one identifier; an already pseudonymized value (``pseud:…``) is its own."""
    if value.startswith(PREFIX):
        return value[len(PREFIX) :]
    h = hashlib.blake2b(key=key[:64], digest_size=16)
    h.update(value.strip().lower().encode())
    return h.hexdigest()


def pseudonymize(values: pd.Series, key: bytes) -> pd.Series:
    """:func:`pseudonym` of each value, hashed once per distinct value (buyers come back); missing stays
    missing."""
    out = map_distinct(values, lambda v: pseudonym(v, key), pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(out), index=values.index)


def mask_emails(text: str, key: bytes) -> str:
    """``text`` with every e-mail address replaced by its marked pseudonym."""
    return EMAIL_TEXT.sub(lambda m: PREFIX + pseudonym(m.group(0), key), text)


def _mask_email_bytes(data: bytes, key: bytes) -> bytes:
    return EMAIL_BYTES.sub(lambda m: (PREFIX + pseudonym(m.group(0).decode(), key)).encode(), data)


def scrub_payloads(log: PayloadLog, key: bytes) -> PayloadLog:
    """The payloads with every buyer e-mail pseudonymized (text bodies and files such as CSV drops)."""
    scrubbed = []
    for p in log.payloads:
        if p.binary:
            content = p.content()
            if content[:2] != _GZIP and EMAIL_BYTES.search(content):
                p = dataclasses.replace(p, body=PayloadLog.encode_binary(_mask_email_bytes(content, key)))
        elif EMAIL_TEXT.search(p.body):
            p = dataclasses.replace(p, body=mask_emails(p.body, key))
        scrubbed.append(p)
    return PayloadLog(scrubbed)


def scrub_raw(raw: RawBatch, key: bytes) -> RawBatch:
    """The raw batch with its buyer e-mails (and any e-mail in a rejected record) as marked pseudonyms."""
    orders = raw.orders
    if "buyer_email" in orders:
        emails = orders["buyer_email"]
        marked = PREFIX + pseudonymize(emails, key)
        orders = orders.assign(buyer_email=marked.where(emails.notna(), pd.NA).astype(emails.dtype))
    rejects = [
        {**r, "raw_record": mask_emails(r["raw_record"], key)} if isinstance(r.get("raw_record"), str) else r
        for r in raw.rejects
    ]
    return dataclasses.replace(raw, orders=orders, rejects=rejects)
