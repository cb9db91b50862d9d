"""A dead-letter record as an operator reads it: why, from where, and its original form. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from lienthong.contract import headers as h
from lienthong.plumbing.envelope import Envelope

ROUTER_STAGE = "router"
CONSUMER_STAGE = "consumer"
# Everything a dead-lettering stage adds; matched by prefix so a header added by a later
# version of the stage is stripped too rather than replayed as if the publisher had sent it.
_ADDED_PREFIXES = ("lt-dlq-", "lt-source-")
_ROUTING = frozenset({h.RECIPIENTS, h.ROUTED_AT})


@dataclass(frozen=True, slots=True)
class Source:
    """Where the dead-lettered record was read: `topic[partition]@offset`."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """One DLQ record with its reason headers read; missing headers are None, never guessed."""

    envelope: Envelope
    reason: str
    stage: str
    error: str | None
    detail: str | None
    at_ms: int
    event_id: str | None
    event_type: str | None
    sender: str | None
    source: Source | None

    @property
    def partition(self) -> int:
        """Return the DLQ partition."""
        return self.envelope.partition

    @property
    def offset(self) -> int:
        """Return the DLQ offset."""
        return self.envelope.offset

    @property
    def coordinates(self) -> str:
        """Return `dlq-topic[partition]@offset`, the record's identity for replays."""
        return self.envelope.coordinates


def read_dead_letter(envelope: Envelope) -> DeadLetterRecord:
    """Read the reason and source headers of a DLQ record, tolerating any that are missing."""
    text = {name: value.decode("utf-8", "replace") for name, value in envelope.headers}
    at = text.get(h.DLQ_AT, "")
    return DeadLetterRecord(
        envelope=envelope,
        reason=text.get(h.DLQ_REASON) or "unknown",
        stage=text.get(h.DLQ_STAGE) or "unknown",
        error=text.get(h.DLQ_ERROR),
        detail=text.get(h.DLQ_DETAIL),
        at_ms=int(at) if at.isdigit() else envelope.timestamp_ms,
        event_id=text.get(h.EVENT_ID),
        event_type=text.get(h.EVENT_TYPE),
        sender=text.get(h.SENDER),
        source=_source(text),
    )


def _source(text: dict[str, str]) -> Source | None:
    topic = text.get(h.SOURCE_TOPIC)
    partition, offset = text.get(h.SOURCE_PARTITION, ""), text.get(h.SOURCE_OFFSET, "")
    if not topic or not partition.isdigit() or not offset.isdigit():
        return None
    return Source(topic, int(partition), int(offset))


def original_headers(
    headers: Iterable[tuple[str, bytes]], *, keep_routing: bool
) -> tuple[tuple[str, bytes], ...]:
    """Return the headers as the dead-lettering stage read them, in their order.

    The DLQ and source headers go; the routing headers go too unless `keep_routing`: a record
    bound for the router must arrive as a publisher sent it, one bound for a consumer as the
    router delivered it.
    """
    return tuple(
        (name, value)
        for name, value in headers
        if not name.startswith(_ADDED_PREFIXES) and (keep_routing or name not in _ROUTING)
    )


def select(
    records: Iterable[DeadLetterRecord],
    *,
    reasons: Collection[str] = (),
    since_ms: int | None = None,
) -> list[DeadLetterRecord]:
    """Return the records with one of `reasons` (any if empty) dead-lettered at or after since."""
    return [
        r
        for r in records
        if (not reasons or r.reason in reasons) and (since_ms is None or r.at_ms >= since_ms)
    ]


def count_by_reason(records: Iterable[DeadLetterRecord]) -> dict[str, int]:
    """Return how many records each reason has, the most frequent first."""
    counts = Counter(r.reason for r in records)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
