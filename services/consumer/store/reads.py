"""Queries for the trace command, the outbox relay and the tests."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, union

from lienthong.consumer.rows import AttachmentRow, DocumentRow, HistoryRow, StatusRow
from lienthong.consumer.store import tables as t
from lienthong.consumer.store.columns import decode_headers, split_codes
from lienthong.consumer.store.model import (
    LoggedEvent,
    OutboxEntry,
    StoredDocument,
    Timeline,
)


def timeline(conn: Connection, document_id: str) -> Timeline:
    """Read one document, its history, its statuses and the log entries of their events."""
    h, s, e, r = t.history, t.statuses, t.events, t.replacements
    history = (
        conn.execute(
            select(h).where(h.c.document_id == document_id).order_by(h.c.occurred_at, h.c.event_id)
        )
        .mappings()
        .all()
    )
    statuses = (
        conn.execute(
            select(s).where(s.c.document_id == document_id).order_by(s.c.occurred_at, s.c.event_id)
        )
        .mappings()
        .all()
    )
    event_ids = union(
        select(h.c.event_id).where(h.c.document_id == document_id),
        select(s.c.event_id).where(s.c.document_id == document_id),
        select(t.documents.c.event_id).where(t.documents.c.document_id == document_id),
    ).subquery()
    logged = (
        conn.execute(
            select(*[c for c in e.c if c.name != "payload"])
            .where(e.c.event_id.in_(select(event_ids.c.event_id)))
            .order_by(e.c.occurred_at, e.c.event_id)
        )
        .mappings()
        .all()
    )
    replaces = (
        conn.execute(
            select(r.c.old_document_id)
            .where(r.c.new_document_id == document_id)
            .order_by(r.c.old_document_id)
        )
        .scalars()
        .all()
    )
    return Timeline(
        document_id=document_id,
        document=_document(conn, document_id),
        history=tuple(HistoryRow(**row) for row in history),
        statuses=tuple(StatusRow(**row) for row in statuses),
        events=tuple(_logged(row) for row in logged),
        replaces=tuple(replaces),
    )


def _document(conn: Connection, document_id: str) -> StoredDocument | None:
    d, a = t.documents, t.attachments
    row = conn.execute(select(d).where(d.c.document_id == document_id)).mappings().first()
    if row is None:
        return None
    files = (
        conn.execute(select(a).where(a.c.document_id == document_id).order_by(a.c.position))
        .mappings()
        .all()
    )
    derived = {
        "state", "revoked_reason", "replaced_by", "current_status", "current_status_at",
        "first_seen_at", "updated_at",
    }  # fmt: skip
    return StoredDocument(
        header=DocumentRow(**{k: v for k, v in row.items() if k not in derived}),
        attachments=tuple(AttachmentRow(**f) for f in files),
        **{k: row[k] for k in derived},
    )


def _logged(row: RowMapping) -> LoggedEvent:
    values: dict[str, Any] = dict(row)
    values["recipients"] = split_codes(values["recipients"])
    return LoggedEvent(**values)


def pending_outbox(conn: Connection, limit: int) -> list[OutboxEntry]:
    """Read up to `limit` unsent outbox rows, oldest first."""
    o = t.outbox
    rows = conn.execute(
        select(
            o.c.id,
            o.c.topic,
            o.c.key,
            o.c.value,
            o.c.headers,
            o.c.event_id,
            o.c.kind,
            o.c.attempts,
            o.c.created_at,
        )
        .where(o.c.sent_at.is_(None))
        .order_by(o.c.id)
        .limit(limit)
    ).mappings()
    return [OutboxEntry(**{**row, "headers": decode_headers(row["headers"])}) for row in rows]


def outbox_backlog(conn: Connection) -> int:
    """Count the unsent outbox rows."""
    o = t.outbox
    return conn.execute(select(func.count()).where(o.c.sent_at.is_(None))).scalar_one()


def counts(conn: Connection) -> dict[str, int]:
    """Count the rows of every store table."""
    return {
        table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
        for table in t.metadata.sorted_tables
    }


def event_id_checksum(conn: Connection) -> str:
    """Return the SHA-256 of the sorted event ids, one per line: equal stores, equal sums."""
    ids = sorted(conn.execute(select(t.events.c.event_id)).scalars())
    digest = hashlib.sha256()
    for event_id in ids:
        digest.update(event_id.encode("utf-8") + b"\n")
    return digest.hexdigest()


def delays(conn: Connection) -> list[tuple[str, float]]:
    """Return (event type, seconds from occurred_at to persisted_at) for every stored event."""
    e = t.events
    rows = conn.execute(select(e.c.event_type, e.c.occurred_at, e.c.persisted_at))
    return [(kind, (persisted - occurred).total_seconds()) for kind, occurred, persisted in rows]


def outbox_by_kind(conn: Connection) -> dict[str, tuple[int, int]]:
    """Return kind -> (sent, pending) outbox rows."""
    o = t.outbox
    sent = func.count(o.c.sent_at)
    total = func.count()
    rows = conn.execute(select(o.c.kind, sent, total).group_by(o.c.kind))
    return {kind: (done, all_ - done) for kind, done, all_ in rows}
