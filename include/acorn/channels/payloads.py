"""The payloads a channel returned, kept exactly as received, so that any batch can be mapped again.

A client records every response body it uses (with the request that produced it, secrets left out) in a
:class:`PayloadLog`; a registered credential is masked even where a channel echoes it (``redact``). The extract stage writes the log to the batch's landing folder *before* mapping it, so
a payload that does not map is never lost; :func:`read_payloads` gives the same list back for a replay.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from acorn.channels.redact import redact, redact_registered
from acorn.landing import PathLike

PAYLOAD_FILE = "raw_payloads.jsonl.gz"


@dataclass(frozen=True)
class Payload:
    """One response body as received. ``body`` is text; binary bodies (gzip report documents) are base64."""

    seq: int
    kind: str
    request: str
    status: int
    body: str
    binary: bool = False
    received_at: str = ""

    def content(self) -> bytes:
        return base64.b64decode(self.body) if self.binary else self.body.encode()

    def json(self) -> Any:
        """The body parsed with every JSON number kept as its exact text (money is never a float)."""
        return json.loads(self.body, parse_float=Decimal)


@dataclass
class PayloadLog:
    payloads: list[Payload] = field(default_factory=list)

    def add(
        self, kind: str, request: str, status: int, body: bytes | str, *, binary: bool = False
    ) -> Payload:
        if binary:
            text = self.encode_binary(body)
        else:
            text = body if isinstance(body, str) else body.decode()
            # an error body may echo the request: no credential is kept, of any shape
            text = redact_registered(text) if status < 400 else redact(text)
        payload = Payload(
            seq=len(self.payloads),
            kind=kind,
            request=request,
            status=status,
            body=text,
            binary=binary,
            received_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self.payloads.append(payload)
        return payload

    @staticmethod
    def encode_binary(body: bytes) -> str:
        """How a binary body is kept: base64 text."""
        return base64.b64encode(body).decode()

    def of(self, kind: str) -> Iterator[Payload]:
        return (p for p in self.payloads if p.kind == kind)

    def __len__(self) -> int:
        return len(self.payloads)


def write_payloads(folder: PathLike, log: PayloadLog) -> None:
    """One JSON line per payload, gzip-compressed, in the batch folder."""
    with (folder / PAYLOAD_FILE).open("wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        for payload in log.payloads:
            gz.write(json.dumps(asdict(payload), ensure_ascii=False).encode() + b"\n")


def read_payloads(folder: PathLike) -> PayloadLog:
    with (folder / PAYLOAD_FILE).open("rb") as fh, gzip.GzipFile(fileobj=fh, mode="rb") as gz:
        return PayloadLog([Payload(**json.loads(line)) for line in gz.read().splitlines() if line.strip()])
