import numpy as np
import pandas as pd
import pyarrow as pa

from acorn.columns import arrow_strings
from acorn.landing import read_frame, write_frame


def test_a_frame_reads_back_as_pandas_reads_it_with_each_column_in_one_piece(tmp_path):
    n = 300_000  # more than the 128k rows pandas' reader puts in one chunk
    frame = pd.DataFrame(
        {
            "line_uid": pd.Series([f"{i:036d}" for i in range(n)], dtype="string"),
            "category": pd.Series(np.where(np.arange(n) % 3, "apparel", None), dtype="string"),
            "amount_minor": np.arange(n, dtype=np.int64),
            "refunded_at": pd.date_range("2026-11-02", periods=n, freq="s", tz="UTC").astype(
                "datetime64[us, UTC]"
            ),
        }
    )
    write_frame(tmp_path, "lines", frame)
    got = read_frame(tmp_path, "lines", ["category"])
    expected = pd.read_parquet(tmp_path / "lines.parquet", read_dictionary=["category"])
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(read_frame(tmp_path, "lines"), frame)
    assert got["line_uid"].array._pa_array.num_chunks == 1
    ids = arrow_strings(got["line_uid"])  # one chunk: the array itself, not a copy
    assert ids.buffers()[2].address == got["line_uid"].array._pa_array.chunk(0).buffers()[2].address
    chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([["a", None], ["b"]], pa.large_string())))
    assert arrow_strings(chunked).to_pylist() == ["a", None, "b"]
