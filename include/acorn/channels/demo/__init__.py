"""The demo channel: a seeded generator that answers for an account of any channel, as its export would.

An account with ``source: demo`` is served here whatever its ``channel``. What it "receives" is one payload:
the generator's parameters for the interval (seed, lines per hour, the interval and the run's as-of time),
kept in the landing folder like any channel's responses, so that a demo batch is mapped again from its
folder exactly as a live one is (the generator is deterministic).
"""

from __future__ import annotations

import json
from datetime import datetime

from acorn.channels.base import Channel, ChannelAccount, FetchRequest
from acorn.channels.demo.generator import generate
from acorn.channels.http import PayloadError
from acorn.channels.payloads import PayloadLog
from acorn.channels.raw import RawBatch

#: the kind of the one payload a demo fetch keeps
INTERVAL = "demo:interval"
DEFAULTS = {"seed": 7, "lines_per_hour": 60}


def fetch(request: FetchRequest) -> PayloadLog:
    params = {
        "seed": int(request.options.get("demo_seed", DEFAULTS["seed"])),
        "lines_per_hour": int(request.options.get("demo_lines_per_hour", DEFAULTS["lines_per_hour"])),
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "as_of": request.as_of.isoformat(),
    }
    log = request.received if request.received is not None else PayloadLog()
    log.add(INTERVAL, f"generate {request.account.id}", 200, json.dumps(params, sort_keys=True))
    return log


def to_raw(account: ChannelAccount, log: PayloadLog) -> RawBatch:
    """What the generator gives for the interval the log names."""
    found = list(log.of(INTERVAL))
    if len(found) != 1:
        raise PayloadError(
            f"demo batch of {account.id}", INTERVAL, f"expected one such payload, found {len(found)}"
        )
    params = found[0].json()
    return generate(
        account,
        datetime.fromisoformat(params["start"]),
        datetime.fromisoformat(params["end"]),
        seed=int(params["seed"]),
        lines_per_hour=int(params["lines_per_hour"]),
        as_of=datetime.fromisoformat(params["as_of"]),
    )


#: the channel's own name is the account's (``amazon``, ``shopify``, ...); ``demo`` is where it is served from
CHANNEL = Channel("demo", fetch, to_raw, connection=None)
