"""What every channel client hands to the pipeline: the records as received, as text frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class RawBatch:
    """What a channel returned for one account and interval, as received (all text)."""

    account_id: str
    channel: str
    orders: pd.DataFrame
    order_lines: pd.DataFrame
    refunds: pd.DataFrame
    #: the channel's own control totals of refund amounts per currency (minor units), like a report footer
    control_totals: dict[str, int] = field(default_factory=dict)
