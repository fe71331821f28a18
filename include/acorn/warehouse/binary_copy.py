"""PostgreSQL's binary COPY format, written for whole frames at once in numpy.

The server parses binary tuples faster than CSV text (no timestamp, UUID or number parsing), and psycopg's
``write_row`` builds them one Python row at a time. This module lays out
every row's fields with a handful of vectorized copies per column instead.

Format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4): a signature and two int32;
per tuple an int16 field count, then per field an int32 byte length (-1 for NULL) and the value in the
type's binary ``send`` form; an int16 -1 at the end. Integers are big-endian; timestamps and dates count
microseconds and days from 2000-01-01.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from acorn.columns import arrow_strings

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_EPOCH_2000_US = 946_684_800 * 10**6
_DAY_US = 86_400 * 10**6
_HEX = np.full(256, 255, dtype=np.uint8)
_HEX[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10)
_HEX[np.frombuffer(b"abcdef", dtype=np.uint8)] = np.arange(10, 16)
_HEX[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16)
_UUID_HEX_AT = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


class NotEncodable(ValueError):
    """A column this encoder does not write (the caller falls back to text COPY)."""


_NULL = b"\xff\xff\xff\xff"


def _binary(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _fixed(values: np.ndarray, missing: np.ndarray, big_endian: str) -> pa.Array:
    """Length and value of each row (only the length -1 for NULL) for a fixed-width type."""
    n = len(values)
    payload = values.astype(big_endian).view(np.uint8).reshape(n, -1)
    width = payload.shape[1]
    block = np.empty((n, 4 + width), dtype=np.uint8)
    block[:, :4] = np.array([width], dtype=">i4").view(np.uint8)
    block[:, 4:] = payload
    sizes = np.full(n, 4 + width, dtype=np.int64)
    if missing.any():
        block[missing, :4] = np.frombuffer(_NULL, dtype=np.uint8)
        keep = np.ones((n, 4 + width), dtype=bool)
        keep[missing, 4:] = False
        sizes[missing] = 4
        data = block.reshape(-1)[keep.reshape(-1)]
    else:
        data = block.reshape(-1)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return _binary(offsets, data)


def _text(col: pd.Series, prefix: bytes = b"") -> pa.Array:
    """Length and UTF-8 bytes of each row; a categorical column is encoded from its categories."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        categories = pa.array(list(col.cat.categories.astype(str)), type=pa.large_string())
        codes = col.cat.codes.to_numpy()
        arr = pc.take(categories, pa.array(np.where(codes < 0, 0, codes), mask=codes < 0))
    else:
        arr = arrow_strings(col if isinstance(col.dtype, pd.StringDtype) else col.astype("string"))
    arr = arr.cast(pa.large_binary())
    missing = ~pc.is_valid(arr).to_numpy(zero_copy_only=False)
    lengths = pc.binary_length(pc.fill_null(arr, b"")).to_numpy(zero_copy_only=False).astype(np.int64)
    header = np.where(missing, -1, lengths + len(prefix)).astype(">i4").view(np.uint8)
    parts = [_binary(np.arange(0, 4 * (len(arr) + 1), 4, dtype=np.int64), header)]
    if prefix:
        none = pa.scalar(b"", pa.large_binary())
        parts.append(pc.if_else(pa.array(missing), none, pa.scalar(prefix, pa.large_binary())))
    parts.append(pc.fill_null(arr, b""))
    return pc.binary_join_element_wise(*parts, pa.scalar(b"", pa.large_binary()))


def _uuid(col: pd.Series) -> pa.Array:
    arr = arrow_strings(col.astype("string")).cast(pa.large_string())
    n = len(arr)
    missing = ~pc.is_valid(arr).to_numpy(zero_copy_only=False)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    if n == 0 or not (np.diff(offsets)[~missing] == 36).all() or (np.diff(offsets)[missing] != 0).any():
        raise NotEncodable("uuid text that is not 36 characters")
    text = np.zeros((n, 36), dtype=np.uint8)
    rows = np.flatnonzero(~missing)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    text[rows] = data[offsets[rows][:, None] + np.arange(36)]
    nibbles = _HEX[text[:, _UUID_HEX_AT]]
    if (nibbles[rows] == 255).any():
        raise NotEncodable("uuid text with a character that is not hex")
    octets = np.ascontiguousarray((nibbles[:, 0::2] << 4) | nibbles[:, 1::2])
    return _fixed(octets.view("V16").ravel(), missing, "V16")


def _field(col: pd.Series, pg_type: str) -> pa.Array:
    if pg_type == "uuid":
        return _uuid(col)
    if pg_type in ("text", "character varying") or pg_type.startswith(("character(", "character varying(")):
        return _text(col)
    if pg_type == "jsonb":
        return _text(col, prefix=b"\x01")  # jsonb's binary form: version 1, then the JSON text
    missing = col.isna().to_numpy()
    if pg_type in ("bigint", "integer", "smallint"):
        ints = col.to_numpy(dtype=np.int64, na_value=0)
        return _fixed(ints, missing, {"bigint": ">i8", "integer": ">i4", "smallint": ">i2"}[pg_type])
    if pg_type == "boolean":
        return _fixed(col.to_numpy(dtype=bool, na_value=False), missing, "u1")
    if pg_type in ("timestamp with time zone", "date"):
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            micros = col.dt.tz_convert("UTC").astype("datetime64[us, UTC]").array.asi8
        elif col.dtype.kind == "M":
            micros = col.astype("datetime64[us]").to_numpy().view(np.int64)
        else:
            raise NotEncodable(f"{col.name}: {col.dtype} for {pg_type}")
        micros = np.where(missing, 0, micros) - _EPOCH_2000_US
        if pg_type == "date":
            return _fixed(micros // _DAY_US, missing, ">i4")
        return _fixed(micros, missing, ">i8")
    raise NotEncodable(f"{col.name}: no binary encoder for {pg_type}")


def encode_constant(value: str, pg_type: str) -> bytes:
    """One field (length and value) of a column that holds ``value`` on every row, for :func:`encode_rows`."""
    return _field(pd.Series([value], dtype="string"), pg_type)[0].as_py()


def encode_rows(frame: pd.DataFrame, pg_types: list[str], constants: tuple[bytes, ...] = ()) -> memoryview:
    """The rows of ``frame`` (its columns in COPY order) as binary COPY tuples; the stream starts with
    :data:`HEADER` and ends with :data:`TRAILER`. Each column becomes an Arrow array of "length + value"
    per row, and Arrow joins them row by row in C++. ``constants`` (from :func:`encode_constant`) end every
    row, encoded once: a batch id on each of 4.5M rows was 4.5M UUIDs parsed from text.

    The tuples are a view of Arrow's buffer, not a copy: psycopg sends a view in slices without copying them
    either (a bytes object it would copy slice by slice, holding a chunk of a million-row table twice)."""
    fields = [_field(frame[c], t) for c, t in zip(frame.columns, pg_types, strict=True)]
    if constants:
        fields.append(pa.scalar(b"".join(constants), pa.large_binary()))
    count = pa.scalar(np.array([frame.shape[1] + len(constants)], dtype=">i2").tobytes(), pa.large_binary())
    rows = pc.binary_join_element_wise(count, *fields, pa.scalar(b"", pa.large_binary()))
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset : rows.offset + len(rows) + 1]
    return memoryview(rows.buffers()[2].slice(offsets[0], offsets[-1] - offsets[0]) if len(rows) else b"")
