"""Binary COPY built in numpy puts the same values in Postgres as the text COPY does, NULLs included."""

import json
import uuid
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from psycopg import sql

from acorn.warehouse.binary_copy import encode_rows
from acorn.warehouse.load import copy_frame

COLUMNS = (
    ("id", "uuid"),
    ("name", "text"),
    ("currency", "character(3)"),
    ("amount_minor", "bigint"),
    ("quantity", "integer"),
    ("late", "boolean"),
    ("at", "timestamp with time zone"),
    ("due", "date"),
    ("record", "jsonb"),
)


def _frame() -> pd.DataFrame:
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, str(i))) for i in range(5)]
    return pd.DataFrame(
        {
            "id": pd.Series([*ids[:4], None], dtype="string"),
            "name": pd.Series(["Café-€", "", None, "ジャケット", 'quote "x"'], dtype="string"),
            "currency": pd.Categorical(["EUR", "JPY", "EUR", None, "GBP"]),
            "amount_minor": [1250, -999, 0, 2**62, 7],
            "quantity": pd.Series([1, None, 3, 4, 5], dtype="Int64"),
            "late": [True, False, True, False, True],
            "at": pd.Series(
                pd.to_datetime(
                    [
                        "2026-11-02T10:11:12.123456Z",
                        None,
                        "1999-12-31T23:59:59Z",
                        "2000-01-01T00:00:00Z",
                        "1970-01-01T00:00:01Z",
                    ],
                    utc=True,
                    format="ISO8601",
                )
            ).astype("datetime64[us, UTC]"),
            "due": pd.Series(
                np.array(
                    ["2026-12-31", "NaT", "1999-01-01", "2000-01-01", "2000-01-02"], dtype="datetime64[us]"
                )
            ),
            "record": pd.Series([json.dumps({"a": 1, "b": "ü"}), None, "[]", "{}", '"x"'], dtype="string"),
        }
    )


def _load(conn, table: str, frame: pd.DataFrame, columns) -> list[tuple]:
    conn.execute(f"CREATE TEMP TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns)})")
    with conn.cursor() as cur:
        copy_frame(cur, sql.Identifier(table), frame, tuple(c for c, _ in columns))
    return conn.execute(f"SELECT * FROM {table} ORDER BY amount_minor").fetchall()


def test_binary_copy_stores_every_type_and_null_as_text_copy_does(conn):
    frame = _frame()
    assert encode_rows(frame, [t for _, t in COLUMNS])  # the binary path takes every column of the frame
    binary = _load(conn, "via_binary", frame, COLUMNS)
    # a numeric column has no binary encoder: the same rows go through the CSV path
    text = _load(conn, "via_text", frame.assign(extra="1.5"), (*COLUMNS, ("extra", "numeric")))
    assert binary == [row[:-1] for row in text]
    by_amount = {row[3]: row for row in binary}
    assert by_amount[1250] == (
        uuid.UUID(frame["id"][0]),
        "Café-€",
        "EUR",
        1250,
        1,
        True,
        datetime(2026, 11, 2, 10, 11, 12, 123456, tzinfo=UTC),
        date(2026, 12, 31),
        {"a": 1, "b": "ü"},
    )
    assert by_amount[7][0] is None
    assert by_amount[-999][1:8] == ("", "JPY", -999, None, False, None, None)
    assert by_amount[2**62][2] is None


def test_a_constant_column_ends_every_row_by_either_path(conn):
    batch = str(uuid.uuid5(uuid.NAMESPACE_URL, "batch"))
    columns = (("amount_minor", "bigint"), ("name", "text"))
    rows = []
    for table, extra in (("const_binary", ()), ("const_text", (("extra", "numeric"),))):
        frame = (
            _frame()[["amount_minor", "name"]].assign(extra="1.5")
            if extra
            else _frame()[["amount_minor", "name"]]
        )
        declared = (*columns, *extra, ("batch_id", "uuid"), ("tag", "text"))
        conn.execute(f"CREATE TEMP TABLE {table} ({', '.join(f'{c} {t}' for c, t in declared)})")
        with conn.cursor() as cur:
            names = tuple(c for c, _ in (*columns, *extra))
            copy_frame(cur, sql.Identifier(table), frame, names, constants={"batch_id": batch, "tag": "t"})
        rows.append(
            conn.execute(f"SELECT amount_minor, name, batch_id, tag FROM {table} ORDER BY 1").fetchall()
        )
    assert rows[0] == rows[1]
    assert [r[2:] for r in rows[0]] == [(uuid.UUID(batch), "t")] * 5
    assert rows[0][0][:2] == (-999, "")
