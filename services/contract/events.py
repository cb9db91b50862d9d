"""What the contract says about an event record: its key, sender, headers, and their agreement."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lienthong.contract.codec import Decoded
from lienthong.contract.errors import BadHeaders
from lienthong.contract.headers import EventHeaders
from lienthong.contract.schemas import EventType
from lienthong.contract.trace import TraceParent


def business_key(event_type: EventType, record: Mapping[str, Any]) -> str:
    """Return the Kafka key: the id every event about one document or report shares."""
    if event_type is EventType.DOCUMENT:
        return str(record["document_id"])
    if event_type is EventType.REPORT:
        return str(record["report_id"])
    # A status travels on its document's key, so it stays ordered after that document.
    return str(record["response_for"]["document_id"])


def sender_of(record: Mapping[str, Any]) -> str:
    """Return the agency code of the event's sender (From organisation)."""
    return str(record["from_organ"]["organ_id"])


def organization(code: str, name: str) -> dict[str, Any]:
    """Return an Organization with only the required fields set (the others None)."""
    return {
        "organ_id": code,
        "organ_name": name,
        "organization_in_charge": None,
        "organ_add": None,
        "email": None,
        "telephone": None,
        "fax": None,
        "website": None,
    }


def epoch_millis(value: datetime | int) -> int:
    """Return a timestamp as milliseconds since the epoch (naive datetimes are taken as UTC)."""
    if isinstance(value, int):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def headers_for(
    event_type: EventType,
    record: Mapping[str, Any],
    fingerprint_hex: str,
    traceparent: TraceParent | None = None,
) -> EventHeaders:
    """Derive the contract headers of a record about to be published."""
    return EventHeaders(
        event_id=str(record["event_id"]),
        event_type=event_type,
        sender=sender_of(record),
        schema_fingerprint=fingerprint_hex,
        occurred_at_ms=epoch_millis(record["occurred_at"]),
        traceparent=traceparent or TraceParent.new(),
    )


def check_agreement(headers: EventHeaders, key: bytes | None, decoded: Decoded) -> None:
    """Raise BadHeaders if the headers or key say something the Avro body does not."""
    record = decoded.record
    body = {
        "event id": str(record["event_id"]),
        "event type": decoded.event_type.value,
        "sender": sender_of(record),
        "schema fingerprint": decoded.writer.fingerprint_hex,
        "occurred at": epoch_millis(record["occurred_at"]),
        "key": business_key(decoded.event_type, record),
    }
    said = {
        "event id": headers.event_id,
        "event type": headers.event_type.value,
        "sender": headers.sender,
        "schema fingerprint": headers.schema_fingerprint,
        "occurred at": headers.occurred_at_ms,
        "key": key.decode("utf-8", "replace") if key is not None else "<none>",
    }
    wrong = [f"{k} {said[k]!r} (body says {body[k]!r})" for k in body if said[k] != body[k]]
    if wrong:
        raise BadHeaders("headers disagree with the body: " + "; ".join(wrong))
