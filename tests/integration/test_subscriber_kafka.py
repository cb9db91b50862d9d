"""The Subscriber on a real broker, reading what the real router delivered."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.schemas import EventType
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import KafkaSettings
from lienthong.subscriber import HANDLER_FAILED, Event, RetryPolicy, Subscriber
from tests.support.kafka import REPO_ROOT, create_topics, unique_name
from tests.support.router import deploy, event_ids, publish, read_committed, running_router
from tests.support.subscriber_run import committed_offsets, ends, running, wait_for

ENDPOINT = "tinh-nghe-an"
NGHE_AN = "000.00.00.H41"


@dataclass(frozen=True)
class Stream:
    """What the router delivered to one endpoint's topic, in the order it wrote it."""

    kafka: KafkaSettings
    topic: str
    delivered: list[Envelope]

    @property
    def ids(self) -> Counter[str]:
        """Count the delivered event ids."""
        return event_ids(self.delivered)


def _events() -> list[tuple[EventType, dict[str, Any]]]:
    """Directives to all provinces and their revocations; statuses on Nghe An's own documents."""
    events: list[tuple[EventType, dict[str, Any]]] = []
    for n in range(40):
        doc = examples.document(event_id=uuid4(), number=str(n), recipients=("all-provinces",))
        events.append((EventType.DOCUMENT, doc))
        own = examples.document(event_id=uuid4(), number=f"{n}-NA", sender=NGHE_AN)
        own["recipients"] = ["000.00.00.G22"]
        events.append((EventType.DOCUMENT, own))
        events.append(  # the Government Office answers: routed back to Nghe An
            (
                EventType.STATUS,
                examples.status(
                    event_id=uuid4(),
                    document_id=own["document_id"],
                    document_sender=NGHE_AN,
                    sender="000.00.00.G22",
                ),
            )
        )
        if n % 4 == 0:
            revoke = {**doc, "event_id": uuid4()}
            revoke["business"] = {**doc["business"], "action": "REVOKE", "reason": "nhầm"}
            events.append((EventType.DOCUMENT, revoke))
    return events


@pytest.fixture(scope="module")
def stream(kafka_admin: KafkaSettings) -> Stream:
    dep = deploy(kafka_admin)
    topic = dep.delivery_topics()[ENDPOINT]
    publish(kafka_admin, dep.settings.topics.inbound, _events())
    expected = 40 + 40 + 10  # directives, statuses, revocations
    with running_router(dep):
        delivered = read_committed(kafka_admin, [topic], expected, settle_s=0.5)
    assert len(delivered) == expected
    return Stream(kafka_admin, topic, delivered)


def _subscriber(stream: Stream, group: str, **kwargs: Any) -> Subscriber:
    return Subscriber(stream.topic, group, kafka=stream.kafka, **kwargs)


def _per_key(ids_and_keys: list[tuple[bytes | None, str]]) -> dict[bytes | None, list[str]]:
    out: dict[bytes | None, list[str]] = defaultdict(list)
    for key, event_id in ids_and_keys:
        out[key].append(event_id)
    return out


def test_a_subscriber_receives_what_the_router_delivered_in_order_per_key(stream: Stream) -> None:
    group = unique_name("g")
    got: list[Event[Any]] = []
    with _subscriber(stream, group) as sub:
        for event in sub:
            got.append(event)
            if len(got) == len(stream.delivered):
                break  # the last event's body is left unfinished on purpose
    coordinates = sorted((e.envelope.partition, e.envelope.offset, e.envelope.value) for e in got)
    assert coordinates == sorted((e.partition, e.offset, e.value) for e in stream.delivered)
    sent = _per_key(
        [(e.key, h.EventHeaders.from_kafka(e.headers).event_id) for e in stream.delivered]
    )
    assert _per_key([(e.envelope.key, e.event_id) for e in got]) == sent
    assert Counter(e.event_type for e in got) == {EventType.DOCUMENT: 50, EventType.STATUS: 40}
    assert all(e.recipients == (NGHE_AN,) and e.routed_at_ms for e in got)
    assert all(str(e.record.event_id) == e.event_id for e in got)

    # Everything but the unfinished event was committed on close: a restart reads only that one.
    again: list[str] = []
    with _subscriber(stream, group) as sub:
        sub.on(EventType.DOCUMENT)(lambda e: again.append(e.event_id))
        sub.on(EventType.STATUS)(lambda e: again.append(e.event_id))
        with running(sub):
            wait_for(lambda: len(again) >= 1, what="the unfinished event")
            time.sleep(1.0)
    assert again == [got[-1].event_id]


