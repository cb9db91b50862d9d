"""One PersistBatch as a handful of set-based statements inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from lienthong.consumer.rows import DocumentRow, Mapped, OutboxRow, PersistBatch
from lienthong.consumer.store import tables as t
from lienthong.consumer.store.bulk import insert_new, insert_rows
from lienthong.consumer.store.columns import chunks, encode_headers, join_codes, one_of, params
from lienthong.consumer.store.derive import recompute_documents
from lienthong.consumer.store.model import Applied

# The columns an UPDATE or REPLACE overwrites: the header, not what the store derived.
_DOCUMENT_HEADER = [f.name for f in fields(DocumentRow) if f.name != "document_id"]


def apply_batch(conn: Connection, batch: PersistBatch, now: datetime) -> Applied:
    """Write the batch's new events, their rows, its outbox rows and offsets; skip the rest."""
    first: dict[str, Mapped] = {}
    for m in batch.items:  # an event twice in one batch is written once
        first.setdefault(m.event.event_id, m)
    new_ids = _insert_events(conn, list(first.values()), now)
    fresh = [m for m in first.values() if m.event.event_id in new_ids]
    _upsert_documents(conn, fresh, now)
    insert_rows(conn, t.history, [params(m.history) for m in fresh if m.history is not None])
    _insert_replacements(conn, fresh)
    insert_rows(conn, t.statuses, [params(m.status) for m in fresh if m.status is not None])
    insert_rows(conn, t.reports, [params(m.report) for m in fresh if m.report is not None])
    insert_rows(conn, t.report_values, [params(v) for m in fresh for v in m.values])
    outbox = [row for m in fresh for row in m.outbox] + list(batch.dead_letters)
    insert_rows(conn, t.outbox, [_outbox_params(row, now) for row in outbox])
    _upsert_offsets(conn, batch.consumer, batch.offsets)
    affected = dict.fromkeys(doc_id for m in fresh for doc_id in m.document_ids)
    recompute_documents(conn, list(affected), now)
    return Applied(
        new=len(fresh),
        duplicates=len(batch.items) - len(fresh),
        new_event_ids=frozenset(new_ids),
        outbox_rows=len(outbox),
        persisted_at=now,
    )


def _insert_events(conn: Connection, items: Sequence[Mapped], now: datetime) -> set[str]:
    """Insert the events not yet logged; return the ids that were new.

    Two writers racing on one event both finish, and exactly one of them sees it as new.
    """
    rows = [
        {**params(m.event), "recipients": join_codes(m.event.recipients), "persisted_at": now}
        for m in items
    ]
    return insert_new(conn, t.events, rows, "event_id") if rows else set()


def _upsert_documents(conn: Connection, fresh: Iterable[Mapped], now: datetime) -> None:
    """Upsert each document's latest header (by occurred_at) and replace its attachments.

    A header older than the stored one (an old event replayed from the DLQ, or an archive
    reading several topics) never overwrites it.
    """
    latest: dict[str, Mapped] = {}
    for m in fresh:
        if m.document is None:
            continue
        seen = latest.get(m.document.document_id)
        if seen is None or seen.event.occurred_at <= m.event.occurred_at:
            latest[m.document.document_id] = m
    d = t.documents
    # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers): no other
    # writer can store a newer version between this check and the upsert, so a header and its
    # attachments always come from the same event. Sorted, so two writers lock in one order.
    for part in chunks(sorted(latest)):
        query = (
            select(d.c.document_id, d.c.occurred_at)
            .where(one_of(d.c.document_id, part, conn.dialect))
            .with_for_update()
        )
        for document_id, stored in conn.execute(query):
            if stored > latest[document_id].event.occurred_at:  # older: header and files stay
                del latest[document_id]
    rows = [
        {**params(m.document), "first_seen_at": now, "updated_at": now}
        for m in latest.values()
        if m.document is not None
    ]
    update = [*_DOCUMENT_HEADER, "updated_at"]
    new = insert_rows(
        conn, t.documents, rows, conflict=["document_id"], update=update, newer="occurred_at"
    )
    a = t.attachments
    for part in chunks([doc_id for doc_id in latest if doc_id not in new]):
        conn.execute(a.delete().where(one_of(a.c.document_id, part, conn.dialect)))
    insert_rows(conn, a, [params(f) for m in latest.values() for f in m.attachments])


def _insert_replacements(conn: Connection, fresh: Iterable[Mapped]) -> None:
    """Link new and old documents; a pair already linked by another event stays as it is."""
    pairs = {(r.new_document_id, r.old_document_id): r for m in fresh for r in m.replacements}
    rows = [params(r) for r in pairs.values()]
    insert_rows(conn, t.replacements, rows, conflict=["new_document_id", "old_document_id"])


def _outbox_params(row: OutboxRow, now: datetime) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "event_id": row.event_id,
        "topic": row.topic,
        "key": row.key,
        "value": row.value,
        "headers": encode_headers(row.headers),
        "created_at": now,
        "attempts": 0,
    }


def _upsert_offsets(
    conn: Connection, consumer: str, positions: Mapping[tuple[str, int], int]
) -> None:
    rows = [
        {"consumer": consumer, "topic": topic, "partition": partition, "next_offset": offset}
        for (topic, partition), offset in positions.items()
    ]
    keys = ["consumer", "topic", "partition"]
    # Forward only: a member that lost its partitions in a rebalance and applies a stale batch
    # must not move the offsets back under the new owner.
    insert_rows(conn, t.offsets, rows, conflict=keys, update=["next_offset"], newer="next_offset")
