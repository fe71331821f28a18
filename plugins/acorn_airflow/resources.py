"""Connections, Variables and the landing area, looked up inside tasks only (never at DAG parse time)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg
    from airflow.sdk import ObjectStoragePath

    from acorn.channels.accounts import ChannelAccount

WAREHOUSE_CONN_ID = "acorn_warehouse"
#: optional: the warehouse owner, used only by prepare_warehouse to apply migrations
OWNER_CONN_ID = "acorn_warehouse_owner"
ACCOUNTS_VARIABLE = "acorn_channel_accounts"
PAUSE_VARIABLE = "acorn_pause_auto_refunds"
HOW_TO_SET = (
    "set AIRFLOW_CONN_ACORN_WAREHOUSE=postgresql://USER:PASSWORD@HOST:5432/DATABASE "
    "or add the connection 'acorn_warehouse' under Admin > Connections"
)


def _source(conn_id: str) -> str:
    """Where the connection's setting comes from, for error messages: the environment wins over the UI."""
    env = f"AIRFLOW_CONN_{conn_id.upper()}"
    if os.environ.get(env):
        return f"Airflow connection '{conn_id}', set by the environment variable {env} (it wins over Admin > Connections)"
    return f"Airflow connection '{conn_id}' (Admin > Connections)"


def warehouse(conn_id: str = WAREHOUSE_CONN_ID) -> psycopg.Connection:
    """A psycopg connection to the warehouse from the ``acorn_warehouse`` Airflow Connection."""
    import psycopg
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from acorn.errors import WarehouseUnavailable

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        raise WarehouseUnavailable(f"Airflow connection '{conn_id}' is not defined: {HOW_TO_SET}") from None
    if not conn.host or not conn.schema:
        raise WarehouseUnavailable(f"{_source(conn_id)} needs a host and a database (schema): {HOW_TO_SET}")
    try:
        return psycopg.connect(
            host=conn.host,
            port=conn.port or 5432,
            dbname=conn.schema,
            user=conn.login or None,
            password=conn.password or None,
            connect_timeout=10,
            application_name="acorn",
            autocommit=True,
        )
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise WarehouseUnavailable(
            f"cannot reach the warehouse at {conn.host}:{conn.port or 5432}/{conn.schema} "
            f"({_source(conn_id)}): {reason}"
        ) from None


def warehouse_owner() -> psycopg.Connection | None:
    """The owner's connection (``acorn_warehouse_owner``) when one is defined, for migrations only."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        Connection.get(OWNER_CONN_ID)
    except AirflowNotFoundException:
        return None
    return warehouse(OWNER_CONN_ID)


def landing_root() -> ObjectStoragePath:
    """The landing area (ACORN_LANDING_URI: a local folder by default, s3:// or gs:// in production)."""
    from airflow.sdk import ObjectStoragePath

    from acorn.settings import load_settings

    root = ObjectStoragePath(load_settings().landing_uri)
    root.mkdir(parents=True, exist_ok=True)
    return root


def channel_accounts() -> list[ChannelAccount]:
    """Active channel accounts: the Variable ``acorn_channel_accounts`` (JSON) if set, else the file."""
    from airflow.sdk import Variable

    from acorn.channels.accounts import load_accounts, parse_accounts
    from acorn.errors import ConfigError
    from acorn.settings import load_settings

    settings = load_settings()
    raw = Variable.get(ACCOUNTS_VARIABLE, default=None)
    if raw:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"Airflow Variable {ACCOUNTS_VARIABLE}", f"not valid JSON: {exc}") from None
        return parse_accounts(data, f"Airflow Variable {ACCOUNTS_VARIABLE}", drop_root=settings.drop_root)
    return load_accounts(settings.accounts_file, drop_root=settings.drop_root)


def channel_account(account_id: str) -> ChannelAccount:
    """One account's settings as configured now (a cleared task sees the fixed setting)."""
    from acorn.errors import ConfigError

    for account in channel_accounts():
        if account.id == account_id:
            return account
    raise ConfigError(
        f"Airflow Variable {ACCOUNTS_VARIABLE} or the accounts file",
        f"channel account {account_id!r} is no longer configured: this run's batch for it cannot run",
        field="accounts",
    )


def switch_on(value: object) -> bool:
    """The kill switch's Variable value read as on or off (true, 1, yes, on: on)."""
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def auto_refunds_paused() -> bool:
    """The kill switch: Variable ``acorn_pause_auto_refunds`` = true sends every approval to review."""
    from airflow.sdk import Variable

    return switch_on(Variable.get(PAUSE_VARIABLE, default="false"))
