"""The record of DLQ replays, and the plan of what one replay publishes. Pure.

Each replayed DLQ record leaves a marker keyed by its coordinates (`dlq[partition]@offset`)
on a compacted topic; a tombstone for that key (written by hand) lets the record be replayed
again. A record is "already replayed" if its own marker exists, or if a marker
names the same source coordinates: the consumer's outbox may dead-letter one record twice
(a crash between publishing and marking sent), and the archive and the endpoint's consumer
may both dead-letter the same delivered record; one replay to the source covers them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from lienthong.contract.headers import REDELIVER_TO
from lienthong.operations.deadletters import (
    CONSUMER_STAGE,
    ROUTER_STAGE,
    DeadLetterRecord,
    original_headers,
)
from lienthong.operations.when import format_ms


@dataclass(frozen=True, slots=True)
class Marker:
    """What was replayed, where to and when; the value of one record of the replay log."""

    dlq: str
    source: str | None
    target: str
    event_id: str | None
    reason: str
    replayed_at_ms: int

    def key(self) -> bytes:
        """Return the log record's key, the DLQ coordinates (compaction keeps one per record)."""
        return self.dlq.encode()

    def value(self) -> bytes:
        """Return the log record's value, JSON an operator can read with any Kafka tool."""
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def parse(cls, value: bytes | None) -> Marker | None:
        """Read a log record's value; None for a tombstone or anything without a DLQ record.

        Fields this version does not know are ignored and missing ones defaulted: a marker
        from a newer or older replay still says its record was replayed.
        """
        try:
            data = json.loads(value or b"")
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("dlq"), str):
            return None
        at = data.get("replayed_at_ms")
        return cls(
            dlq=data["dlq"],
            source=_text_or_none(data.get("source")),
            target=str(data.get("target") or "?"),
            event_id=_text_or_none(data.get("event_id")),
            reason=str(data.get("reason") or "unknown"),
            replayed_at_ms=at if isinstance(at, int) else -1,
        )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


class ReplayLog:
    """The markers read from the log, indexed by DLQ and by source coordinates."""

    def __init__(self, markers: Iterable[Marker] = ()) -> None:
        self._by_dlq: dict[str, Marker] = {}
        self._by_source: dict[str, Marker] = {}
        for marker in markers:
            self.add(marker)

    def add(self, marker: Marker) -> None:
        """Remember a marker (later ones win, as compaction keeps the latest)."""
        self._by_dlq[marker.dlq] = marker
        if marker.source is not None:
            self._by_source[marker.source] = marker

    def replayed(self, record: DeadLetterRecord) -> Marker | None:
        """Return the marker covering `record`, by its own coordinates or by its source."""
        found = self._by_dlq.get(record.coordinates)
        if found is None and record.source is not None:
            found = self._by_source.get(str(record.source))
        return found

    def __len__(self) -> int:
        return len(self._by_dlq)


@dataclass(frozen=True, slots=True)
class Republish:
    """One DLQ record to publish again: its original key, value and headers, and where to."""

    record: DeadLetterRecord
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def marker(self, now_ms: int) -> Marker:
        """Return the marker recording this replay."""
        record = self.record
        source = str(record.source) if record.source is not None else None
        return Marker(
            record.coordinates, source, self.topic, record.event_id, record.reason, now_ms
        )


@dataclass(frozen=True, slots=True)
class Skipped:
    """A selected DLQ record this replay leaves alone, and why."""

    record: DeadLetterRecord
    why: str


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """What one replay publishes and what it skips."""

    republish: tuple[Republish, ...]
    skipped: tuple[Skipped, ...]


def plan_replay(
    records: Iterable[DeadLetterRecord],
    log: ReplayLog,
    *,
    inbound: str,
    endpoint_of: Callable[[str], str | None],
) -> ReplayPlan:
    """Decide, for each selected record in DLQ order, whether and where it is published again.

    Everything goes back to `inbound`, where the router checks it again: only the router
    writes delivery topics. Router dead letters are routed afresh. A consumer dead letter
    carries lt-redeliver-to, the endpoint of the delivery topic it was read from (by
    `endpoint_of`), so the router delivers that endpoint's copy only, not one to every
    endpoint of the event again.
    """
    republish: list[Republish] = []
    skipped: list[Skipped] = []
    planned = ReplayLog()
    for record in records:
        why = _why_not(record, log, planned, endpoint_of)
        if why is not None:
            skipped.append(Skipped(record, why))
            continue
        env = record.envelope
        headers = original_headers(env.headers, keep_routing=False)
        if record.stage != ROUTER_STAGE:
            assert record.source is not None  # _why_not refuses a consumer record without one
            endpoint = endpoint_of(record.source.topic)
            assert endpoint is not None  # _why_not refuses one from no delivery topic
            headers = (*headers, (REDELIVER_TO, endpoint.encode()))
        item = Republish(record, inbound, env.key, env.value or b"", headers)
        republish.append(item)
        planned.add(item.marker(0))
    return ReplayPlan(tuple(republish), tuple(skipped))


def _why_not(
    record: DeadLetterRecord,
    log: ReplayLog,
    planned: ReplayLog,
    endpoint_of: Callable[[str], str | None],
) -> str | None:
    done = log.replayed(record)
    if done is not None:
        when = format_ms(done.replayed_at_ms)
        return f"already replayed ({done.dlq} to {done.target} at {when} UTC)"
    twin = planned.replayed(record)
    if twin is not None:
        return f"same source as {twin.dlq}, replayed with it"
    if not record.envelope.value:
        return "empty value: nothing to publish again"
    return _no_target(record, endpoint_of)


def _no_target(record: DeadLetterRecord, endpoint_of: Callable[[str], str | None]) -> str | None:
    """Return why the record has nowhere to go back to, or None."""
    if record.stage == ROUTER_STAGE:
        return None
    if record.stage != CONSUMER_STAGE:
        return f"stage {record.stage!r}: only router and consumer dead letters are replayed"
    if record.source is None:
        return "consumer dead letter without lt-source-* headers: its delivery topic is unknown"
    if endpoint_of(record.source.topic) is None:
        return f"source {record.source.topic} is not a delivery topic of this deployment"
    return None
