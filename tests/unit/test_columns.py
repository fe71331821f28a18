"""The column primitives give exactly what pandas gives, only faster."""

import uuid

import numpy as np
import pandas as pd
import pyarrow as pa

from acorn.columns import (
    _SAME_BLOCK,
    CodedColumns,
    _FixedIds,
    arrow_strings,
    factorize_ids,
    id_order,
    id_positions,
    iso_utc,
    map_distinct,
    take_rows,
)


def _same_groups(a: np.ndarray, b: np.ndarray) -> bool:
    """Two codings group the rows identically (codes may be numbered differently)."""
    return len(set(zip(a.tolist(), b.tolist(), strict=True))) == len(set(a.tolist())) == len(set(b.tolist()))


def test_factorize_ids_groups_uuid_text_like_pandas_with_nulls_and_repeats():
    rng = np.random.default_rng(7)
    pool = [str(uuid.uuid4()) for _ in range(500)]
    values = pd.Series([pool[i] for i in rng.integers(0, 500, 5000)], dtype="string")
    values[rng.integers(0, 5000, 40)] = pd.NA
    codes = factorize_ids(values)
    assert (codes[values.isna().to_numpy()] == -1).all()
    assert _same_groups(codes, pd.factorize(values)[0])


def test_factorize_ids_falls_back_for_text_of_mixed_width():
    values = pd.Series(["A-1", "A-10", "A-1", "B-200000000", "A-10"], dtype="string")
    assert factorize_ids(values).tolist() == [0, 1, 0, 2, 1]


def test_ids_that_differ_only_past_the_first_word_stay_apart():
    values = pd.Series(["0123456789abcdef-x", "0123456789abcdef-y", "0123456789abcdef-x"], dtype="string")
    assert factorize_ids(values).tolist() == [0, 1, 0]


def test_coded_columns_answer_per_row_with_nulls_never_matching():
    frame = pd.DataFrame({"currency": pd.Series(["EUR", None, "JPY", "EUR"], dtype="string")})
    coded = CodedColumns(frame)
    assert coded.isin("currency", ["EUR"]).tolist() == [True, False, False, True]
    assert coded.lookup("currency", {"EUR": 2, "JPY": 0}, -1, np.int64).tolist() == [2, -1, 0, 2]


def test_iso_utc_writes_what_strftime_writes_for_any_second_and_keeps_nulls():
    rng = np.random.default_rng(1)
    stamps = pd.Series(pd.to_datetime(rng.integers(0, 4_000_000_000, 20_000), unit="s", utc=True))
    stamps = stamps.astype("datetime64[us, UTC]")
    stamps[5] = pd.NaT
    expected = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").astype(object).where(stamps.notna(), None)
    assert iso_utc(stamps).to_pylist() == expected.tolist()


def _index_in(keys: pd.Series, ids: pd.Series) -> list[int]:
    first = {}
    for i, v in enumerate(ids.tolist()):
        first.setdefault(v, i)
    return [first.get(k, -1) if k is not pd.NA else -1 for k in keys.tolist()]


def test_id_positions_find_each_uuid_where_a_dictionary_would():
    rng = np.random.default_rng(3)
    ids = pd.Series([str(uuid.uuid4()) for _ in range(3000)], dtype="string")
    strangers = [str(uuid.uuid4()) for _ in range(200)]
    keys = pd.Series([*ids.sample(2000, random_state=1), *strangers], dtype="string").sample(
        frac=1, random_state=2
    )
    keys[rng.integers(0, len(keys), 30)] = pd.NA
    assert id_positions(keys, ids).tolist() == _index_in(keys, ids)


def test_id_positions_take_the_first_of_repeated_ids_and_any_width():
    ids = pd.Series(["0123456789abcdef-x", "0123456789abcdef-y", "0123456789abcdef-x"], dtype="string")
    keys = pd.Series(["0123456789abcdef-x", "0123456789abcdef-y", "0123456789abcdef-z"], dtype="string")
    assert id_positions(keys, ids).tolist() == [0, 1, -1]
    mixed = pd.Series(["A-1", "B-22", "C-333"], dtype="string")
    assert id_positions(pd.Series(["C-333", "A-1", "D"], dtype="string"), mixed).tolist() == [2, 0, -1]
    assert id_positions(keys, pd.Series([], dtype="string")).tolist() == [-1, -1, -1]


def test_take_rows_gives_missing_values_for_minus_one_and_keeps_integers_exact():
    money = pd.Series([2**62 + 1, 5, -7], dtype="int64")
    taken = take_rows(money, np.array([2, -1, 0]))
    assert str(taken.dtype) == "Int64"
    assert taken.tolist() == [-7, pd.NA, 2**62 + 1]
    text = pd.Series(["a", "b"], dtype="string")
    assert take_rows(text, np.array([1, -1])).tolist() == ["b", pd.NA]
    assert take_rows(pd.Series([], dtype="int64"), np.array([-1])).tolist() == [pd.NA]


def test_id_order_sorts_uuid_text_by_its_leading_bytes_and_leaves_other_text_alone():
    ids = pd.Series([str(uuid.uuid4()) for _ in range(2000)], dtype="string")
    ordered = ids.iloc[id_order(ids)].str.slice(0, 8).tolist()
    assert ordered == sorted(ordered)
    assert id_order(pd.Series(["A-1", "B-22"], dtype="string")) is None


def test_fixed_ids_compare_byte_for_byte_in_every_block():
    """The check behind every id match: one differing byte in any block of rows makes it fail."""
    ids = [str(uuid.uuid4()) for _ in range(3 * _SAME_BLOCK + 17)]
    order = np.random.default_rng(3).permutation(len(ids))
    mine = _FixedIds.of(pa.array(ids))
    theirs = _FixedIds.of(pa.array([ids[i] for i in order]))
    rows = np.arange(len(ids))
    at = np.argsort(order)  # where each of mine sits in theirs
    assert mine.same(rows, theirs, at)
    changed = list(ids)
    changed[2 * _SAME_BLOCK + 5] = changed[2 * _SAME_BLOCK + 5][:-1] + "g"  # last byte, third block
    assert not _FixedIds.of(pa.array(changed)).same(rows, theirs, at)


def test_map_distinct_asks_once_per_distinct_value_and_keeps_missing_missing():
    asked = []

    def length(value: str) -> int:
        asked.append(value)
        return len(value)

    col = pd.Series(["ab", None, "abc", "ab", "ab", None], dtype="string")
    assert map_distinct(col, length, pa.int64()).to_pylist() == [2, None, 3, 2, 2, None]
    assert sorted(asked) == ["ab", "abc"]


def test_arrow_strings_of_a_categorical_are_its_text_with_nulls_kept():
    text = pd.Series(["R010", None, "R999", "R010"], dtype="string")
    coded = text.astype("category")
    assert arrow_strings(coded).to_pylist() == ["R010", None, "R999", "R010"]
    assert arrow_strings(coded).equals(arrow_strings(text).cast(pa.string()))


def test_contains_nul_finds_the_rows_str_contains_finds():
    from acorn.columns import contains_nul

    clean = pd.Series(["a", None, "bc", ""], dtype="string")
    assert contains_nul(clean).tolist() == [False] * 4
    dirty = pd.Series(["a", "b\x00c", None, "\x00"], dtype="string")
    assert contains_nul(dirty).tolist() == [False, True, False, True]
    assert contains_nul(pd.Series([], dtype="string")).tolist() == []
    sliced = pd.Series(["x\x00", "ok", "fine"], dtype="string").iloc[
        1:
    ]  # a buffer holding more than its rows
    assert contains_nul(sliced).tolist() == [False, False]
