"""The records the router writes: delivery copies, dead letters and rejection statuses. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from lienthong.contract import headers as h
from lienthong.contract.codec import Codec
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType
from lienthong.plumbing.deadletter import DETAIL_MAX
from lienthong.plumbing.deadletter import dead_letter as plumbing_dead_letter
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_confluent import MESSAGE_MAX_BYTES, record_size
from lienthong.router.decide import Delivery, Rejected, Routed

# Statuses the axis itself issues get ids derived from the event they answer, so re-processing a
# batch after an aborted transaction yields the same event id, not a second status.
_AXIS_NAMESPACE = uuid.UUID("1c6f0a52-3a39-4a4e-9b7c-4c1e2f1b6a01")
_ROUTING_HEADERS = (h.RECIPIENTS, h.ROUTED_AT, h.REDELIVER_TO)
_ROUTED_AT_BYTES = 64  # the lt-routed-at header, with room to spare


@dataclass(frozen=True, slots=True)
class OutRecord:
    """One record to produce inside the batch's transaction."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def copies(
    envelope: Envelope, targets: Sequence[Delivery], routed_at: tuple[str, bytes]
) -> list[OutRecord]:
    """Return one copy per endpoint: the original bytes, key and headers, plus routing."""
    base = [(k, v) for k, v in envelope.headers if k not in _ROUTING_HEADERS]
    value = envelope.value or b""
    return [OutRecord(t.topic, envelope.key, value, [*base, t.header, routed_at]) for t in targets]


def routed_at_header(routed_at_ms: int) -> tuple[str, bytes]:
    """Return the lt-routed-at header (one per batch: every copy of a batch shares its time)."""
    return h.ROUTED_AT, str(routed_at_ms).encode()


def delivery(envelope: Envelope, target: Delivery, routed_at_ms: int) -> OutRecord:
    """Return the copy for one endpoint: the original bytes, key and headers, plus routing."""
    return copies(envelope, (target,), routed_at_header(routed_at_ms))[0]


def oversized(envelope: Envelope, routed: Routed) -> Rejected | None:
    """Return a rejection if a copy with its routing headers would exceed the size limit.

    Such a copy would fail its transaction on every retry and hold the partition: it is parked
    in the DLQ instead (headers only; the original stays on the inbound topic).
    """
    widest = max(len(d.header[1]) for d in routed.deliveries) + _ROUTED_AT_BYTES
    size = record_size(envelope.value, envelope.key, envelope.headers) + widest
    if size <= MESSAGE_MAX_BYTES:
        return None
    detail = (
        f"{size} bytes with its routing headers, over the {MESSAGE_MAX_BYTES} limit;"
        f" the original stays at {envelope.coordinates}"
    )
    return Rejected(
        "too-large", "RecordTooLarge", detail, routed.event_type, routed.event_id, routed.sender
    )


def dead_letter(
    envelope: Envelope, rejected: Rejected, dlq_topic: str, at_ms: int, stage: str = "router"
) -> OutRecord:
    """Return the DLQ record: the original key, value and headers, plus why and from where."""
    if rejected.reason == "too-large":  # it would not fit the DLQ either: keep the headers only
        envelope = replace(envelope, value=b"")
    record = plumbing_dead_letter(
        envelope,
        topic=dlq_topic,
        reason=rejected.reason,
        error=rejected.error,
        detail=rejected.detail,
        stage=stage,
        at_ms=at_ms,
    )
    return OutRecord(record.topic, record.key, record.value, record.headers)


def rejection_event_id(rejected_event_id: str) -> uuid.UUID:
    """Return the event id of the Status 02 answering `rejected_event_id`: always the same."""
    return uuid.uuid5(_AXIS_NAMESPACE, f"rejected:{rejected_event_id}")


def rejection_status(
    codec: Codec,
    rejected: Rejected,
    axis: Mapping[str, Any],
    now: datetime,
) -> OutRecord | None:
    """Return the Status 02 telling a document's sender why the axis refused it, if due."""
    if rejected.notify is None or rejected.document is None or rejected.event_id is None:
        return None
    document = rejected.document
    status = {
        "event_id": rejection_event_id(rejected.event_id),
        "occurred_at": now.astimezone(UTC),
        "response_for": {
            "document_id": document["document_id"],
            "organ_id": document["from_organ"]["organ_id"],
        },
        "from_organ": dict(axis),
        "status_code": "02",
        "description": f"Từ chối tiếp nhận (rejected by the axis, {rejected.reason}):"
        f" {rejected.detail}"[:DETAIL_MAX],
        "staff": None,
    }
    # The rejection continues the document's trace, so tracing the document finds it.
    trace = rejected.trace.child() if rejected.trace is not None else None
    out = prepare(codec, EventType.STATUS, status, trace)
    headers = [
        *out.headers,
        h.recipients_header(rejected.notify.recipients),
        (h.ROUTED_AT, str(int(now.timestamp() * 1000)).encode()),
    ]
    return OutRecord(rejected.notify.topic, out.key, out.value, headers)
