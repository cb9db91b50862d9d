"""An event record made ready for Kafka: key, encoded value and contract headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lienthong.contract.codec import Codec
from lienthong.contract.events import business_key, headers_for
from lienthong.contract.schemas import EventType
from lienthong.contract.trace import TraceParent


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What one publish writes, and the identifiers its answer and log line name."""

    event_type: EventType
    event_id: str
    sender: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    traceparent: TraceParent


def prepare(
    codec: Codec,
    event_type: EventType,
    record: Mapping[str, Any],
    traceparent: TraceParent | None = None,
) -> Outgoing:
    """Encode a validated record and derive its key and headers."""
    value = codec.encode(event_type, record)
    fingerprint = codec.store.current(event_type).fingerprint_hex
    headers = headers_for(event_type, record, fingerprint, traceparent)
    return Outgoing(
        event_type=event_type,
        event_id=headers.event_id,
        sender=headers.sender,
        key=business_key(event_type, record).encode(),
        value=value,
        headers=headers.to_kafka(),
        traceparent=headers.traceparent,
    )
