"""`dlq replay` as a handler: fence, read the replay log, plan, publish in one transaction.

The order is what makes a second replay publish nothing, even a concurrent one: every replay
uses the same transactional id, so fencing first aborts a replay still in flight (its markers
and copies vanish together) or waits for one that is committing (its markers become visible);
only then is the log read, so what it says is replayed is everything that was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from lienthong.operations.deadletters import DeadLetterRecord
from lienthong.operations.errors import NotFound
from lienthong.operations.replay_log import Marker, ReplayLog, ReplayPlan, Republish, plan_replay


class DeadLetters(Protocol):
    """The DLQ topic, read from the beginning to the end offsets of the moment of reading."""

    def snapshot(self) -> Sequence[DeadLetterRecord]:
        """Return every committed DLQ record, in partition and offset order."""
        ...


class ReplayLogTopic(Protocol):
    """The compacted topic of replay markers."""

    def markers(self) -> Sequence[Marker]:
        """Return every committed marker (creating the topic, empty, if it is missing)."""
        ...


class ReplayPublisher(Protocol):
    """A transactional producer shared by every replay of this DLQ."""

    def fence(self) -> None:
        """Claim the replay transactional id: abort or finish any replay still in flight."""
        ...

    def publish(self, copies: Sequence[Republish], markers: Sequence[Marker]) -> None:
        """Publish copies and markers in one transaction, or raise with nothing visible."""
        ...


@dataclass(frozen=True, slots=True)
class Selection:
    """Which DLQ records to replay: by reason, by (partition, offset), or all of them."""

    reasons: frozenset[str] = frozenset()
    offsets: frozenset[tuple[int, int]] = frozenset()

    def matches(self, record: DeadLetterRecord) -> bool:
        """Return whether `record` is selected (an empty selection selects everything)."""
        if self.offsets and (record.partition, record.offset) not in self.offsets:
            return False
        return not self.reasons or record.reason in self.reasons


def replay_dead_letters(
    selection: Selection,
    *,
    dead_letters: DeadLetters,
    replay_log: ReplayLogTopic,
    publisher: ReplayPublisher,
    inbound: str,
    endpoint_of: Callable[[str], str | None],
    dry_run: bool = False,
    clock: Callable[[], float] = time.time,
) -> ReplayPlan:
    """Publish the selected DLQ records again, each once across all replays; return the plan."""
    if not dry_run:
        # A dry run must not fence: it would abort a real replay running meanwhile.
        publisher.fence()
    log = ReplayLog(replay_log.markers())
    records = dead_letters.snapshot()
    _check_offsets(selection.offsets, records)
    chosen = [r for r in records if selection.matches(r)]
    plan = plan_replay(chosen, log, inbound=inbound, endpoint_of=endpoint_of)
    if plan.republish and not dry_run:
        now_ms = int(clock() * 1000)
        publisher.publish(plan.republish, [item.marker(now_ms) for item in plan.republish])
    return plan


def _check_offsets(
    wanted: Collection[tuple[int, int]], records: Sequence[DeadLetterRecord]
) -> None:
    """Refuse the whole replay if an asked-for offset is not a DLQ record: a typo, not a skip."""
    present = {(r.partition, r.offset) for r in records}
    missing = sorted(set(wanted) - present)
    if missing:
        shown = ", ".join(f"{p}:{o}" for p, o in missing)
        raise NotFound(f"no DLQ record at partition:offset {shown}; nothing was replayed")
