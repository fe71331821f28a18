"""Every channel ACORN reads, in one place: adding a channel is adding its package and one line here."""

from __future__ import annotations

from acorn.channels import amazon, csv, demo, magento, shopify
from acorn.channels.base import Channel, ChannelAccount
from acorn.errors import ConfigError

#: the channels an account may name (its ``channel``)
CHANNELS: dict[str, Channel] = {
    "amazon": amazon.CHANNEL,
    "shopify": shopify.CHANNEL,
    "magento": magento.CHANNEL,
    "csv": csv.CHANNEL,
}
#: where an account's data comes from (its ``source``): the channel itself, or the demo generator
SOURCES: dict[str, Channel | None] = {"live": None, "demo": demo.CHANNEL}


def channel(name: str, where: str = "channel") -> Channel:
    """The registered channel of that name; else an error naming the known ones."""
    if name not in CHANNELS:
        raise ConfigError(where, f"channel must be one of {tuple(CHANNELS)}, not {name!r}", field="channel")
    return CHANNELS[name]


def reader(account: ChannelAccount) -> Channel:
    """What reads the account: its channel, or the demo generator for a ``source: demo`` account."""
    return SOURCES.get(account.source) or channel(account.channel, f"channel account {account.id}")
