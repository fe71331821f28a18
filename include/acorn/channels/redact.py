"""Secrets out of every message and payload a channel client produces.

Channels echo what they were sent: Login with Amazon repeats a refused grant in ``error_description``, shops
return request headers in error bodies, proxies quote the Authorization header. Every credential a client
holds, and every token it obtains, is registered here; :func:`redact` takes them out of any text, together
with anything shaped like a bearer token, a ``token=...`` field or a channel's token format, so an error
message, a log line or a kept payload never carries one, whichever runner prints it.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
#: shorter values are not secrets worth matching (and would mask ordinary words)
MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

#: token shapes masked even when nobody registered them
SHAPES = re.compile(
    r"(?i)(?P<keep>bearer\s+|basic\s+)[A-Za-z0-9._~+/=|-]{6,}"
    r"|(?P<keep2>[\"']?(?<![A-Za-z0-9_])(?:access_token|refresh_token|client_secret|client_id_secret|password|passwd|secret|"
    r"api_key|apikey|authorization|x-shopify-access-token|x-amz-access-token|token)[\"']?\s*[:=]\s*[\"']?"
    r"(?:bearer\s+|basic\s+)?)"
    r"[^\"'&,;\s}\]]{4,}"
    r"|Atz[ar]\|[A-Za-z0-9._|%+/=-]+"
    r"|shp(?:at|ca|pa|ss)_[A-Za-z0-9]+"
)


def register(*values: str | None) -> None:
    """Remember secrets to mask (credentials, minted tokens); ``None`` and short values are ignored."""
    global _pattern
    fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH} - _secrets
    if not fresh:
        return
    with _lock:
        _secrets.update(fresh)
        ordered = sorted(_secrets, key=len, reverse=True)  # a secret inside a longer one: the longer first
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """``text`` with every registered secret and every token-shaped value replaced by ``***``: for error
    messages and error bodies."""
    return SHAPES.sub(_mask_shape, redact_registered(text)) if text else text


def redact_registered(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``: for payloads kept as received, whose
    ordinary fields (a ``NextToken``, say) must stay as the channel sent them."""
    pattern = _pattern
    return pattern.sub(MASK, text) if text and pattern is not None else text


def _mask_shape(match: re.Match[str]) -> str:
    keep = match.group("keep") or match.group("keep2") or ""
    return keep + MASK
