"""Write rows through the driver, below SQLAlchemy's per-row parameter handling.

The values are converted exactly as SQLAlchemy would bind them (each column type's bind
processor: UTC timestamps, SQLite's date text), then handed to the driver in bulk: binary COPY
on PostgreSQL, which psycopg encodes in C, and one executemany on SQLite, which loops in C.
Statements still run on SQLAlchemy's connection, inside its transaction.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from psycopg import sql
from sqlalchemy import Connection, LargeBinary, Table, TableClause, column, table

from lienthong.consumer.store.errors import StoreError

Rows = Sequence[Mapping[str, Any]]


def as_tuples(
    conn: Connection, target: Table, names: Sequence[str], rows: Rows
) -> list[tuple[Any, ...]]:
    """Return the rows' values in `names` order, converted by the columns' bind processors."""
    dialect = conn.dialect
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(names):
        column_type = target.c[name].type
        if isinstance(column_type, LargeBinary):
            continue  # bytes bind as they are; psycopg's Binary wrapper would only cost time
        proc = column_type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            processors.append((index, proc))
    get = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    if not processors:
        return [get(row) for row in rows]
    out: list[tuple[Any, ...]] = []
    try:
        for row in rows:
            values = list(get(row))
            for index, convert in processors:
                values[index] = convert(values[index])
            out.append(tuple(values))
    except (TypeError, ValueError) as exc:  # what a column type refuses to bind
        raise StoreError(f"{target.name}: {exc}") from exc
    return out


def copy_rows(conn: Connection, into: str, target: Table, rows: Rows) -> None:
    """COPY rows into table `into` (PostgreSQL), converted as `target`'s columns bind them."""
    names = list(rows[0])
    values = as_tuples(conn, target, names, rows)
    # Binary: payloads go as they are (text would hex-encode them), times as integers.
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(into), sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    driver = conn.connection.driver_connection
    assert driver is not None  # an open connection inside a transaction
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([_pg_type(conn, target, name) for name in names])
        for row in values:
            copy.write_row(row)


def _pg_type(conn: Connection, target: Table, name: str) -> str:
    """Return the PostgreSQL type name of a column, as psycopg's type registry knows it."""
    compiled = target.c[name].type.compile(dialect=conn.dialect).lower()
    return _PG_ALIASES.get(compiled, compiled)


# SQLAlchemy's FLOAT is PostgreSQL's double precision; the other names are PostgreSQL's own.
_PG_ALIASES = {"float": "float8"}


def stage(conn: Connection, target: Table, names: Sequence[str]) -> TableClause:
    """Return an empty temporary table for `names` of `target`, created once per session.

    ON COMMIT DELETE ROWS empties it at every commit, and a rollback takes its rows with it.
    """
    # The column list is part of the name, so a different list never meets an old shape.
    tag = zlib.crc32(",".join(names).encode())
    name = f"lt_stage_{target.name.removeprefix('lt_')}_{tag:08x}"
    create = sql.SQL(
        "CREATE TEMPORARY TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS"
        " AS SELECT {} FROM {} WITH NO DATA"
    ).format(
        sql.Identifier(name),
        sql.SQL(", ").join(sql.Identifier(n) for n in names),
        sql.Identifier(target.name),
    )
    conn.exec_driver_sql(create.as_string(conn.connection.driver_connection))
    return table(name, *[column(n) for n in names])


def sqlite_insert(
    conn: Connection,
    target: Table,
    rows: Rows,
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    newer: str | None = None,
) -> None:
    """INSERT rows on SQLite in one executemany, with the ON CONFLICT clause asked for."""
    names = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    columns, marks = ", ".join(quote(n) for n in names), ", ".join("?" for _ in names)
    # Only quoted names of our own tables and columns go into the text; values are bound.
    text = f"INSERT INTO {quote(target.name)} ({columns}) VALUES ({marks})"  # noqa: S608
    if conflict:
        keys = ", ".join(quote(n) for n in conflict)
        action = (
            "UPDATE SET " + ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in update)
            if update
            else "NOTHING"
        )
        text += f" ON CONFLICT ({keys}) DO {action}"
        if update and newer is not None:  # never move a row back to an older version
            text += f" WHERE {quote(target.name)}.{quote(newer)} <= excluded.{quote(newer)}"
    conn.exec_driver_sql(text, as_tuples(conn, target, names, rows))
