"""Insert many rows fast, with ON CONFLICT where asked, on PostgreSQL and SQLite.

PostgreSQL: COPY is the fastest way in, but has no ON CONFLICT. Rows keyed by one column are
first looked up: the new ones are copied straight in (under a savepoint: should a concurrent
writer insert one of them first, the whole set takes the slow path), and rows that need
ON CONFLICT go through a temporary staging table and one INSERT ... SELECT.
SQLite: one executemany with the ON CONFLICT clause. The store's write transactions hold
the write lock from their first statement (BEGIN IMMEDIATE), so a look-up stays true.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql

from lienthong.consumer.store.columns import chunks, one_of
from lienthong.consumer.store.driver import copy_rows, sqlite_insert, stage

Rows = Sequence[Mapping[str, Any]]

# Below this many rows, parameters cost less than COPY into a staging table.
_SMALL = 16


def insert_new(conn: Connection, target: Table, rows: Rows, key: str) -> set[Any]:
    """Insert the rows whose `key` the table does not hold yet; return their keys."""
    known = known_keys(conn, target, key, [row[key] for row in rows])
    fresh = [row for row in rows if row[key] not in known]
    if not fresh:
        return set()
    if conn.dialect.name == "sqlite":
        sqlite_insert(conn, target, fresh, conflict=[key])
        return {row[key] for row in fresh}
    try:
        with conn.begin_nested():
            copy_rows(conn, target.name, target, fresh)
    except psycopg.errors.UniqueViolation:
        # A concurrent writer inserted one of them after the look-up: let ON CONFLICT
        # say which rows are ours.
        return set(_upsert(conn, target, fresh, [key], (), staged=True, returning=key))
    return {row[key] for row in fresh}


def insert_rows(
    conn: Connection,
    target: Table,
    rows: Rows,
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    newer: str | None = None,
) -> set[Any]:
    """Insert rows (all with the same keys, none repeating a `conflict` key).

    With `conflict` (the key columns), a row whose key exists is skipped, or, when `update`
    names columns, those columns are overwritten from the new row — only if the new row's
    `newer` column is not below the stored one, when `newer` is given. Returns keys known to
    have been new (PostgreSQL, one-column `conflict`); any other row may have existed.
    """
    if not rows:
        return set()
    if conn.dialect.name == "sqlite":
        sqlite_insert(conn, target, rows, conflict=conflict, update=update, newer=newer)
    elif not conflict:
        copy_rows(conn, target.name, target, rows)
    elif len(rows) < _SMALL or len(conflict) > 1:
        _upsert(conn, target, rows, conflict, update, staged=len(rows) >= _SMALL, newer=newer)
    else:
        new = insert_new(conn, target, rows, conflict[0])
        again = [row for row in rows if row[conflict[0]] not in new]
        if again and update:
            _upsert(conn, target, again, conflict, update, staged=True, newer=newer)
        return new
    return set()


def known_keys(conn: Connection, target: Table, key: str, keys: Sequence[Any]) -> set[Any]:
    """Return which of `keys` the table already holds in column `key`."""
    column = target.c[key]
    found: set[Any] = set()
    for part in chunks(keys):
        query = select(column).where(one_of(column, part, conn.dialect))
        found.update(conn.execute(query).scalars())
    return found


def _upsert(
    conn: Connection,
    target: Table,
    rows: Rows,
    conflict: Sequence[str],
    update: Sequence[str],
    *,
    staged: bool,
    returning: str | None = None,
    newer: str | None = None,
) -> list[Any]:
    """Run INSERT ... ON CONFLICT on PostgreSQL, from a staging table or from parameters."""
    names = list(rows[0])
    stmt = postgresql.insert(target)
    if staged:
        source = stage(conn, target, names)
        copy_rows(conn, source.name, target, rows)
        stmt = stmt.from_select(names, select(*[source.c[n] for n in names]))
    if update:
        excluded = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=list(conflict),
            set_={n: excluded[n] for n in update},
            where=None if newer is None else target.c[newer] <= excluded[newer],
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    params = None if staged else list(rows)
    if returning is None:
        conn.execute(stmt, params)
        return []
    return list(conn.execute(stmt.returning(target.c[returning]), params).scalars())
