"""Subscribers sharing a consumer group on a real broker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

from lienthong.contract import examples
from lienthong.contract.schemas import EventType
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.settings import KafkaSettings
from lienthong.subscriber import Event, Subscriber
from tests.support.kafka import create_topics, unique_name
from tests.support.router import publish
from tests.support.subscriber_run import running, wait_for


def _appender(into: list[Envelope]) -> Callable[[Event[Any]], None]:
    return lambda event: into.append(event.envelope)


def test_two_subscribers_in_one_group_split_the_partitions(kafka_admin: KafkaSettings) -> None:
    topic = create_topics(kafka_admin, unique_name("split"), partitions=2)[0]
    group, kafka = unique_name("g"), kafka_admin
    got: dict[str, list[Envelope]] = {"a": [], "b": []}
    subs = {name: Subscriber(topic, group, kafka=kafka) for name in got}
    for name, sub in subs.items():
        sub.on(EventType.DOCUMENT)(_appender(got[name]))
    with running(subs["a"]):
        wait_for(lambda: len(subs["a"].assignment()) == 2, what="a to own both partitions")
        with running(subs["b"]):
            wait_for(
                lambda: len(subs["a"].assignment()) == len(subs["b"].assignment()) == 1,
                what="the group to split the partitions",
            )
            owned = {name: sub.assignment() for name, sub in subs.items()}
            docs = [
                (EventType.DOCUMENT, examples.document(event_id=uuid4(), number=str(n)))
                for n in range(40)
            ]
            publish(kafka_admin, topic, docs)
            wait_for(lambda: len(got["a"]) + len(got["b"]) >= len(docs), what="every event")
    assert owned["a"] | owned["b"] == {(topic, 0), (topic, 1)}
    for name, envelopes in got.items():
        assert envelopes, f"{name} received nothing"
        assert {(e.topic, e.partition) for e in envelopes} == owned[name]
    assert len(got["a"]) + len(got["b"]) == len(docs)
