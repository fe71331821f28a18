"""HTTP for the channel clients: bounded retries with jitter, Retry-After, and typed failures.

Every client sends its requests through :func:`send`, so the rules are the same for all channels:

- 429 is retried after ``Retry-After`` when the channel sends it, otherwise after an exponential backoff
  with full jitter (so many workers do not retry in step);
- 5xx and connection errors are retried the same way, a bounded number of times;
- any other 4xx is not retried: it is a request ACORN got wrong or a credential that no longer works.

Built on httpx and tenacity, both already in Airflow's own dependency set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential
from tenacity.wait import wait_base

from acorn.channels.redact import redact
from acorn.errors import AcornError

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def iso(ts: datetime) -> str:
    """An instant as the channels' APIs take it: UTC, seconds, ``Z``."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ChannelError(AcornError):
    """A channel call failed for good (after the allowed retries); the message names the call.

    The message is redacted here, whoever built it: whatever a channel echoed back (a refused grant, a
    request header) never reaches a log or a task's error.
    """

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class CredentialError(ChannelError):
    """The channel refused the account's credential (expired, revoked, wrong client): retrying cannot help."""


class PayloadError(ChannelError):
    """A response does not have the documented shape; the message names the payload and the field."""

    def __init__(self, payload: str, field: str, message: str) -> None:
        self.payload = payload
        self.field = field
        super().__init__(f"{payload}: {field}: {message}")


class _Retryable(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")

    @property
    def retry_after(self) -> float | None:
        value = self.response.headers.get("Retry-After")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` in all, waits growing from ``backoff_s`` up to ``max_backoff_s``."""

    attempts: int = 6
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


class _WaitRetryAfter(wait_base):
    """Wait what the channel asked for (Retry-After, capped), else exponential backoff with full jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.cap = policy.max_backoff_s
        self.jitter = wait_random_exponential(multiplier=policy.backoff_s, max=policy.max_backoff_s)

    def __call__(self, retry_state) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self.cap)
        return self.jitter(retry_state)


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    what: str,
    policy: RetryPolicy,
    before: Callable[[], None] | None = None,
    **kwargs,
) -> httpx.Response:
    """Send one request with the retry rules above; ``before`` runs ahead of every attempt (auth, pacing).

    Returns the first non-retryable response (the caller decides what a 4xx means); raises
    :class:`ChannelError` when the retries are spent.
    """

    def attempt() -> httpx.Response:
        if before is not None:
            before()
        response = client.request(method, url, timeout=policy.timeout_s, **kwargs)
        if response.status_code in RETRYABLE_STATUS:
            raise _Retryable(response)
        return response

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=_WaitRetryAfter(policy),
        retry=retry_if_exception_type((_Retryable, httpx.TransportError)),
        sleep=policy.sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except _Retryable as exc:
        raise ChannelError(
            f"{what}: HTTP {exc.response.status_code} after {policy.attempts} attempts"
        ) from None
    except httpx.TransportError as exc:
        raise ChannelError(f"{what}: {type(exc).__name__} after {policy.attempts} attempts: {exc}") from None
