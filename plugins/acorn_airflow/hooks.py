"""Channel credentials from Airflow Connections, for the live channels in ``acorn.channels``.

One Connection per channel account (its ``connection_id``); the library receives a plain ``ConnectionInfo``
and never sees Airflow. Secrets read here are masked in task logs, and so is every token a client mints at
run time (LWA access tokens), which Airflow cannot know about by itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acorn.channels.base import ChannelAccount, ConnectionInfo


def channel_connection(account: ChannelAccount) -> ConnectionInfo | None:
    """The account's Connection as ``ConnectionInfo`` (None for a CSV drop folder without one)."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException
    from airflow.sdk.log import mask_secret

    from acorn.channels import registry
    from acorn.channels.base import ConnectionInfo
    from acorn.errors import ConfigError

    if not account.connection_id:
        return None
    try:
        conn = Connection.get(account.connection_id)
    except AirflowNotFoundException:
        raise ConfigError(
            f"channel account {account.id}",
            f"Airflow connection '{account.connection_id}' is not defined: add it under Admin > Connections "
            f"or set AIRFLOW_CONN_{account.connection_id.upper()} (see the README, 'Connect a channel')",
            field="connection_id",
        ) from None
    extra = dict(conn.extra_dejson)
    fields = registry.channel(account.channel).connection
    for secret in [conn.password, *(extra.get(k) for k in (fields.secret_extras if fields else ()))]:
        if secret:
            mask_secret(secret)
    return ConnectionInfo(
        conn_id=account.connection_id,
        host=conn.host or None,
        login=conn.login or None,
        password=conn.password or None,
        extra=extra,
    )


def mask_minted(value: str) -> None:
    """Mask a token a client obtained during the run (handed to the channel clients as ``on_secret``)."""
    from airflow.sdk.log import mask_secret

    mask_secret(value)
