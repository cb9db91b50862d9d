"""Builders of Mapped values and batches for the store's tests: the mapping is not needed."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from lienthong.consumer.rows import (
    AttachmentRow,
    DocumentRow,
    EventRow,
    HistoryRow,
    Mapped,
    OutboxRow,
    PersistBatch,
    ReplacementRow,
    ReportRow,
    ReportValueRow,
    StatusRow,
)

T0 = datetime(2026, 11, 26, 8, 30, 15, 123000, tzinfo=UTC)
SENDER = "000.00.00.G22"
RECIPIENT = "000.00.00.H41"
TOPIC = "lienthong.deliver.h41"
_offsets = itertools.count()


def at(minutes: float) -> datetime:
    """Return T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def event(event_type: str, key: str, *, occurred_at: datetime, payload: bytes = b"") -> EventRow:
    """Return an event log row with a fresh id and the next offset of partition 0."""
    return EventRow(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        sender=SENDER,
        business_key=key,
        occurred_at=occurred_at,
        schema_fingerprint="0123456789abcdef",
        payload=payload or b"\xc3\x01" + key.encode(),
        source_topic=TOPIC,
        source_partition=0,
        source_offset=next(_offsets),
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        routed_at=occurred_at + timedelta(milliseconds=40),
        recipients=(RECIPIENT, "001.00.10.H41"),
    )


def receipt(ev: EventRow) -> OutboxRow:
    """Return the status 01 receipt the consumer owes for an event."""
    return OutboxRow(
        topic="lienthong.inbound",
        key=ev.business_key.encode(),
        value=b"\xc3\x01receipt-" + ev.event_id.encode(),
        headers=(("lt-event-id", f"r-{ev.event_id}".encode()), ("lt-event-type", b"status")),
        event_id=f"r-{ev.event_id}",
        kind="receipt",
    )


def document(
    doc_id: str,
    action: str = "NEW",
    *,
    minute: float = 0,
    subject: str = "Về việc triển khai",
    reason: str | None = None,
    replaces: tuple[str, ...] = (),
    attachments: int = 1,
) -> Mapped:
    """Return what a document event maps to: NEW, UPDATE, REPLACE (a header) or REVOKE."""
    ev = event("document", doc_id, occurred_at=at(minute))
    header = None
    if action != "REVOKE":
        header = DocumentRow(
            document_id=doc_id, event_id=ev.event_id, sender=SENDER,
            sender_name="Văn phòng Chính phủ", code_number="7816", code_notation="VPCP-KSTT",
            promulgation_place="Hà Nội", promulgation_date=date(2026, 11, 25), doc_type=1,
            type_detail=2, type_name="Công văn", subject=subject, content_summary=None,
            signer_competence="TL. Bộ trưởng", signer_position="Chánh Văn phòng",
            signer_full_name="Nguyễn Văn A", due_date=date(2026, 12, 31), steering_type="0",
            priority="normal", addressed=RECIPIENT, occurred_at=ev.occurred_at,
        )  # fmt: skip
    files = tuple(_attachment(doc_id, i) for i in range(attachments if header else 0))
    return Mapped(
        event=ev,
        document=header,
        attachments=files,
        history=HistoryRow(ev.event_id, doc_id, action, reason, ev.occurred_at),
        replacements=tuple(ReplacementRow(doc_id, old, ev.event_id) for old in replaces),
        outbox=(receipt(ev),) if header else (),
    )


def _attachment(doc_id: str, position: int) -> AttachmentRow:
    return AttachmentRow(
        document_id=doc_id, position=position, name=f"file-{position}.pdf",
        media_type="application/pdf", size_bytes=1024 * (position + 1), sha256="ab" * 32,
        uri=f"https://files.example/{doc_id}/{position}", description=None,
    )  # fmt: skip


def status(doc_id: str, code: str, *, minute: float) -> Mapped:
    """Return what a status event about a document maps to."""
    ev = event("status", doc_id, occurred_at=at(minute))
    row = StatusRow(
        event_id=ev.event_id, document_id=doc_id, document_sender=SENDER,
        from_organ=RECIPIENT, from_organ_name="UBND tỉnh Nghệ An", status_code=code,
        description=None, staff="Trần Thị B", occurred_at=ev.occurred_at,
    )  # fmt: skip
    return Mapped(event=ev, status=row)


def report(report_id: str, revision: int = 1, *, values: int = 3) -> Mapped:
    """Return what a report submission maps to, with numeric and text values."""
    ev = event("report", report_id, occurred_at=at(revision))
    row = ReportRow(
        event_id=ev.event_id, report_id=report_id, revision=revision, regime_code="BC-01",
        sender=SENDER, period_kind="month", period_year=2026, period_number=11,
        title="Báo cáo tháng", occurred_at=ev.occurred_at,
    )  # fmt: skip
    numbers = [
        ReportValueRow(ev.event_id, f"CT{i:02d}", "người", i * 1.5, None) for i in range(values)
    ]
    note = ReportValueRow(ev.event_id, "NOTE", None, None, "không có")
    rows = (*numbers, note)
    return Mapped(event=ev, report=row, values=rows)


def batch(*items: Mapped, consumer: str = "h41", dead: tuple[OutboxRow, ...] = ()) -> PersistBatch:
    """Return a batch whose offsets point just past its last record per partition."""
    offsets = {
        (m.event.source_topic, m.event.source_partition): m.event.source_offset + 1 for m in items
    }
    return PersistBatch(consumer=consumer, items=items, dead_letters=dead, offsets=offsets)


def dead_letter(reason: str = "unmappable") -> OutboxRow:
    """Return a dead letter the sink writes for a record it could not map."""
    return OutboxRow(
        topic="lienthong.dlq", key=b"k", value=b"\x00bad", event_id=None, kind="dead-letter",
        headers=(("lt-dlq-reason", reason.encode()), ("x-binary", bytes(range(256)))),
    )  # fmt: skip


def store_url(request: pytest.FixtureRequest) -> str:
    """Return a fresh database URL for a test parametrized with "sqlite" or "postgres"."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    tmp_path: Path = request.getfixturevalue("tmp_path")
    return f"sqlite:///{tmp_path / 'store.sqlite'}"
