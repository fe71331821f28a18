"""The normalized reason and disposition vocabulary, mapped from each channel's own codes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from acorn.columns import map_distinct
from acorn.errors import ConfigError, read_yaml

UNMAPPED = "UNMAPPED"
DISPOSITIONS = (
    "SELLABLE",
    "CUSTOMER_DAMAGED",
    "DEFECTIVE",
    "CARRIER_DAMAGED",
    "WAREHOUSE_DAMAGED",
    "DISTRIBUTOR_DAMAGED",
    "NOT_RETURNED",
)
DEFAULT_TAXONOMY = Path(__file__).resolve().parents[2] / "policies" / "reason_taxonomy.yaml"


@dataclass(frozen=True)
class Taxonomy:
    version: str
    reasons: dict[str, str]
    channel_reasons: dict[str, dict[str, str]]
    channel_dispositions: dict[str, dict[str, str]]

    def normalize_reasons(self, channel: str, raw: pd.Series) -> pd.Series:
        """A channel's reason codes -> normalized reasons; anything unknown (or missing) is UNMAPPED."""
        return _map_distinct(raw, self.channel_reasons.get(channel, {}), missing=UNMAPPED)

    def normalize_dispositions(self, channel: str, raw: pd.Series) -> pd.Series:
        """A channel's dispositions -> normalized; missing stays missing (nothing came back yet), a channel
        without dispositions has none."""
        if channel not in self.channel_dispositions:
            return pd.Series(pd.NA, index=raw.index, dtype="string")
        return _map_distinct(raw, self.channel_dispositions[channel], missing=None)


def _map_distinct(raw: pd.Series, mapping: dict[str, str], missing: str | None) -> pd.Series:
    """``raw`` through ``mapping``, an unknown code UNMAPPED and a missing one ``missing``."""
    mapped = map_distinct(raw, lambda code: mapping.get(code, UNMAPPED), pa.string())
    if missing is not None:
        mapped = pc.fill_null(mapped, missing)
    return pd.Series(pd.arrays.ArrowStringArray(mapped), index=raw.index)


def load_taxonomy(path: Path = DEFAULT_TAXONOMY) -> Taxonomy:
    """Read and check the taxonomy: every mapping must land on a declared reason."""
    data = read_yaml(path, "reason taxonomy file")
    for key in ("version", "reasons", "channels", "dispositions"):
        if key not in data:
            raise ConfigError(str(path), "missing", field=key)
    reasons = {str(k): str(v) for k, v in data["reasons"].items()}
    if UNMAPPED not in reasons:
        raise ConfigError(str(path), f"must declare {UNMAPPED}", field="reasons")
    for channel, mapping in data["channels"].items():
        for code, target in mapping.items():
            if target not in reasons:
                raise ConfigError(
                    str(path), f"maps to undeclared reason {target!r}", field=f"channels.{channel}.{code}"
                )
    for channel, mapping in data["dispositions"].items():
        for code, target in mapping.items():
            if target not in DISPOSITIONS:
                raise ConfigError(
                    str(path),
                    f"maps to unknown disposition {target!r}",
                    field=f"dispositions.{channel}.{code}",
                )
    return Taxonomy(
        version=str(data["version"]),
        reasons=reasons,
        channel_reasons={c: {str(k): str(v) for k, v in m.items()} for c, m in data["channels"].items()},
        channel_dispositions={
            c: {str(k): str(v) for k, v in m.items()} for c, m in data["dispositions"].items()
        },
    )
