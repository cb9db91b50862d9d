"""Kafka header names of the contract, and the typed views routing and tracing read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lienthong.contract.errors import BadHeaders
from lienthong.contract.schemas import EventType
from lienthong.contract.trace import TraceParent

# Set by the publisher (producer API, Python client, consumer outbox).
EVENT_ID = "lt-event-id"
EVENT_TYPE = "lt-event-type"
SENDER = "lt-sender"
SCHEMA_FINGERPRINT = "lt-schema-fingerprint"
OCCURRED_AT = "lt-occurred-at"
"""Milliseconds since the Unix epoch, UTC: end-to-end latency without decoding the body."""
TRACEPARENT = "traceparent"

# Added by the router to each delivered copy.
RECIPIENTS = "lt-recipients"
"""Comma-separated agency codes served by the receiving endpoint in this event."""
ROUTED_AT = "lt-routed-at"

# Set by `lienthong dlq replay` on a consumer's dead letter sent back to inbound.
REDELIVER_TO = "lt-redeliver-to"
"""An endpoint id: the router routes the event afresh, checking everything again, and delivers
only the copy for this endpoint (the one whose consumer dead-lettered it). It narrows a
route, never widens one: a copy for an endpoint the event does not address is not made."""

# Added to a dead-letter record, beside the original key, value and headers.
DLQ_REASON = "lt-dlq-reason"
DLQ_ERROR = "lt-dlq-error"
DLQ_DETAIL = "lt-dlq-detail"
DLQ_STAGE = "lt-dlq-stage"
DLQ_AT = "lt-dlq-at"
SOURCE_TOPIC = "lt-source-topic"
SOURCE_PARTITION = "lt-source-partition"
SOURCE_OFFSET = "lt-source-offset"

# Milliseconds since the epoch fit in 13 digits until the year 2286; more is not a time.
_MILLIS_DIGITS = 13

CONTRACT_HEADERS = (EVENT_ID, EVENT_TYPE, SENDER, SCHEMA_FINGERPRINT, OCCURRED_AT, TRACEPARENT)

KafkaHeaders = Sequence[tuple[str, bytes | None]]


def header_map(headers: KafkaHeaders | None) -> dict[str, bytes]:
    """Return headers as a dict, refusing a repeated contract header (which copy would win?)."""
    out: dict[str, bytes] = {}
    for key, value in headers or ():
        if key in out and key in CONTRACT_HEADERS:
            raise BadHeaders(f"header {key!r} appears more than once")
        out[key] = value if value is not None else b""
    return out


@dataclass(frozen=True, slots=True)
class EventHeaders:
    """The contract headers every published record carries."""

    event_id: str
    event_type: EventType
    sender: str
    schema_fingerprint: str
    occurred_at_ms: int
    traceparent: TraceParent

    def to_kafka(self) -> list[tuple[str, bytes]]:
        """Render as Kafka headers, UTF-8 values."""
        return [
            (EVENT_ID, self.event_id.encode()),
            (EVENT_TYPE, self.event_type.value.encode()),
            (SENDER, self.sender.encode()),
            (SCHEMA_FINGERPRINT, self.schema_fingerprint.encode()),
            (OCCURRED_AT, str(self.occurred_at_ms).encode()),
            (TRACEPARENT, str(self.traceparent).encode()),
        ]

    @classmethod
    def from_kafka(cls, headers: KafkaHeaders | Mapping[str, bytes] | None) -> EventHeaders:
        """Read the contract headers, raising BadHeaders naming each missing or bad one."""
        found = headers if isinstance(headers, Mapping) else header_map(headers)
        missing = [name for name in CONTRACT_HEADERS if name not in found]
        if missing:
            raise BadHeaders(f"missing headers: {', '.join(missing)}")
        text = {name: _text(name, found[name]) for name in CONTRACT_HEADERS}
        try:
            event_type = EventType(text[EVENT_TYPE])
        except ValueError:
            raise BadHeaders(
                f"{EVENT_TYPE} {text[EVENT_TYPE]!r} is not a known event type"
            ) from None
        occurred = text[OCCURRED_AT]
        # isascii(): str.isdigit() also accepts "²" and other digits int() refuses.
        if not (occurred.isascii() and occurred.isdigit()) or len(occurred) > _MILLIS_DIGITS:
            raise BadHeaders(f"{OCCURRED_AT} {occurred!r} is not milliseconds since the epoch")
        return cls(
            event_id=text[EVENT_ID],
            event_type=event_type,
            sender=text[SENDER],
            schema_fingerprint=text[SCHEMA_FINGERPRINT],
            occurred_at_ms=int(occurred),
            traceparent=TraceParent.parse(text[TRACEPARENT]),
        )


def _text(name: str, value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise BadHeaders(f"header {name!r} is not UTF-8") from None


def recipients_header(agencies: Iterable[str]) -> tuple[str, bytes]:
    """Render the recipient agencies served by one endpoint."""
    return RECIPIENTS, ",".join(agencies).encode()


def parse_recipients(value: bytes) -> tuple[str, ...]:
    """Read a recipients header back into agency codes; BadHeaders if it is not UTF-8."""
    return tuple(code for code in _text(RECIPIENTS, value).split(",") if code)


def parse_millis(value: bytes | None) -> int | None:
    """Read a milliseconds-since-the-epoch header; None when absent or not such a number."""
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > _MILLIS_DIGITS:
        return None
    return int(value)
