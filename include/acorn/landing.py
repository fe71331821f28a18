"""The landing area: raw payloads as received and canonical rows, as Parquet, one folder per batch.

Works with any path object that has ``/``, ``open`` and ``mkdir``: ``pathlib.Path`` in tests and
Airflow's ``ObjectStoragePath`` (local folder, ``s3://``, ``gs://``) in the DAGs, so this module never
imports Airflow. Only the folder's URI travels between tasks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import pandas as pd


class PathLike(Protocol):
    def __truediv__(self, other: str) -> PathLike: ...
    def open(self, mode: str = ...) -> Any: ...
    def mkdir(self, parents: bool = ..., exist_ok: bool = ...) -> None: ...
    def exists(self) -> bool: ...


def batch_folder(root: PathLike, account_id: str, start: datetime, end: datetime) -> PathLike:
    """``<root>/<account>/<start>--<end>``: one folder per channel account and interval."""
    folder = root / account_id / f"{start:%Y%m%dT%H%M%SZ}--{end:%Y%m%dT%H%M%SZ}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_frame(folder: PathLike, name: str, frame: pd.DataFrame) -> None:
    with (folder / f"{name}.parquet").open("wb") as fh:
        frame.to_parquet(fh, compression="zstd", index=False)


def read_frame(folder: PathLike, name: str, dictionaries: Sequence[str] = ()) -> pd.DataFrame:
    """The frame ``name`` of a batch; ``dictionaries`` are text columns to read as categoricals, straight
    from Parquet's dictionary pages (no string is materialized)."""
    with (folder / f"{name}.parquet").open("rb") as fh:
        return pd.read_parquet(fh, read_dictionary=list(dictionaries) or None)


def write_json(folder: PathLike, name: str, data: dict) -> None:
    with (folder / f"{name}.json").open("w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)


def read_json(folder: PathLike, name: str) -> dict:
    with (folder / f"{name}.json").open("r") as fh:
        return json.load(fh)
