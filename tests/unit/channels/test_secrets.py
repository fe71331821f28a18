"""No secret a channel echoes back reaches an error message, a log line or a kept payload.

Each fake is told to answer with an error body that repeats the whole request (headers, form, query), as
misbehaving gateways and some APIs do; the connections hold canary values that must appear nowhere.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from acorn.channels import redact
from acorn.channels.base import ConnectionInfo
from acorn.channels.http import ChannelError, RetryPolicy
from tests.fakes.amazon import FakeSpApi
from tests.fakes.dataset import demo_dataset
from tests.fakes.fetching import fetch
from tests.fakes.magento import FakeMagento
from tests.fakes.shopify import FakeShopify

START = datetime(2026, 11, 20, 10, tzinfo=UTC)
END = START + timedelta(hours=1)
KEY = b"k" * 16
QUICK = RetryPolicy(attempts=2, backoff_s=0.001, max_backoff_s=0.01, sleep=lambda _s: None)


def canary(kind: str) -> str:
    return f"CANARY{kind}{secrets.token_hex(8)}"


def _amazon(accounts, taxonomy):
    account = dataclasses.replace(
        accounts["amazon-eu"], source="live", connection_id="amazon_eu", extra={"report_poll_s": 0.01}
    )
    fake = FakeSpApi(demo_dataset(account, START, END, taxonomy, KEY))
    fake.client_secret, fake.refresh_token = canary("secret"), "Atzr|" + canary("refresh")
    conn = ConnectionInfo(
        "amazon_eu",
        login=fake.client_id,
        password=fake.client_secret,
        extra={"refresh_token": fake.refresh_token, "endpoint": fake.url, "token_url": f"{fake.url}/auth/o2/token"},
    )  # fmt: skip
    return account, fake, conn, [fake.client_secret, fake.refresh_token]


def _shopify(accounts, taxonomy):
    account = dataclasses.replace(accounts["shopify-outdoor"], source="live", connection_id="shopify_outdoor")
    fake = FakeShopify(demo_dataset(account, START, END, taxonomy, KEY), token="shpat_" + canary("token"))
    conn = ConnectionInfo("shopify_outdoor", password=fake.token, extra={"endpoint": fake.url})
    return account, fake, conn, [fake.token]


def _magento(accounts, taxonomy):
    account = dataclasses.replace(accounts["magento-eu"], source="live", connection_id="magento_eu")
    fake = FakeMagento(demo_dataset(account, START, END, taxonomy, KEY), token=canary("token"))
    conn = ConnectionInfo("magento_eu", host=fake.url, password=fake.token)
    return account, fake, conn, [fake.token]


CHANNELS = {
    "amazon-lwa": (_amazon, "/auth/o2/token"),
    "amazon-sp-api": (_amazon, "/(orders|finances|reports).*"),
    "shopify": (_shopify, ".*"),
    "magento": (_magento, ".*"),
}


@pytest.mark.parametrize("status", [400, 401, 403, 503])
@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_an_error_that_echoes_the_request_carries_no_secret(channel, status, accounts, taxonomy, caplog):
    build, path = CHANNELS[channel]
    account, fake, conn, canaries = build(accounts, taxonomy)
    caplog.set_level(logging.DEBUG)
    fake.echo(status, path)
    with fake, pytest.raises(ChannelError) as err:
        fetch(account, conn, START, END, now=END + timedelta(hours=1), policy=QUICK)
    assert any(c in r.body.decode(errors="replace") for r in fake.requests for c in canaries) or any(
        c in str(r.headers) for r in fake.requests for c in canaries
    )  # the secrets did go out, and came back in the error bodies
    said = f"{err.value}\n{err.value!r}\n{caplog.text}"
    assert "InvalidInput" in said or "invalid_request" in said or f"HTTP {status}" in said
    for value in canaries:
        assert value not in said
        assert value.removeprefix("shpat_").removeprefix("Atzr|") not in said


def test_redact_masks_registered_secrets_and_token_shapes_but_keeps_ordinary_fields():
    secret = canary("pw")
    redact.register(secret, None, "short")
    text = (
        f'{{"error_description": "bad {secret}", "NextToken": "page-2-of-9", "password": "hunter22"}} '
        "Authorization: Bearer abc.def.ghi x-shopify-access-token=shpat_0a1b2c Atzr|IwEBIA"
    )
    assert redact.redact(text) == (
        '{"error_description": "bad ***", "NextToken": "page-2-of-9", "password": "***"} '
        "Authorization: Bearer *** x-shopify-access-token=*** ***"
    )
    assert redact.redact_registered(f'{{"NextToken": "t0k3n", "x": "{secret}"}}') == (
        '{"NextToken": "t0k3n", "x": "***"}'
    )
    assert "short" in redact.redact("a short word")
