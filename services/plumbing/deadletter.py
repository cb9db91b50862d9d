"""The dead-letter record: the original key, value and headers, plus why and from where."""

from __future__ import annotations

from dataclasses import dataclass

from lienthong.contract import headers as h
from lienthong.plumbing.envelope import Envelope

DETAIL_MAX = 1000


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record bound for the dead-letter topic."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def dead_letter(
    envelope: Envelope,
    *,
    topic: str,
    reason: str,
    error: str,
    detail: str,
    stage: str,
    at_ms: int,
) -> DeadLetter:
    """Return the DLQ copy of `envelope`; its original headers come first, unchanged."""
    headers = list(envelope.headers)
    headers += [
        (h.DLQ_REASON, reason.encode()),
        (h.DLQ_ERROR, error.encode()),
        (h.DLQ_DETAIL, detail[:DETAIL_MAX].encode()),
        (h.DLQ_STAGE, stage.encode()),
        (h.DLQ_AT, str(at_ms).encode()),
        (h.SOURCE_TOPIC, envelope.topic.encode()),
        (h.SOURCE_PARTITION, str(envelope.partition).encode()),
        (h.SOURCE_OFFSET, str(envelope.offset).encode()),
    ]
    return DeadLetter(topic, envelope.key, envelope.value or b"", headers)
