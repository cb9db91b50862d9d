"""Which offsets a subscriber commits, and when: past finished events only, per partition."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import structlog

from lienthong.plumbing.envelope import Envelope
from lienthong.subscriber.events import CommitFailed

log = structlog.get_logger("lienthong.subscriber")

Partition = tuple[str, int]
"""A (topic, partition) pair."""
CommitFn = Callable[[Mapping[Partition, int]], None]


@dataclass(frozen=True, slots=True)
class CommitPolicy:
    """When finished offsets are committed: after this many events or this long, and on stop."""

    every: int = 100
    interval_s: float = 1.0


class Offsets:
    """The next offset to commit per partition, advanced only past events that are finished.

    A subscriber finishes the events of a partition in order, so the next offset is simply the
    last finished one plus one.
    """

    def __init__(self) -> None:
        self._done: dict[Partition, int] = {}
        self._committed: dict[Partition, int] = {}
        self._since = 0

    @property
    def since_commit(self) -> int:
        """Return how many events finished since the last commit."""
        return self._since

    def finish(self, envelope: Envelope) -> None:
        """Record that the event at `envelope` is done (handled, skipped or dead-lettered)."""
        self._done[(envelope.topic, envelope.partition)] = envelope.offset + 1
        self._since += 1

    def pending(self, partitions: Iterable[Partition] | None = None) -> dict[Partition, int]:
        """Return the offsets to commit (of `partitions`, or all) that are not committed yet."""
        chosen = self._done.keys() if partitions is None else set(partitions) & self._done.keys()
        return {p: self._done[p] for p in chosen if self._committed.get(p) != self._done[p]}

    def committed(self, offsets: dict[Partition, int]) -> None:
        """Record a successful commit of `offsets`."""
        self._committed.update(offsets)
        if not self.pending():
            self._since = 0

    def forget(self, partitions: Iterable[Partition]) -> None:
        """Drop partitions this subscriber no longer owns."""
        for p in partitions:
            self._done.pop(p, None)
            self._committed.pop(p, None)
        if not self.pending():
            self._since = 0

    def next_offsets(self) -> dict[Partition, int]:
        """Return the next offset per partition this subscriber finished events on."""
        return dict(self._done)


class Committer:
    """Commit finished offsets synchronously when the policy says so, on stop and on revocation."""

    def __init__(self, policy: CommitPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.offsets = Offsets()
        self._policy = policy
        self._clock = clock
        self._last = clock()

    def due(self) -> bool:
        """Tell whether enough events finished, or enough time passed, to commit now."""
        return (
            self.offsets.since_commit >= self._policy.every
            or self._clock() - self._last >= self._policy.interval_s
        )

    def commit(self, commit: CommitFn, partitions: Iterable[Partition] | None = None) -> None:
        """Commit what is finished (of `partitions`, or all) and not committed yet."""
        self._last = self._clock()
        offsets = self.offsets.pending(partitions)
        if not offsets:
            return
        try:
            commit(offsets)
        except CommitFailed as exc:
            # Rebalanced: the new owner reads these events again (at least once). Otherwise
            # they stay pending and the next commit carries them.
            log.warning("subscriber_commit_failed", error=str(exc), rebalanced=exc.rebalanced)
            if exc.rebalanced:
                self.offsets.forget(offsets)
            return
        self.offsets.committed(offsets)