def test_a_failing_handler_is_retried_then_dead_lettered_and_later_events_arrive(
    stream: Stream,
) -> None:
    group = unique_name("g")
    dlq = create_topics(stream.kafka, f"lienthong.dlq.{group}")[0]
    victim = stream.delivered[5]
    victim_id = h.EventHeaders.from_kafka(victim.headers).event_id
    attempts: Counter[str] = Counter()
    handled: list[str] = []

    def handle(event: Event[Any]) -> None:
        attempts[event.event_id] += 1
        if event.event_id == victim_id:
            raise RuntimeError("the workflow engine refused it")
        handled.append(event.event_id)

    retry = RetryPolicy(max_retries=2, initial_backoff_s=0.05, max_backoff_s=0.1)
    sub = _subscriber(stream, group, retry=retry)
    for event_type in EventType:
        sub.on(event_type)(handle)
    with running(sub):
        wait_for(lambda: len(handled) == len(stream.delivered) - 1, what="every other event")
    assert attempts[victim_id] == 3
    assert Counter(handled) + Counter([victim_id]) == stream.ids
    [letter] = read_committed(stream.kafka, [dlq], 1, settle_s=0.5)
    said = dict(letter.headers)
    assert (letter.key, letter.value) == (victim.key, victim.value)
    assert said[h.DLQ_REASON] == HANDLER_FAILED.encode()
    assert said[h.DLQ_STAGE] == b"subscriber"
    assert said[h.SOURCE_OFFSET] == str(victim.offset).encode()
    # The graceful stop committed everything, the dead-lettered event included.
    assert committed_offsets(stream.kafka, stream.topic, group) == ends(stream.delivered)


def _handled(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line]


def _start(
    stream: Stream, group: str, out: Path, delay_ms: int, log: Path
) -> subprocess.Popen[bytes]:
    args = [stream.kafka.bootstrap, stream.topic, group, str(out), str(delay_ms)]
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.subscriber_proc", *args],
            cwd=REPO_ROOT,
            env={**os.environ, **environment(stream.kafka)},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def test_a_subscriber_killed_mid_stream_loses_nothing_after_a_restart(
    stream: Stream, tmp_path: Path
) -> None:
    group, out, log = unique_name("g"), tmp_path / "handled.txt", tmp_path / "subscriber.log"
    first = _start(stream, group, out, 25, log)
    try:
        wait_for(lambda: len(_handled(out)) >= 30, what="30 handled events")
    finally:
        first.kill()
        first.wait(timeout=30)
    before_restart = len(_handled(out))
    assert before_restart < len(stream.delivered), "the kill did not land mid-stream"
    second = _start(stream, group, out, 0, log)
    try:
        wait_for(lambda: set(_handled(out)) >= set(stream.ids), what="every event", timeout_s=90)
    finally:
        second.terminate()
        assert second.wait(timeout=30) == 0, log.read_text(encoding="utf-8")
    seen = Counter(_handled(out))
    assert set(seen) == set(stream.ids)  # none missing; a few handled twice is at-least-once
    assert sum(seen.values()) >= len(stream.delivered)
    assert committed_offsets(stream.kafka, stream.topic, group) == ends(stream.delivered)
