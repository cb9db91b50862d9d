"""The record type both Kafka adapters return, so the core never sees a client's own types."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Envelope:
    """One Kafka record as consumed: coordinates, key, value and headers."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int

    @property
    def coordinates(self) -> str:
        """Return `topic[partition]@offset`, the form logs and DLQ details use."""
        return f"{self.topic}[{self.partition}]@{self.offset}"
