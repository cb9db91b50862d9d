"""Re-deliver an endpoint's records from a point in time: copy them onto its delivery topic.

The consumer reads from the offsets stored in its database, not Kafka's, so there are two ways
to make it read a stretch of its topic again:

* rewrite its offsets in `lt_offsets` back to the offsets of the time. That needs the database
  (credentials, its dialect) and a stopped consumer, since a running one keeps its position
  and would overwrite the rewrite with its next batch;
* copy the records from those offsets to today's end back onto the same topic, each to its
  own partition, in transactions, read with read_committed. The running consumer reads the
  copies as new records and its idempotency by event id keeps each event once.

Copying is what this does: it works online, with any store, without touching the database,
and the archive consumer (`consumer run --all`) gets the copies too and ignores them alike.
Its cost is topic space (the copies stay for the topic's retention) and the copies arrive
after records published since; per-document order among the copies is the original one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from lienthong.contract import headers as h
from lienthong.operations.kafka_read import TopicReader
from lienthong.operations.transactions import TransactionalWriter, Write
from lienthong.plumbing.envelope import Envelope

# Records per transaction: large enough to amortise the commit, small enough that a copy of
# millions does not hold one transaction open past its timeout.
CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class PartitionRedelivery:
    """What was (or, on a dry run, would be) copied from one partition, and what was left out."""

    partition: int
    first: int
    end: int
    copied: int
    after_until: int = 0
    repeated: int = 0


@dataclass
class Tally:
    """Per partition: records copied, left out after --until, left out as repeated events."""

    copied: Counter[int] = field(default_factory=Counter)
    late: Counter[int] = field(default_factory=Counter)
    repeated: Counter[int] = field(default_factory=Counter)


def plan_ranges(starts: Mapping[int, int], ends: Mapping[int, int]) -> dict[int, tuple[int, int]]:
    """Return per partition the [first, end) offsets to copy; no record since: an empty range."""
    ranges: dict[int, tuple[int, int]] = {}
    for partition, end in sorted(ends.items()):
        start = starts.get(partition, -1)
        # offsets_for_times answers -1 when no record is that recent: nothing to copy.
        first = end if start < 0 else min(start, end)
        ranges[partition] = (first, end)
    return ranges


def redeliver(
    reader: TopicReader,
    writer: TransactionalWriter | None,
    topic: str,
    *,
    since_ms: int,
    until_ms: int | None,
) -> list[PartitionRedelivery]:
    """Copy `topic`'s records stamped from `since_ms` (to `until_ms`) onto it; None: dry run."""
    if writer is not None:
        writer.fence()
    ends = {p: reader.watermarks(topic, p)[1] for p in reader.partitions(topic)}
    ranges = plan_ranges(reader.offsets_for_time(topic, since_ms), ends)
    starts = {p: first for p, (first, _) in ranges.items()}
    tally = Tally()
    chunk: list[Write] = []
    for env in select_copies(reader.snapshot(topic, starts, ends), until_ms, tally):
        chunk.append(Write(topic, env.key, env.value, env.headers, partition=env.partition))
        if len(chunk) >= CHUNK:
            _flush(writer, chunk)
    _flush(writer, chunk)
    return [
        PartitionRedelivery(p, first, end, tally.copied[p], tally.late[p], tally.repeated[p])
        for p, (first, end) in ranges.items()
    ]


def select_copies(
    envelopes: Iterable[Envelope], until_ms: int | None, tally: Tally | None = None
) -> Iterator[Envelope]:
    """Yield the records to copy: stamped up to `until_ms`, one per event id, counting the rest."""
    counts = tally or Tally()
    seen: set[bytes] = set()
    for env in envelopes:
        # Timestamps need not grow with offsets (producers' clocks differ), so a record past
        # `until` does not end the partition: later ones may still be inside the window.
        if until_ms is not None and env.timestamp_ms > until_ms:
            counts.late[env.partition] += 1
            continue
        # A window may hold an event twice (a copy from an earlier replay): one copy per run
        # is enough, and keeps repeated replays from multiplying the topic.
        event_id = next((value for name, value in env.headers if name == h.EVENT_ID), None)
        if event_id is not None and event_id in seen:
            counts.repeated[env.partition] += 1
            continue
        if event_id is not None:
            seen.add(event_id)
        counts.copied[env.partition] += 1
        yield env


def _flush(writer: TransactionalWriter | None, chunk: list[Write]) -> None:
    if chunk and writer is not None:
        writer.commit(chunk)
    chunk.clear()
