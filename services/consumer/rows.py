"""The rows one delivered event becomes, and the batch the store writes in one transaction.

Plain data between the pure mapping (events -> rows) and the store (rows -> SQL): the store
never sees Avro or Kafka types, and the mapping never sees SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class EventRow:
    """The raw event log: every persisted event, with where it came from."""

    event_id: str
    event_type: str
    sender: str
    business_key: str
    occurred_at: datetime
    schema_fingerprint: str
    payload: bytes  # the original single-object encoded value
    source_topic: str
    source_partition: int
    source_offset: int
    trace_id: str | None
    routed_at: datetime | None
    recipients: tuple[str, ...]  # agencies this endpoint serves in the event (lt-recipients)


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """A document's current header (the latest NEW, UPDATE or REPLACE event about it)."""

    document_id: str
    event_id: str
    sender: str
    sender_name: str
    code_number: str
    code_notation: str
    promulgation_place: str
    promulgation_date: date
    doc_type: int
    type_detail: int
    type_name: str
    subject: str
    content_summary: str | None
    signer_competence: str | None
    signer_position: str
    signer_full_name: str
    due_date: date | None
    steering_type: str
    priority: str
    addressed: str  # the recipients as addressed (codes and groups), comma-separated
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    """One attachment of a document, by reference."""

    document_id: str
    position: int
    name: str
    media_type: str
    size_bytes: int
    sha256: str
    uri: str
    description: str | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One business action on a document: NEW, REVOKE, UPDATE or REPLACE."""

    event_id: str
    document_id: str
    action: str
    reason: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class ReplacementRow:
    """A REPLACE: `new_document_id` replaces `old_document_id`."""

    new_document_id: str
    old_document_id: str
    event_id: str


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One processing status of a document; the full history is kept."""

    event_id: str
    document_id: str
    document_sender: str
    from_organ: str
    from_organ_name: str
    status_code: str
    description: str | None
    staff: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One report submission (a revision of a report id)."""

    event_id: str
    report_id: str
    revision: int
    regime_code: str
    sender: str
    period_kind: str
    period_year: int
    period_number: int
    title: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class ReportValueRow:
    """One indicator value of a report submission."""

    event_id: str
    code: str
    unit: str | None
    numeric_value: float | None
    text_value: str | None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A Kafka record to publish after the transaction commits (receipts, dead letters)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    event_id: str | None  # the receipt's event id; None for a dead letter
    kind: str  # "receipt" or "dead-letter"


@dataclass(frozen=True, slots=True)
class Mapped:
    """Everything one delivered event writes; which parts are set depends on its type."""

    event: EventRow
    document: DocumentRow | None = None  # header to upsert (not for REVOKE)
    attachments: tuple[AttachmentRow, ...] = ()
    history: HistoryRow | None = None
    replacements: tuple[ReplacementRow, ...] = ()
    status: StatusRow | None = None
    report: ReportRow | None = None
    values: tuple[ReportValueRow, ...] = ()
    outbox: tuple[OutboxRow, ...] = ()  # receipts, written only if the event is new

    @property
    def document_ids(self) -> tuple[str, ...]:
        """Return every document id whose derived state (status, revoked, replaced) may change."""
        ids: list[str] = []
        if self.document is not None:
            ids.append(self.document.document_id)
        if self.history is not None:
            ids.append(self.history.document_id)
        ids.extend(r.old_document_id for r in self.replacements)
        if self.status is not None:
            ids.append(self.status.document_id)
        return tuple(dict.fromkeys(ids))


@dataclass(frozen=True, slots=True)
class PersistBatch:
    """One database transaction: the events of a Kafka batch, its dead letters, its offsets."""

    consumer: str  # whose offsets these are: an endpoint id, or "archive"
    items: tuple[Mapped, ...]  # in consumption order
    dead_letters: tuple[OutboxRow, ...] = ()
    offsets: Mapping[tuple[str, int], int] = field(default_factory=dict)  # next offset to read
