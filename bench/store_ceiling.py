"""The consumer benchmark's ceilings: the same rows written without Kafka, two ways.

- `apply`: the store's own `Store.apply` on batches mapped beforehand, so the figure leaves
  out Kafka, decoding and mapping, and keeps the store's idempotency look-ups, upserts,
  offsets and derived-state recomputation;
- `raw`: a plain bulk insert of the rows `apply` writes for new documents (the event log,
  the document header, its attachments, its history and its receipts in the outbox), one
  transaction per batch: binary COPY on PostgreSQL, one executemany per table on SQLite.
  The values are converted beforehand, as the store binds them, so the figure is the
  driver's and the database's work alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from sqlalchemy import Engine, Table

from lienthong.consumer.rows import Mapped, PersistBatch
from lienthong.consumer.store import tables as t
from lienthong.consumer.store.columns import encode_headers, join_codes, params
from lienthong.consumer.store.driver import as_tuples
from lienthong.consumer.store.store import Store

# In the order a batch writes them (attachments reference their document).
TABLES = (t.events, t.documents, t.attachments, t.history, t.outbox)


@dataclass(frozen=True, slots=True)
class TableRows:
    """One table's rows of one batch, converted for the driver."""

    table: Table
    names: list[str]
    values: list[tuple[Any, ...]]


def batches(items: Sequence[Mapped], size: int) -> Iterator[Sequence[Mapped]]:
    """Split the mapped events into consecutive batches of `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def persist_batches(name: str, items: Sequence[Mapped], size: int) -> list[PersistBatch]:
    """Return the batches `apply` is given, with the offsets the sink would store."""
    out = []
    for part in batches(items, size):
        offsets: dict[tuple[str, int], int] = {}
        for m in part:
            key = (m.event.source_topic, m.event.source_partition)
            offsets[key] = max(offsets.get(key, 0), m.event.source_offset + 1)
        out.append(PersistBatch(name, tuple(part), (), offsets))
    return out


def rows_of(items: Sequence[Mapped], now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Return the rows `apply` writes for these new documents, by table name."""
    rows: dict[str, list[dict[str, Any]]] = {table.name: [] for table in TABLES}
    for m in items:
        event = {**params(m.event), "recipients": join_codes(m.event.recipients)}
        rows[t.events.name].append({**event, "persisted_at": now})
        if m.document is not None:
            header = {**params(m.document), "first_seen_at": now, "updated_at": now}
            rows[t.documents.name].append(header)
        rows[t.attachments.name].extend(params(a) for a in m.attachments)
        if m.history is not None:
            rows[t.history.name].append(params(m.history))
        rows[t.outbox.name].extend(
            {
                "kind": o.kind,
                "event_id": o.event_id,
                "topic": o.topic,
                "key": o.key,
                "value": o.value,
                "headers": encode_headers(o.headers),
                "created_at": now,
                "attempts": 0,
            }
            for o in m.outbox
        )
    return rows


def converted(engine: Engine, items: Sequence[Mapped], now: datetime) -> list[TableRows]:
    """Return one batch's rows converted as the store's column types bind them."""
    out = []
    with engine.connect() as conn:
        for name, rows in rows_of(items, now).items():
            if rows:
                table = t.metadata.tables[name]
                names = list(rows[0])
                out.append(TableRows(table, names, as_tuples(conn, table, names, rows)))
    return out


def apply_all(store: Store, work: Sequence[PersistBatch], on_batch: Callable[[int], None]) -> float:
    """Apply every batch; return the seconds it took."""
    started = time.perf_counter()
    for batch in work:
        store.apply(batch)
        on_batch(len(batch.items))
    return time.perf_counter() - started


def insert_all(
    engine: Engine, work: Sequence[list[TableRows]], on_batch: Callable[[int], None]
) -> float:
    """Bulk-insert every batch in a transaction of its own; return the seconds it took."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        write = _copy if engine.dialect.name == "postgresql" else _executemany
        types = _pg_types(driver) if engine.dialect.name == "postgresql" else {}
        started = time.perf_counter()
        for batch in work:
            write(driver, batch, types)
            on_batch(len(batch[0].values))
        return time.perf_counter() - started
    finally:
        raw.close()


def _pg_types(conn: Any) -> dict[str, dict[str, str]]:
    """Return each lt_ table's column types, as the database names them."""
    found: dict[str, dict[str, str]] = {}
    query = (
        "SELECT table_name, column_name, udt_name FROM information_schema.columns"
        " WHERE table_name LIKE 'lt\\_%'"
    )
    for table, column, udt in conn.execute(query).fetchall():
        found.setdefault(table, {})[column] = udt
    conn.commit()
    return found


def _copy(conn: Any, batch: Sequence[TableRows], types: Mapping[str, Mapping[str, str]]) -> None:
    with conn.cursor() as cursor:
        for part in batch:
            statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                sql.Identifier(part.table.name),
                sql.SQL(", ").join(sql.Identifier(n) for n in part.names),
            )
            with cursor.copy(statement) as copy:
                copy.set_types([types[part.table.name][n] for n in part.names])
                for row in part.values:
                    copy.write_row(row)
    conn.commit()


def _executemany(conn: Any, batch: Sequence[TableRows], _: Mapping[str, Mapping[str, str]]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    for part in batch:
        columns = ", ".join(f'"{n}"' for n in part.names)
        marks = ", ".join("?" for _ in part.names)
        conn.executemany(
            f'INSERT INTO "{part.table.name}" ({columns}) VALUES ({marks})',
            part.values,
        )
    conn.execute("COMMIT")
