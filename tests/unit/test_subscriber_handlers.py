"""The Subscriber in handler mode, on fakes: commit after the handler, retries, dead letters."""

from __future__ import annotations

import os
import signal
from typing import Any
from uuid import uuid4

import pytest

from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.schemas import EventType
from lienthong.contract.typed import Document, Status
from lienthong.subscriber import HANDLER_FAILED, CommitPolicy, Event, RetryPolicy, SubscriberError
from tests.support.subscriber_fakes import (
    TOPIC,
    FakeConsumer,
    FakeDeadLetters,
    delivered,
    fake_subscriber,
    header,
)

P0 = (TOPIC, 0)


def _documents(count: int, start: int = 0) -> list[Any]:
    return [
        delivered(EventType.DOCUMENT, examples.document(event_id=uuid4(), number=str(n)), n)
        for n in range(start, start + count)
    ]


def test_an_offset_is_committed_only_after_its_handler_returned() -> None:
    consumer = FakeConsumer([_documents(3), _documents(3, start=3)])
    sub = fake_subscriber(consumer, commit=CommitPolicy(every=2, interval_s=3600))
    seen: list[tuple[int, dict[tuple[str, int], int]]] = []

    @sub.on(EventType.DOCUMENT)
    def handle(event: Event[Document]) -> None:
        seen.append((event.envelope.offset, consumer.committed()))

    sub.run()
    assert [offset for offset, _ in seen] == list(range(6))
    for offset, committed in seen:  # never ahead of a running handler
        assert committed.get(P0, 0) <= offset
    assert [c[P0] for c in consumer.commits] == [2, 4, 6]  # every 2 events, then on stop
    assert consumer.closed


def test_events_without_a_handler_pass_and_are_committed() -> None:
    status = delivered(EventType.STATUS, examples.status(event_id=uuid4()), 2)
    consumer = FakeConsumer([[*_documents(2), status]])
    sub = fake_subscriber(consumer)
    statuses: list[Event[Status]] = []
    sub.on(EventType.STATUS)(statuses.append)
    sub.run()
    assert [e.record.status_code for e in statuses] == ["03"]
    assert consumer.committed() == {P0: 3}


def test_a_failing_handler_is_retried_and_then_succeeds() -> None:
    consumer = FakeConsumer([_documents(1)])
    dead = FakeDeadLetters()
    sub = fake_subscriber(consumer, dead)
    calls: list[int] = []

    @sub.on(EventType.DOCUMENT)
    def flaky(event: Event[Document]) -> None:
        calls.append(event.envelope.offset)
        if len(calls) < 3:
            raise ConnectionError("workflow engine busy")

    sub.run()
    assert calls == [0, 0, 0]  # the first try and max_retries=2 retries
    assert dead.sent == []
    assert consumer.committed() == {P0: 1}


def test_a_handler_that_keeps_failing_is_dead_lettered_and_later_events_arrive() -> None:
    events = _documents(3)
    consumer = FakeConsumer([events])
    dead = FakeDeadLetters()
    sub = fake_subscriber(consumer, dead)
    calls: list[int] = []

    @sub.on(EventType.DOCUMENT)
    def handle(event: Event[Document]) -> None:
        calls.append(event.envelope.offset)
        if event.envelope.offset == 1:
            raise ValueError("cannot file this one")

    sub.run()
    assert calls == [0, 1, 1, 1, 2]
    [letter] = dead.sent
    assert letter.topic == "lienthong.dlq.mof-workflow"
    assert (letter.key, letter.value) == (events[1].key, events[1].value)
    assert header(letter, h.DLQ_REASON) == HANDLER_FAILED
    assert header(letter, h.DLQ_STAGE) == "subscriber"
    assert header(letter, h.DLQ_ERROR) == "ValueError"
    assert header(letter, h.DLQ_DETAIL) == "cannot file this one"
    assert header(letter, h.SOURCE_OFFSET) == "1"
    assert list(letter.headers[: len(events[1].headers)]) == list(events[1].headers)
    assert consumer.committed() == {P0: 3}
    assert dead.closed


