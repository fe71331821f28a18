"""The normalized reason and disposition vocabulary, mapped from each channel's own codes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

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

    def normalize_reasons(self, channel: pd.Series, raw: pd.Series) -> pd.Series:
        """Channel codes -> normalized reasons; anything unknown (or missing) is UNMAPPED."""
        out = pd.Series(UNMAPPED, index=raw.index, dtype="string")
        for ch, mapping in self.channel_reasons.items():
            mask = channel == ch
            if mask.any():
                out[mask] = raw[mask].map(mapping).fillna(UNMAPPED).astype("string")
        return out

    def normalize_dispositions(self, channel: pd.Series, raw: pd.Series) -> pd.Series:
        """Channel dispositions -> normalized; missing stays missing (nothing came back yet)."""
        out = pd.Series(pd.NA, index=raw.index, dtype="string")
        for ch, mapping in self.channel_dispositions.items():
            mask = (channel == ch) & raw.notna()
            if mask.any():
                out[mask] = raw[mask].map(mapping).fillna(UNMAPPED).astype("string")
        return out


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
