"""Column primitives for million-row frames: text encoded once, ids grouped without hashing Python strings.

pandas' ``Series.map`` and ``factorize`` on Arrow-backed text are slow on a million rows, and the
decision engine asks dozens of questions of the same few columns. A :class:`CodedColumns` encodes each text
column once (its distinct values and an int32 code per row); a question is then answered for the handful of
distinct values and spread to the rows with one numpy gather. :func:`factorize_ids` groups fixed-width ids
(UUIDs, hex digests) from their bytes, exactly, in a fraction of pandas' time; :func:`id_positions` joins on
them and :func:`id_order` orders rows by them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_MIX = np.uint64(0x9E3779B97F4A7C15)
_SAME_BLOCK = 1 << 15  # rows compared at a time: two blocks of ids stay in the CPU's cache


def arrow_strings(col: pd.Series) -> pa.Array:
    """The column as one contiguous Arrow (large) string array (zero-copy for Arrow-backed text in one chunk;
    Arrow's ``combine_chunks`` copies even a single chunk). A categorical is taken from its categories by its
    codes, never through Python strings."""
    array = col.array
    if isinstance(array, pd.arrays.ArrowStringArray):
        chunked = array._pa_array
        if not isinstance(chunked, pa.ChunkedArray):
            return chunked
        return chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()
    if isinstance(col.dtype, pd.CategoricalDtype):
        return _from_codes(col, col.cat.codes.to_numpy())
    return pa.array(col.astype("string").astype(object).where(col.notna(), None), type=pa.string())


def contains_nul(col: pd.Series) -> pd.Series:
    """Which rows of a text column hold a NUL byte. The column's character data is searched in one numpy pass
    over the Arrow buffer first; rows are looked at only when it holds one, which is rare."""
    data = arrow_strings(col).buffers()[2]
    if data is None or len(data) == 0 or np.frombuffer(data, dtype=np.uint8).min() > 0:
        return pd.Series(False, index=col.index)
    return col.str.contains("\x00", regex=False).fillna(False).astype(bool)


def map_distinct(col: pd.Series, fn: Callable[[str], Any], type: pa.DataType) -> pa.Array:
    """``fn`` of each row's text, asked once per distinct value (a million rows carry a few dozen codes, or
    buyers who come back); a missing value stays missing."""
    encoded = pc.dictionary_encode(arrow_strings(col))
    return pc.take(pa.array([fn(v) for v in encoded.dictionary.to_pylist()], type=type), encoded.indices)


def _from_codes(col: pd.Series, codes: np.ndarray) -> pa.Array:
    """The text of a categorical's ``codes`` (-1: null)."""
    categories = pa.array(col.cat.categories.astype(str).astype(object), type=pa.string())
    return pc.take(categories, pa.array(codes, mask=codes < 0))


def string_offsets(arr: pa.Array) -> np.ndarray:
    """The ``len(arr) + 1`` value offsets of an Arrow (large) string array, read in place."""
    offset_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    return np.frombuffer(arr.buffers()[1], dtype=offset_type)[arr.offset : arr.offset + len(arr) + 1]