def test_a_dead_letter_the_broker_refuses_is_retried_before_the_offset_moves() -> None:
    consumer = FakeConsumer([_documents(1)])
    dead = FakeDeadLetters(failures=2)
    sub = fake_subscriber(consumer, dead)
    commits_at_send: list[int] = []
    original = dead.send

    def send(letter: Any) -> None:
        commits_at_send.append(len(consumer.commits))
        original(letter)

    dead.send = send  # type: ignore[method-assign]
    sub.on(EventType.DOCUMENT)(lambda _: 1 / 0)
    sub.run()
    assert len(dead.sent) == 1
    assert commits_at_send == [0, 0, 0]
    assert consumer.committed() == {P0: 1}


def test_an_unknown_fingerprint_is_dead_lettered_with_its_reason() -> None:
    bad = delivered(EventType.DOCUMENT, examples.document(), 0)
    value = (bad.value or b"")[:2] + b"\x00" * 8 + (bad.value or b"")[10:]
    unknown = type(bad)(TOPIC, 0, 0, bad.key, value, bad.headers, 0)
    consumer = FakeConsumer([[unknown, *_documents(1, start=1)]])
    dead = FakeDeadLetters()
    sub = fake_subscriber(consumer, dead)
    handled: list[int] = []
    sub.on(EventType.DOCUMENT)(lambda e: handled.append(e.envelope.offset))
    sub.run()
    assert handled == [1]
    assert [header(d, h.DLQ_REASON) for d in dead.sent] == ["unknown-fingerprint"]
    assert header(dead.sent[0], h.DLQ_ERROR) == "UnknownFingerprint"
    assert consumer.committed() == {P0: 2}


def test_stopping_during_a_retry_leaves_the_event_uncommitted() -> None:
    consumer = FakeConsumer([_documents(2)])
    sub = fake_subscriber(consumer, retry=RetryPolicy(max_retries=5, initial_backoff_s=30))
    calls: list[int] = []

    @sub.on(EventType.DOCUMENT)
    def handle(event: Event[Document]) -> None:
        calls.append(event.envelope.offset)
        if event.envelope.offset == 1:
            sub.stop()
            raise RuntimeError("down")

    sub.run()  # returns at once: the 30 s backoff is cut short by stop()
    assert calls == [0, 1]
    assert consumer.committed() == {P0: 1}  # the failed event is read again after a restart


def test_sigterm_stops_the_run_and_commits_what_is_done() -> None:
    consumer = FakeConsumer([_documents(2), _documents(2, start=2)])
    consumer.when_dry = lambda: None  # only the signal stops it
    sub = fake_subscriber(consumer)
    sub.on(EventType.DOCUMENT)(
        lambda e: os.kill(os.getpid(), signal.SIGTERM) if e.envelope.offset == 1 else None
    )
    previous = signal.getsignal(signal.SIGTERM)
    sub.stop_on_signals()
    sub.run()
    assert consumer.committed() == {P0: 2}
    assert signal.getsignal(signal.SIGTERM) is previous


def test_without_a_group_nothing_is_committed_and_failures_are_skipped() -> None:
    consumer = FakeConsumer([_documents(2)])
    dead = FakeDeadLetters()
    sub = fake_subscriber(consumer, dead, group_id=None)
    sub.on(EventType.DOCUMENT)(lambda _: 1 / 0)
    sub.run()
    assert consumer.commits == []
    assert dead.sent == []
    assert sub.dead_letter_topic is None


def test_a_second_handler_for_one_type_and_a_run_without_handlers_are_refused() -> None:
    sub = fake_subscriber(FakeConsumer([]))
    with pytest.raises(SubscriberError, match="no handler"):
        sub.run()
    sub = fake_subscriber(FakeConsumer([]))
    sub.on(EventType.REPORT)(print)
    with pytest.raises(SubscriberError, match="already registered"):
        sub.on(EventType.REPORT)(print)


@pytest.mark.parametrize(("attempt", "low", "high"), [(0, 0.25, 0.5), (3, 2.0, 4.0), (9, 5, 10)])
def test_retry_backoff_doubles_with_jitter_up_to_its_cap(
    attempt: int, low: float, high: float
) -> None:
    policy = RetryPolicy(initial_backoff_s=0.5, max_backoff_s=10)
    assert policy.delay(attempt, lambda: 0.0) == low
    assert policy.delay(attempt, lambda: 1.0) == high
