"""What the store hands back: plain dataclasses, no SQLAlchemy types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lienthong.consumer.rows import (
    AttachmentRow,
    DocumentRow,
    HistoryRow,
    OutboxRow,
    StatusRow,
)


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of one `Store.apply`: which events were new, which were seen before."""

    new: int
    duplicates: int
    new_event_ids: frozenset[str]
    outbox_rows: int  # receipts of the new events plus the batch's dead letters
    persisted_at: datetime  # the persisted_at written on the new events (UTC)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One unsent outbox row, as the relay publishes it."""

    id: int
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    event_id: str | None
    kind: str
    attempts: int
    created_at: datetime

    @property
    def row(self) -> OutboxRow:
        """Return the record to publish, without the outbox bookkeeping."""
        return OutboxRow(
            topic=self.topic,
            key=self.key,
            value=self.value,
            headers=self.headers,
            event_id=self.event_id,
            kind=self.kind,
        )


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document's current header and what the store derived from its history."""

    header: DocumentRow
    attachments: tuple[AttachmentRow, ...]
    state: str  # ACTIVE, REVOKED or REPLACED
    revoked_reason: str | None
    replaced_by: str | None
    current_status: str | None
    current_status_at: datetime | None
    first_seen_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """Where and when one event travelled: the event log without its payload."""

    event_id: str
    event_type: str
    sender: str
    business_key: str
    occurred_at: datetime
    routed_at: datetime | None
    persisted_at: datetime
    schema_fingerprint: str
    source_topic: str
    source_partition: int
    source_offset: int
    recipients: tuple[str, ...]
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything the store knows about one document, oldest first, for `lienthong trace`."""

    document_id: str
    document: StoredDocument | None  # None while only statuses or a revoke have arrived
    history: tuple[HistoryRow, ...]
    statuses: tuple[StatusRow, ...]
    events: tuple[LoggedEvent, ...]  # of the history and the statuses, by occurred_at
    replaces: tuple[str, ...]  # documents this one replaced