def text_rows(col: pd.Series, rows: np.ndarray) -> pa.Array:
    """Rows ``rows`` of a text column as an Arrow string array; a categorical goes through its codes, so only
    the rows taken become strings."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return _from_codes(col, col.cat.codes.to_numpy()[rows])
    array = col.array
    if isinstance(array, pd.arrays.ArrowStringArray):  # take from the chunks: only the rows are copied
        return array._pa_array.take(pa.array(rows)).combine_chunks().cast(pa.string())
    return arrow_strings(col).take(pa.array(rows)).cast(pa.string())


class CodedColumns:
    """Text columns of ``frame``, each dictionary-encoded on first use; null rows get code -1."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._codes: dict[str, tuple[np.ndarray, list[Any]]] = {}
        self._answers: dict[tuple[str, frozenset], np.ndarray] = {}

    def put(self, name: str, codes: np.ndarray, values: list[Any]) -> None:
        """Register a column already known by codes (for example, picked from a rule table)."""
        self._codes[name] = (codes, values)
        self._answers = {k: v for k, v in self._answers.items() if k[0] != name}

    def codes(self, name: str) -> tuple[np.ndarray, list[Any]]:
        """Each row's code and the values the codes stand for; a categorical column is taken as it is."""
        if name not in self._codes:
            col = self.frame[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                self._codes[name] = (col.cat.codes.to_numpy().astype(np.int32), col.cat.categories.tolist())
            else:
                encoded = pc.dictionary_encode(arrow_strings(col))
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
        """Row is one of ``values``; a null row never is. Kept per question: rules ask the same ones often."""
        wanted = frozenset(values)
        if (name, wanted) not in self._answers:
            answer = self.apply(name, lambda v: v is not None and v in wanted, bool)
            answer.flags.writeable = False  # shared by every caller that asks
            self._answers[name, wanted] = answer
        return self._answers[name, wanted]


def factorize_ids(col: pd.Series) -> np.ndarray:
    """Codes ``0..k-1`` grouping equal values of an id column, exactly (nulls get -1).

    Fixed-width ids (UUID text, hex digests: every id ACORN mints) are folded into one 64-bit key per row in
    numpy, the keys factorized, and each row of a group of several compared word for word with the group's
    first row; any other column, or a (never yet seen) key collision, goes through pandas' exact factorize.
    """
    arr = arrow_strings(col)
    if arr.null_count:
        valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
        codes = np.full(len(arr), -1, dtype=np.int64)
        codes[valid] = factorize_ids(col[valid])
        return codes
    ids = _FixedIds.of(arr)
    if ids is None:
        return pd.factorize(col)[0]
    codes = pd.factorize(ids.key())[0]
    # pandas numbers codes by first appearance: a code's first row is where the running maximum grows
    firsts = np.flatnonzero(codes > np.r_[-1, np.maximum.accumulate(codes)[:-1]])
    rows = np.flatnonzero(firsts[codes] != np.arange(len(codes)))  # rows that are not their group's first
    return codes if ids.same(rows, ids, firsts[codes[rows]]) else pd.factorize(col)[0]


def id_positions(keys: pd.Series, ids: pd.Series) -> np.ndarray:
    """Position in ``ids`` of each value of ``keys`` (its first occurrence), -1 where absent or null.

    The join of refund lines to their order lines and orders: fixed-width ids are looked up by their 64-bit
    folded keys (a hash of eight bytes instead of Arrow's ``index_in`` over the text) and every match is
    confirmed byte for byte; anything else (other ids, repeated or colliding keys) goes through ``index_in``.
    """
    wanted, known = arrow_strings(keys), arrow_strings(ids)
    if wanted.null_count:
        valid = pc.is_valid(wanted).to_numpy(zero_copy_only=False)
        at = np.full(len(wanted), -1, dtype=np.int64)
        at[valid] = id_positions(keys[valid], ids)
        return at
    wanted_ids = _FixedIds.of(wanted)
    known_ids = None if wanted_ids is None else _FixedIds.of(known)
    if known_ids is not None:
        index = pd.Index(known_ids.key())
        if index.is_unique:  # a repeated id (or key) needs "first occurrence": the exact path
            at = index.get_indexer(wanted_ids.key()).astype(np.int64)
            found = np.flatnonzero(at >= 0)
            if wanted_ids.same(found, known_ids, at[found]):
                return at
    found = pc.index_in(wanted, value_set=known)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def id_order(col: pd.Series) -> np.ndarray | None:
    """A row order that nearly sorts a column of fixed-width ids (by their first 8 bytes: ties keep any order);
    None for any other column. Rows written in key order fill a b-tree index page after page instead of
    touching a random page for each row."""
    ids = _FixedIds.of(arrow_strings(col))
    return None if ids is None else ids.words[0].byteswap().argsort()


def take_rows(col: pd.Series, at: np.ndarray) -> pd.Series:
    """Rows ``at`` of ``col`` on a fresh range index; ``-1`` gives a missing value (integers become ``Int64``)."""
    missing = at < 0
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu":
        values = col.to_numpy(dtype=np.int64)
        taken = values[np.where(missing, 0, at)] if len(values) else np.zeros(len(at), dtype=np.int64)
        return pd.Series(pd.arrays.IntegerArray(taken, missing))
    return pd.Series(col.array.take(at, allow_fill=True))


class _FixedIds:
    """A string array of one fixed width (8 bytes or more, no nulls) read in place: each value as a record
    (``V<width>``, for exact comparisons) and as 64-bit words, each word one strided view of the data buffer
    (the last word overlaps the one before when the width is not a multiple of 8, so every byte counts)."""

    def __init__(self, records: np.ndarray, words: list[np.ndarray]) -> None:
        self.records, self.words = records, words

    @classmethod
    def of(cls, arr: pa.Array) -> _FixedIds | None:
        n = len(arr)
        if n == 0 or arr.null_count:
            return None
        offsets = string_offsets(arr)
        width, first = int(offsets[1] - offsets[0]), int(offsets[0])
        if width < 8 or not (np.diff(offsets) == width).all():
            return None
        data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
        records = np.ndarray((n,), dtype=f"V{width}", buffer=data, offset=first)
        starts = sorted({min(8 * j, width - 8) for j in range(-(-width // 8))})
        words = [
            np.ndarray((n,), dtype=np.uint64, buffer=data, offset=first + s, strides=(width,)) for s in starts
        ]
        return cls(records, words)

    def key(self) -> np.ndarray:
        """One 64-bit key per value, mixed from all its words."""
        key = self.words[0].copy()
        for word in self.words[1:]:
            key *= _MIX
            key ^= word
        return key

    def same(self, rows: np.ndarray, other: _FixedIds, other_rows: np.ndarray) -> bool:
        """Values ``rows`` of these ids equal values ``other_rows`` of ``other``, byte for byte.

        Compared a block of rows at a time in two reused buffers: gathering a million 36-byte ids at once
        took three fresh 36 MB arrays, and faulting their pages in cost more than the comparison.
        """
        if self.records.dtype != other.records.dtype:
            return False
        size = min(_SAME_BLOCK, len(rows))
        mine, theirs = np.empty(size, self.records.dtype), np.empty(size, self.records.dtype)
        for start in range(0, len(rows), _SAME_BLOCK):
            n = min(_SAME_BLOCK, len(rows) - start)
            np.take(self.records, rows[start : start + n], out=mine[:n])
            np.take(other.records, other_rows[start : start + n], out=theirs[:n])
            if not np.array_equal(mine[:n].view(np.uint8), theirs[:n].view(np.uint8)):
                return False
        return True


def iso_utc(values: pd.Series) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS+00:00`` of each timestamp in UTC, to the second (nulls stay null).

    The digits are written into a fixed-width byte buffer in numpy: Arrow's and pandas' ``strftime`` would
    be most of the time of building a million lines' claim evidence.
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
