"""The one place that reads ACORN's environment. Everything else receives settings as arguments.

| variable | default | meaning |
| --- | --- | --- |
| ACORN_HOME | ``<project>/.acorn`` | local state: embedded warehouse, landing area, Airflow home |
| ACORN_LANDING_URI | ``file://<ACORN_HOME>/landing`` | landing area for raw and canonical Parquet files |
| ACORN_POLICY_FILE | ``include/policies/refund_policy.yaml`` | the refund policy in force |
| ACORN_CHANNEL_ACCOUNTS | ``include/config/channel_accounts.yaml`` | channel accounts, unless the Variable is set |
| ACORN_DROP_ROOT | ``<ACORN_HOME>/drop`` | the only folder CSV accounts' drop folders may lie in |
| ACORN_FX_FILE | ``include/data/ecb_fx_rates.csv`` | ECB-format rates file loaded by the FX DAG |
| ACORN_DEMO_SEED | ``7`` | seed of the demo generator |
| ACORN_DEMO_LINES_PER_HOUR | ``60`` | order lines per demo account and hour |
| ACORN_PSEUDONYM_KEY | generated into ACORN_HOME | key of the buyer pseudonym (keyed hash) |
| AIRFLOW_CONN_ACORN_WAREHOUSE | none | the warehouse URI, read here only by command-line tools (tasks use the Connection) |
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INCLUDE = PROJECT_ROOT / "include"


@dataclass(frozen=True)
class Settings:
    home: Path
    landing_uri: str
    policy_file: Path
    accounts_file: Path
    drop_root: Path
    fx_file: Path
    demo_seed: int
    demo_lines_per_hour: int
    warehouse_uri: str | None

    def pseudonym_key(self) -> bytes:
        """Key of the buyer pseudonym: ACORN_PSEUDONYM_KEY, else a random key kept in ACORN_HOME (0600)."""
        env = os.environ.get("ACORN_PSEUDONYM_KEY")
        if env:
            return env.encode()
        path = self.home / "pseudonym.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip().encode()


def load_settings() -> Settings:
    home = Path(os.environ.get("ACORN_HOME", PROJECT_ROOT / ".acorn"))
    return Settings(
        home=home,
        landing_uri=os.environ.get("ACORN_LANDING_URI", (home / "landing").as_uri()),
        policy_file=Path(os.environ.get("ACORN_POLICY_FILE", INCLUDE / "policies" / "refund_policy.yaml")),
        accounts_file=Path(
            os.environ.get("ACORN_CHANNEL_ACCOUNTS", INCLUDE / "config" / "channel_accounts.yaml")
        ),
        drop_root=Path(os.environ.get("ACORN_DROP_ROOT", home / "drop")),
        fx_file=Path(os.environ.get("ACORN_FX_FILE", INCLUDE / "data" / "ecb_fx_rates.csv")),
        demo_seed=int(os.environ.get("ACORN_DEMO_SEED", "7")),
        demo_lines_per_hour=int(os.environ.get("ACORN_DEMO_LINES_PER_HOUR", "60")),
        warehouse_uri=os.environ.get("AIRFLOW_CONN_ACORN_WAREHOUSE"),
    )
