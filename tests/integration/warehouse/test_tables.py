"""The table registry (``acorn.tables``) against the migrated warehouse: the same tables, columns, types, keys."""

import pytest

from acorn.tables import TABLES

#: the Postgres types a landing dtype may be stored as
STORED_AS = {
    "string": {"text", "character", "uuid", "jsonb"},  # ids and records go in as their text
    "category": {"text", "character"},
    "int64": {"bigint", "integer", "smallint"},
    "Int64": {"bigint", "integer", "smallint"},
    "bool": {"boolean"},
    "datetime64[us, UTC]": {"timestamp with time zone"},
    "datetime64[us]": {"date"},
}


def columns(conn, table: str) -> dict[str, tuple[str, bool, bool]]:
    """name -> (type, nullable, has a default) of ``core.<table>``."""
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable = 'YES', column_default IS NOT NULL OR is_identity = 'YES' "
        "FROM information_schema.columns WHERE table_schema = 'core' AND table_name = %s",
        (table,),
    ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def unique_keys(conn, table: str) -> set[tuple[str, ...]]:
    """The column lists of the table's primary key and unique indexes (what ``ON CONFLICT`` may name)."""
    rows = conn.execute(
        "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = ('core.' || %s)::regclass AND i.indisunique GROUP BY i.indexrelid",
        (table,),
    ).fetchall()
    return {tuple(r[0]) for r in rows}


@pytest.mark.parametrize("name", list(TABLES))
def test_each_registered_table_is_the_migrated_one(conn, name):
    table = TABLES[name]
    found = columns(conn, name)
    assert found, f"core.{name} does not exist"
    for column in table.columns:
        if not column.stored:
            assert column.name not in found, f"core.{name}.{column.name} is stored, the registry says not"
            continue
        assert column.name in found, f"core.{name} has no column {column.name}"
        assert found[column.name][0] in STORED_AS[column.dtype], (name, column.name, found[column.name][0])
    # what the loader does not write, the table fills itself (a default), or it may stay empty
    written = {*table.stored, "batch_id"}
    unfilled = [
        c for c, (_, nullable, default) in found.items() if c not in written and not nullable and not default
    ]
    assert unfilled == [], f"core.{name} needs {unfilled}, which the loader does not write"
    # the loader's upsert conflicts on the registry's key: the table's primary key or a unique index
    assert table.key in unique_keys(conn, name)


#: tables with a batch id that no batch frame feeds: the loader's ledger, and what is derived in the warehouse
NOT_FROM_FRAMES = {"batch_ledger", "audit_log", "decision_history"}


def test_the_registry_lists_every_table_a_batch_writes(conn):
    written = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'core' "
            "AND column_name = 'batch_id'"
        ).fetchall()
    }
    assert written - NOT_FROM_FRAMES == set(TABLES)
