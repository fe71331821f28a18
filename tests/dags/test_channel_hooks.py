"""Channel credentials come from Airflow Connections and never reach a log line in clear."""

from __future__ import annotations

import json

import pytest

from acorn.channels.accounts import parse_accounts
from acorn.errors import ConfigError


def _account(connection_id: str):
    return parse_accounts(
        {
            "accounts": [
                {
                    "id": "amazon-eu",
                    "channel": "amazon",
                    "source": "live",
                    "region": "EU",
                    "marketplaces": ["DE"],
                    "connection_id": connection_id,
                }
            ]
        },
        "test",
    )[0]


def test_connection_secrets_and_minted_tokens_are_masked(monkeypatch):
    from airflow.sdk.log import _secrets_masker

    from acorn_airflow.hooks import channel_connection, mask_minted

    extra = {"refresh_token": "Atzr|refresh-7f3a9c", "endpoint": "http://127.0.0.1:1"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_AMAZON_TEST",
        json.dumps(
            {"conn_type": "generic", "login": "amzn1.client", "password": "lwa-secret-91b2", "extra": extra}
        ),
    )
    info = channel_connection(_account("amazon_test"))
    assert (info.login, info.extra["endpoint"]) == ("amzn1.client", "http://127.0.0.1:1")
    mask_minted("Atza|minted-access-token-55e1")
    line = _secrets_masker().redact(
        "secret lwa-secret-91b2 refresh Atzr|refresh-7f3a9c token Atza|minted-access-token-55e1"
    )
    assert "lwa-secret-91b2" not in line
    assert "refresh-7f3a9c" not in line
    assert "minted-access-token-55e1" not in line


def test_a_missing_connection_names_the_account_and_how_to_add_it():
    from acorn_airflow.hooks import channel_connection

    with pytest.raises(
        ConfigError, match=r"amazon-eu: connection_id: Airflow connection 'nowhere' is not defined"
    ):
        channel_connection(_account("nowhere"))
