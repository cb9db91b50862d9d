"""Where the broker stored a published record: what a 202 answer reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delivered:
    """Where the broker acknowledged a record."""

    topic: str
    partition: int
    offset: int
