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
import pyarrow.parquet as pq


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
    from Parquet's dictionary pages (no string is materialized).

    Read by row group (a landing file of up to a million rows is one), so each column is one contiguous
    array: ``pd.read_parquet`` reads in batches of 128k rows, and every consumer that needs a column whole
    (the join's id lookups, the load's encoder) would copy it together again.
    The frame is the one ``pd.read_parquet`` gives (the pandas metadata ``write_frame`` stores restores it).
    """
    with (folder / f"{name}.parquet").open("rb") as fh:
        table = pq.ParquetFile(fh, read_dictionary=list(dictionaries) or None).read(use_pandas_metadata=True)
        return table.to_pandas()


def write_json(folder: PathLike, name: str, data: dict) -> None:
    with (folder / f"{name}.json").open("w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)


def read_json(folder: PathLike, name: str) -> dict:
    with (folder / f"{name}.json").open("r") as fh:
        return json.load(fh)
