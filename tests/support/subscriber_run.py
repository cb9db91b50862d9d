"""Run Subscribers against the test broker and look at what they committed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kafka import KafkaConsumer, TopicPartition

from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_python import common_config
from lienthong.plumbing.settings import KafkaSettings
from lienthong.subscriber import Subscriber


def wait_for(condition: Callable[[], bool], timeout_s: float = 60, what: str = "condition") -> None:
    """Poll `condition` until it holds, failing the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextmanager
def running(sub: Subscriber) -> Iterator[Subscriber]:
    """Run a subscriber's handlers in a thread until the block ends."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sub.run()
        except BaseException as exc:  # noqa: BLE001 - surfaced to the test below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield sub
    finally:
        sub.stop()
        thread.join(timeout=60)
    assert not thread.is_alive(), "subscriber did not stop"
    assert not errors, errors


def committed_offsets(kafka: KafkaSettings, topic: str, group: str) -> dict[int, int | None]:
    """Return a group's committed offset of partitions 0 and 1 of `topic`."""
    consumer = KafkaConsumer(**common_config(kafka), group_id=group, enable_auto_commit=False)
    try:
        return {p: consumer.committed(TopicPartition(topic, p)) for p in (0, 1)}
    finally:
        consumer.close(autocommit=False)


def ends(envelopes: list[Envelope]) -> dict[int, int]:
    """Return the offset just past each partition's last record."""
    out: dict[int, int] = {}
    for e in envelopes:
        out[e.partition] = max(out.get(e.partition, 0), e.offset + 1)
    return out
