"""Login with Amazon (LWA): access tokens for the Selling Partner API from a refresh token.

Tokens are cached per credential for the whole process and refreshed a minute before they expire; while one
thread refreshes a credential, the others wait for its result instead of asking LWA again (a stampede of
refreshes is how multi-worker deployments hit the LWA rate limit). ``invalid_client`` and ``invalid_grant``
mean the app's secret or the seller's authorization is gone: they fail at once, naming the connection.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from acorn.channels import redact
from acorn.channels.http import ChannelError, CredentialError, RetryPolicy, send

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
REFRESH_MARGIN_S = 60.0
FATAL_LWA_ERRORS = frozenset({"invalid_client", "invalid_grant", "unauthorized_client"})


@dataclass(frozen=True)
class LwaCredentials:
    """An SP-API app's LWA client and one seller's refresh token (from an Airflow Connection)."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_url: str = LWA_TOKEN_URL

    @property
    def cache_key(self) -> str:
        material = "|".join((self.token_url, self.client_id, self.refresh_token)).encode()
        return hashlib.sha256(material).hexdigest()


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    token: str | None = None
    expires_at: float = 0.0


class TokenCache:
    """Access tokens per credential, refreshed before expiry, one refresh at a time per credential."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._guard = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self.refreshes = 0

    def _entry(self, key: str) -> _Entry:
        with self._guard:
            return self._entries.setdefault(key, _Entry())

    def token(
        self,
        creds: LwaCredentials,
        client: httpx.Client,
        *,
        label: str,
        policy: RetryPolicy,
        on_secret: Callable[[str], None] | None = None,
        stale: str | None = None,
    ) -> str:
        """A valid access token. ``stale`` is a token the API just refused: replace it unless another thread
        already has."""
        entry = self._entry(creds.cache_key)
        with entry.lock:
            fresh = entry.token is not None and self._clock() < entry.expires_at - REFRESH_MARGIN_S
            if fresh and entry.token != stale:
                return entry.token  # type: ignore[return-value]
            token, expires_in = self._refresh(creds, client, label=label, policy=policy)
            redact.register(token)
            if on_secret is not None:
                on_secret(token)
            entry.token, entry.expires_at = token, self._clock() + expires_in
            self.refreshes += 1
            return token

    @staticmethod
    def _refresh(
        creds: LwaCredentials, client: httpx.Client, *, label: str, policy: RetryPolicy
    ) -> tuple[str, float]:
        response = send(
            client,
            "POST",
            creds.token_url,
            what=f"LWA token refresh for {label}",
            policy=policy,
            data={
                "grant_type": "refresh_token",
                "refresh_token": creds.refresh_token,
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            },
        )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200:
            error = str(body.get("error", f"HTTP {response.status_code}"))
            detail = body.get("error_description", "")
            if error in FATAL_LWA_ERRORS or response.status_code in (400, 401):
                raise CredentialError(
                    f"{label}: Login with Amazon refused the credential ({error}: {detail}); "
                    "update the client secret or the refresh token in the connection, then clear the task"
                )
            raise ChannelError(f"{label}: LWA token refresh failed ({error}: {detail})")
        if "access_token" not in body:
            raise ChannelError(f"{label}: LWA answered without an access_token")
        return str(body["access_token"]), float(body.get("expires_in", 3600))


#: One cache per process: all tasks of a worker share the tokens of a credential.
TOKENS = TokenCache()
