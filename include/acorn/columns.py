"""Column primitives for million-row frames: text encoded once, ids grouped without hashing Python strings.

pandas' ``Series.map`` and ``factorize`` on Arrow-backed text cost 0.13-0.26 s per million rows, and the
decision engine asks dozens of questions of the same few columns. A :class:`CodedColumns` encodes each text
column once (its distinct values and an int32 code per row); a question is then answered for the handful of
distinct values and spread to the rows with one numpy gather. :func:`factorize_ids` groups fixed-width ids
(UUIDs, hex digests) from their bytes, exactly, in a fraction of pandas' time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_MIX = np.uint64(0x9E3779B97F4A7C15)


def arrow_strings(col: pd.Series) -> pa.Array:
    """The column as one contiguous Arrow (large) string array (zero-copy for Arrow-backed text)."""
    array = col.array
    if isinstance(array, pd.arrays.ArrowStringArray):
        chunked = array._pa_array
        return chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked
    return pa.array(col.astype("string").astype(object).where(col.notna(), None), type=pa.string())


class CodedColumns:
    """Text columns of ``frame``, each dictionary-encoded on first use; null rows get code -1."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._codes: dict[str, tuple[np.ndarray, list[Any]]] = {}

    def put(self, name: str, codes: np.ndarray, values: list[Any]) -> None:
        """Register a column already known by codes (for example, picked from a rule table)."""
        self._codes[name] = (codes, values)

    def codes(self, name: str) -> tuple[np.ndarray, list[Any]]:
        if name not in self._codes:
            encoded = pc.dictionary_encode(arrow_strings(self.frame[name]))
            codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
            self._codes[name] = (codes.astype(np.int32, copy=False), encoded.dictionary.to_pylist())
        return self._codes[name]

    def apply(self, name: str, fn: Callable[[Any], Any], dtype: Any) -> np.ndarray:
        """``fn`` of each row's value (``None`` for nulls), evaluated once per distinct value."""
        codes, values = self.codes(name)
        table = np.array([fn(v) for v in values] + [fn(None)], dtype=dtype)
        return table[codes]

    def lookup(self, name: str, mapping: Mapping[Any, Any], default: Any, dtype: Any) -> np.ndarray:
        return self.apply(name, lambda v: mapping.get(v, default) if v is not None else default, dtype)

    def isin(self, name: str, values: Iterable[Any]) -> np.ndarray:
        """Row is one of ``values``; a null row never is."""
        wanted = set(values)
        return self.apply(name, lambda v: v is not None and v in wanted, bool)


def factorize_ids(col: pd.Series) -> np.ndarray:
    """Codes ``0..k-1`` grouping equal values of an id column, exactly (nulls get -1).

    Fixed-width ids (UUID text, hex digests: every id ACORN mints) are folded into one 64-bit key per row in
    numpy, the keys factorized, and each row compared word for word with the first row of its group; any
    other column, or a (never yet seen) key collision, goes through pandas' exact factorize.
    """
    arr = arrow_strings(col)
    if arr.null_count:
        valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
        codes = np.full(len(arr), -1, dtype=np.int64)
        codes[valid] = factorize_ids(col[valid])
        return codes
    codes = _fixed_width_codes(arr)
    return pd.factorize(col)[0] if codes is None else codes


def _fixed_width_codes(arr: pa.Array) -> np.ndarray | None:
    n = len(arr)
    if n == 0:
        return None
    offset_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=offset_type)[arr.offset : arr.offset + n + 1]
    width = int(offsets[1] - offsets[0])
    if width < 8 or not (np.diff(offsets) == width).all():
        return None
    words = -(-width // 8)
    padded = np.zeros((n, words * 8), dtype=np.uint8)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    padded[:, :width] = data.reshape(n, width)
    blocks = padded.view(np.uint64)
    key = blocks[:, 0].copy()
    for j in range(1, words):
        key *= _MIX
        key ^= blocks[:, j]
    codes = pd.factorize(key)[0]
    # pandas numbers codes by first appearance: a code's first row is where the running maximum grows
    firsts = np.flatnonzero(codes > np.r_[-1, np.maximum.accumulate(codes)[:-1]])
    if (blocks != blocks[firsts[codes]]).any():
        return None
    return codes


def iso_utc(values: pd.Series) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS+00:00`` of each timestamp in UTC, to the second (nulls stay null).

    The digits are written into a fixed-width byte buffer in numpy: Arrow's and pandas' ``strftime`` take
    2 µs a value, which is most of the time of building a million lines' claim evidence.
    """
    stamps = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
    moments = stamps.to_numpy(dtype="datetime64[us]").astype("datetime64[s]")
    missing = np.isnat(moments)
    moments = np.where(missing, np.datetime64(0, "s"), moments)
    year = moments.astype("datetime64[Y]")
    month = moments.astype("datetime64[M]")
    day = moments.astype("datetime64[D]")
    seconds = (moments - day).astype(np.int64)
    parts = (
        (0, 4, year.astype(np.int64) + 1970),
        (5, 2, (month - year).astype(np.int64) + 1),
        (8, 2, (day - month).astype(np.int64) + 1),
        (11, 2, seconds // 3600),
        (14, 2, seconds // 60 % 60),
        (17, 2, seconds % 60),
    )
    n = len(moments)
    text = np.frombuffer(b"0000-00-00T00:00:00+00:00" * n, dtype=np.uint8).reshape(n, 25).copy()
    for start, width, number in parts:
        for k in range(width):
            text[:, start + width - 1 - k] = 48 + number // 10**k % 10
    offsets = np.arange(0, 25 * (n + 1), 25, dtype=np.int32)
    validity = pa.array(~missing).buffers()[1] if missing.any() else None
    return pa.Array.from_buffers(
        pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(text.tobytes())], null_count=-1
    )
