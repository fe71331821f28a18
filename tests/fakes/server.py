"""A local HTTP server for the channel fakes, with the faults real channels produce, on demand.

A fake subclasses :class:`FakeChannel` and implements :meth:`handle`. Faults are planned by request number
(1-based, counted over the whole server), so a test says exactly which call gets a 429 or a 503 and can
assert what the client did about it. Every request is recorded.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    number: int
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)


_NUMBER = re.compile(r'"__decimal__(-?[0-9.]+)"')


def dumps(obj: Any) -> str:
    """JSON with Decimal values written as JSON numbers, digit for digit (no float on the way)."""

    def encode(o: Any) -> str:
        if isinstance(o, Decimal):
            return f"__decimal__{o}"
        raise TypeError(type(o))

    return _NUMBER.sub(r"\1", json.dumps(obj, default=encode))


class FakeChannel:
    """Base of the fakes: serves :meth:`handle` on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        #: request number -> the fault response to give instead of the real one
        self.faults: dict[int, Response] = {}
        #: (status, path pattern): answer matching requests with an error that quotes the whole request
        self.echoing: tuple[int, str] | None = None
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                with fake._lock:
                    request = Request(
                        number=len(fake.requests) + 1,
                        method=self.command,
                        path=url.path,
                        query={k: v[-1] for k, v in parse_qs(url.query).items()},
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                    )
                    fake.requests.append(request)
                    response = (
                        fake.faults.pop(request.number, None) or fake._echo(request) or fake.handle(request)
                    )
                payload = response.body
                if not isinstance(payload, bytes | str):
                    payload = dumps(payload)
                data = payload.encode() if isinstance(payload, str) else payload
                self.send_response(response.status)
                for k, v in {"Content-Type": "application/json", **response.headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def fail(
        self, numbers: range | list[int] | int, status: int, headers: dict[str, str] | None = None
    ) -> None:
        """Plan a fault for the given request numbers."""
        for n in [numbers] if isinstance(numbers, int) else numbers:
            self.faults[n] = Response(
                status, {"errors": [{"code": "Fault", "message": "planned"}]}, headers or {}
            )

    def echo(self, status: int, path_pattern: str = ".*") -> None:
        """From now on, answer requests to matching paths with ``status`` and a body that repeats the
        request's headers, query and body, in the fields each channel puts its error text in (as misbehaving
        gateways and some APIs do): what a client must never pass on."""
        self.echoing = (status, path_pattern)

    def _echo(self, request: Request) -> Response | None:
        if self.echoing is None or not re.fullmatch(self.echoing[1], request.path):
            return None
        credentials = {k: v for k, v in request.headers.items() if "auth" in k or "token" in k}
        quoted = f"refused {credentials} {request.body!r} {request.query} {request.method} {request.path}"
        return Response(
            self.echoing[0],
            {
                "error": "invalid_request",
                "error_description": quoted,
                "errors": [{"code": "InvalidInput", "message": quoted}],
                "message": quoted,
            },
        )

    def calls(self, path_pattern: str) -> list[Request]:
        return [r for r in self.requests if re.fullmatch(path_pattern, r.path)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
