"""What the fakes serve: the demo generator's records for an account and interval, the readable ones.

Each fake encodes these records in its channel's documented API shape; a test then maps what the client
fetched and compares the canonical rows with the demo's own canonical rows, record by record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from acorn.channels.accounts import ChannelAccount
from acorn.channels.demo import generator as demo
from acorn.channels.raw import RawBatch
from acorn.normalize import Canonical, normalize
from acorn.policy.taxonomy import Taxonomy


@dataclass
class Dataset:
    account: ChannelAccount
    start: datetime
    end: datetime
    raw: RawBatch
    canonical: Canonical
    #: order id -> when the channel last changed the order (its purchase or its latest refund, damaged or not)
    updated: dict[str, str]

    def rows(self, name: str) -> list[dict]:
        frame: pd.DataFrame = getattr(self.raw, name)
        return frame.astype(object).where(frame.notna(), None).to_dict("records")


def demo_dataset(
    account: ChannelAccount,
    start: datetime,
    end: datetime,
    taxonomy: Taxonomy,
    key: bytes,
    *,
    as_of: datetime | None = None,
    lines_per_hour: int = 40,
) -> Dataset:
    """The demo's records for the interval as seen at ``as_of``, without the rows the generator damaged on
    purpose. An order counts as updated when its latest refund was posted, even one not visible yet."""
    raw = demo.generate(account, start, end, seed=11, lines_per_hour=lines_per_hour, as_of=as_of)
    late = demo.generate(
        account, start, end, seed=11, lines_per_hour=lines_per_hour, as_of=end + timedelta(days=7)
    )
    times = pd.concat(
        [
            raw.orders[["external_order_id", "purchased_at"]].set_axis(["order", "at"], axis=1),
            late.refunds[["external_order_id", "refunded_at"]].set_axis(["order", "at"], axis=1),
        ]
    )
    times["at"] = pd.to_datetime(times["at"], format="ISO8601", utc=True, errors="coerce")
    # an order in the interval changed in it, even when its refund's date is one the generator damaged
    latest = times.dropna().groupby("order")["at"].max().clip(lower=pd.Timestamp(start))
    updated = latest.dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_dict()
    bad = normalize(raw, taxonomy, key).quarantine
    bad_refunds = set(bad.loc[bad["entity"] == "refund_lines", "source_key"].dropna())
    refunds = raw.refunds[~raw.refunds["external_refund_id"].isin(bad_refunds)].reset_index(drop=True)
    raw = RawBatch(raw.account_id, raw.channel, raw.orders, raw.order_lines, refunds, raw.control_totals)
    return Dataset(account, start, end, raw, normalize(raw, taxonomy, key), updated)
