"""Map one delivered record to the rows it writes and the receipts it owes. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lienthong.consumer.rows import (
    AttachmentRow,
    DocumentRow,
    EventRow,
    HistoryRow,
    Mapped,
    OutboxRow,
    ReplacementRow,
    ReportRow,
    ReportValueRow,
    StatusRow,
)
from lienthong.contract import headers as h
from lienthong.contract.authority import REASON as FOREIGN_DOCUMENT
from lienthong.contract.authority import foreign_documents
from lienthong.contract.codec import Codec, Decoded
from lienthong.contract.errors import BadHeaders, DecodeError
from lienthong.contract.events import business_key, organization, sender_of
from lienthong.contract.headers import EventHeaders, header_map
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType
from lienthong.contract.trace import TraceParent
from lienthong.plumbing.envelope import Envelope

# Receipt ids derive from the received event and the receiving agency: a record consumed twice
# (after a crash before commit) owes the same receipt, with the same id, never a second one.
_RECEIPTS = uuid.UUID("5b0c8e1e-7d4a-4f59-a0f4-1b2d1f9c3e77")
STATUS_CODES = frozenset({"01", "02", "03", "04", "05", "06", "13", "15", "16"})


class Unmappable(Exception):
    """A delivered record the store cannot take; it goes to the DLQ and the loop continues."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        # Known once the body decoded: what the dead-letter log line names.
        self.event_id: str | None = None
        self.event_type: str = "unknown"
        self.sender: str | None = None


@dataclass(frozen=True, slots=True)
class Receipts:
    """Where receipts go and who they come from; None in mappings that send none (archives).

    `serves` tells whether the endpoint this consumer serves serves an agency (the directory
    says so): the recipients header is the router's word, and a record whose header names an
    agency served by another endpoint (or no agency at all) was not written by the router for
    this endpoint. It is dead-lettered, never stored, and no receipt is sent in that agency's name.
    """

    inbound_topic: str
    agency_name: Callable[[str], str]
    serves: Callable[[str], bool] | None = None


def map_record(
    envelope: Envelope, codec: Codec, now: datetime, receipts: Receipts | None = None
) -> Mapped:
    """Return the rows of one delivered record, or raise Unmappable saying why."""
    if envelope.value is None:
        raise Unmappable("empty-value", "record has no value")
    try:
        decoded = codec.decode(envelope.value)
    except DecodeError as exc:
        raise Unmappable(exc.reason, str(exc)) from exc
    try:
        return _map(envelope, decoded, codec, now, receipts)
    except (Unmappable, BadHeaders) as exc:
        failure = exc if isinstance(exc, Unmappable) else Unmappable(exc.reason, str(exc))
        failure.event_id = str(decoded.record["event_id"])
        failure.event_type = decoded.event_type.value
        failure.sender = sender_of(decoded.record)
        raise failure from exc


def _map(
    envelope: Envelope, decoded: Decoded, codec: Codec, now: datetime, receipts: Receipts | None
) -> Mapped:
    found = header_map(envelope.headers)
    headers = EventHeaders.from_kafka(found)
    if h.RECIPIENTS not in found:
        raise Unmappable("not-routed", f"no {h.RECIPIENTS} header: not written by the router")
    recipients = h.parse_recipients(found[h.RECIPIENTS])
    if receipts is not None and receipts.serves is not None:
        foreign = [code for code in recipients if not receipts.serves(code)]
        if foreign or not recipients:
            raise Unmappable(
                "foreign-recipient",
                f"{h.RECIPIENTS} names {', '.join(foreign) or 'no agency'}: not an agency this"
                " endpoint serves (a record the router did not write for it)",
            )
    record = decoded.record
    event = EventRow(
        event_id=str(record["event_id"]),
        event_type=decoded.event_type.value,
        sender=sender_of(record),
        business_key=business_key(decoded.event_type, record),
        occurred_at=record["occurred_at"],
        schema_fingerprint=decoded.writer.fingerprint_hex,
        payload=envelope.value or b"",
        source_topic=envelope.topic,
        source_partition=envelope.partition,
        source_offset=envelope.offset,
        trace_id=headers.traceparent.trace_id,
        routed_at=_millis(found.get(h.ROUTED_AT)),
        recipients=recipients,
    )
    if decoded.event_type is EventType.DOCUMENT:
        owed = _receipts(event, decoded.record, headers.traceparent, codec, now, receipts)
        return _document(event, decoded, owed)
    if decoded.event_type is EventType.REPORT:
        return _report(event, record)
    return _status(event, record)


