"""consume_batch: full batches under load, no waiting out the window when traffic is light."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge

from lienthong.plumbing.consuming import IDLE_S, Assignment, BatchSource, consume_batch


@dataclass
class Msg:
    partition_: int
    at: int

    def error(self) -> None:
        return None

    def offset(self) -> int:
        return self.at

    def topic(self) -> str:
        return "t"

    def partition(self) -> int:
        return self.partition_


class Script:
    """A consumer whose poll/consume calls return scripted messages and record their timeouts."""

    def __init__(self, *answers: list[Msg], on_call: dict[int, object] | None = None) -> None:
        self.answers = deque(answers)
        self.calls: list[tuple[str, int, float]] = []
        self.on_call = on_call or {}
        self.seeks: list[tuple[int, int]] = []

    def seek(self, partition: TopicPartition) -> None:
        self.seeks.append((partition.partition, partition.offset))

    def _next(self) -> list[Msg]:
        hook = self.on_call.get(len(self.calls))
        if callable(hook):
            hook()
        return self.answers.popleft() if self.answers else []

    def poll(self, timeout: float) -> Msg | None:
        self.calls.append(("poll", 1, timeout))
        got = self._next()
        return got[0] if got else None

    def consume(self, num_messages: int, timeout: float) -> Sequence[Msg]:
        self.calls.append(("consume", num_messages, timeout))
        return self._next()[:num_messages]


def assignment(*partitions: int) -> Assignment:
    registry = CollectorRegistry()
    a = Assignment(
        "g",
        rebalances=Counter("r", "r", ["kind"], registry=registry),
        owned=Gauge("o", "o", registry=registry),
    )
    a.assigned(("t", p) for p in partitions)
    return a


def read(source: Script, max_records: int, window_s: float, owned: Assignment) -> list[Msg]:
    return cast(
        "list[Msg]", consume_batch(cast("BatchSource", source), max_records, window_s, owned)
    )


def msgs(n: int, partition: int = 0, start: int = 0) -> list[Msg]:
    return [Msg(partition, start + i) for i in range(n)]


def test_nothing_to_read_waits_the_window_once() -> None:
    source = Script()
    assert read(source, 500, 0.2, assignment(0)) == []
    assert source.calls == [("poll", 1, 0.2)]


def test_a_lone_record_goes_at_once_instead_of_after_the_window() -> None:
    source = Script(msgs(1))
    batch = read(source, 500, 0.2, assignment(0))
    assert [m.at for m in batch] == [0]
    # One short wait for more, not the 200 ms window.
    assert source.calls == [("poll", 1, 0.2), ("consume", 499, IDLE_S)]


def test_records_that_keep_coming_fill_the_batch_up_to_its_count() -> None:
    source = Script(msgs(1), msgs(300, start=1), msgs(300, start=301), msgs(300, start=601))
    batch = read(source, 500, 10.0, assignment(0))
    assert [m.at for m in batch] == list(range(500))
    assert [c[1] for c in source.calls] == [1, 499, 199]


def test_a_rebalance_while_reading_closes_the_batch_without_the_revoked_partition() -> None:
    owned = assignment(0, 1)
    source = Script(
        msgs(1, partition=1),
        msgs(2, partition=0),
        msgs(5, partition=0, start=2),
        on_call={2: lambda: owned.revoked([("t", 1)])},  # inside the first consume()
    )
    batch = read(source, 500, 10.0, owned)
    assert [(m.partition(), m.at) for m in batch] == [(0, 0), (0, 1)]
    assert len(source.calls) == 2  # closed at the rebalance: records of one assignment only


def test_a_partition_revoked_and_assigned_back_while_reading_is_read_again_once() -> None:
    # Assigned back, it restarts at its committed offset: what was read of it before would be
    # read twice, so it is left out of this batch and the partition rewound to its start.
    owned = assignment(0, 1)

    def bounce() -> None:
        owned.revoked([("t", 1)])
        owned.assigned([("t", 1)])

    source = Script(
        msgs(2, partition=1, start=40),
        msgs(2, partition=0),
        msgs(5, partition=0, start=2),
        on_call={2: bounce},
    )
    batch = read(source, 500, 10.0, owned)
    assert [(m.partition(), m.at) for m in batch] == [(0, 0), (0, 1)]
    assert source.seeks == [(1, 40)]