def _document(event: EventRow, decoded: Decoded, owed: tuple[OutboxRow, ...]) -> Mapped:
    record = decoded.record
    business = record["business"]
    action = business["action"]
    if action != "NEW" and not business.get("reason"):
        raise Unmappable("invalid-business", f"{action} without a reason")
    if action == "REPLACE" and not business["replacements"]:
        raise Unmappable("invalid-business", "REPLACE names no document it replaces")
    foreign = [message for _, message in foreign_documents(record)]
    if foreign:
        raise Unmappable(FOREIGN_DOCUMENT, "; ".join(foreign))
    document_id = record["document_id"]
    history = HistoryRow(
        event.event_id, document_id, action, business.get("reason"), event.occurred_at
    )
    replacements = tuple(
        ReplacementRow(document_id, r["document_id"], event.event_id)
        for r in business["replacements"]
    )
    if action == "REVOKE":  # a revocation changes the state, never the stored header
        return Mapped(event, history=history, outbox=owed)
    attachments = tuple(
        AttachmentRow(
            document_id,
            i,
            a["name"],
            a["media_type"],
            a["size_bytes"],
            a["sha256"],
            a["uri"],
            a.get("description"),
        )
        for i, a in enumerate(record["attachments"])
    )
    return Mapped(
        event,
        document=_header(event, record),
        attachments=attachments,
        history=history,
        replacements=replacements,
        outbox=owed,
    )


def _header(event: EventRow, record: Mapping[str, Any]) -> DocumentRow:
    signer = record["signer"]
    kind = record["document_type"]
    return DocumentRow(
        document_id=record["document_id"],
        event_id=event.event_id,
        sender=event.sender,
        sender_name=record["from_organ"]["organ_name"],
        code_number=record["code"]["code_number"],
        code_notation=record["code"]["code_notation"],
        promulgation_place=record["promulgation"]["place"],
        promulgation_date=record["promulgation"]["promulgation_date"],
        doc_type=kind["type"],
        type_detail=kind["type_detail"],
        type_name=kind["type_name"],
        subject=record["subject"],
        content_summary=record.get("content_summary"),
        signer_competence=signer.get("competence"),
        signer_position=signer["position"],
        signer_full_name=signer["full_name"],
        due_date=record.get("due_date"),
        steering_type=record["steering_type"],
        priority=record["other_info"]["priority"],
        addressed=",".join(record["recipients"]),
        occurred_at=event.occurred_at,
    )


def _receipts(  # noqa: PLR0917 - private, called once, every argument needed
    event: EventRow,
    record: Mapping[str, Any],
    trace: TraceParent,
    codec: Codec,
    now: datetime,
    receipts: Receipts | None,
) -> tuple[OutboxRow, ...]:
    """Return one Status 01 (received) per recipient agency served here, for the sender."""
    if receipts is None:
        return ()
    owed = []
    # Encoded without logical types: the id as text and the time as milliseconds are the same
    # bytes on the wire, and skip two conversions per receipt (receipts were 30% of mapping).
    plain = codec.plain()
    occurred_ms = int(now.timestamp() * 1000)
    for agency in event.recipients:
        status = {
            "event_id": str(uuid.uuid5(_RECEIPTS, f"received:{event.event_id}:{agency}")),
            "occurred_at": occurred_ms,
            "response_for": {"document_id": record["document_id"], "organ_id": event.sender},
            "from_organ": organization(agency, receipts.agency_name(agency)),
            "status_code": "01",
            "description": f"Đã nhận (received): {record['business']['action']}",
            "staff": None,
        }
        out = prepare(plain, EventType.STATUS, status, trace.child())
        owed.append(
            OutboxRow(
                receipts.inbound_topic,
                out.key,
                out.value,
                tuple(out.headers),
                out.event_id,
                "receipt",
            )
        )
    return tuple(owed)


def _report(event: EventRow, record: Mapping[str, Any]) -> Mapped:
    period = record["period"]
    report = ReportRow(
        event.event_id,
        record["report_id"],
        record["revision"],
        record["regime_code"],
        event.sender,
        period["kind"],
        period["year"],
        period["number"],
        record.get("title"),
        event.occurred_at,
    )
    values = []
    for indicator in record["indicators"]:
        value = indicator["value"]
        numeric = float(value) if isinstance(value, float | int) else None
        text = value if isinstance(value, str) else None
        values.append(
            ReportValueRow(event.event_id, indicator["code"], indicator.get("unit"), numeric, text)
        )
    if len({v.code for v in values}) != len(values):
        raise Unmappable("invalid-report", "an indicator code appears twice")
    return Mapped(event, report=report, values=tuple(values))


def _status(event: EventRow, record: Mapping[str, Any]) -> Mapped:
    code = record["status_code"]
    if code not in STATUS_CODES:
        raise Unmappable("invalid-status", f"status code {code!r} is not an edXML status code")
    staff = record.get("staff")
    answered = record["response_for"]
    status = StatusRow(
        event.event_id,
        answered["document_id"],
        answered["organ_id"],
        event.sender,
        record["from_organ"]["organ_name"],
        code,
        record.get("description"),
        staff["staff"] if staff else None,
        event.occurred_at,
    )
    return Mapped(event, status=status)


def _millis(value: bytes | None) -> datetime | None:
    millis = h.parse_millis(value)
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC)
