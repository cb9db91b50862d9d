"""Kafka helpers for the tests: unique names, topics; the broker itself is lienthong.devtools."""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from confluent_kafka.admin import AdminClient, NewTopic

from lienthong.devtools.kafka import (
    KAFKA_SH,
    REPO_ROOT,
    STATUS_NOT_RUNNING,
    KafkaScriptError,
    LocalKafka,
    parse_fields,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "KAFKA_SH",
    "REPO_ROOT",
    "STATUS_NOT_RUNNING",
    "KafkaScriptError",
    "LocalKafka",
    "create_topics",
    "parse_fields",
    "unique_name",
    "wait_for_topics",
]

_TOPIC_CHARS = re.compile(r"[A-Za-z0-9._-]+")


def unique_name(prefix: str = "test") -> str:
    """Return a topic or group name unique to this call, e.g. `orders-1f3a9c0e2b7d`."""
    if not _TOPIC_CHARS.fullmatch(prefix):
        raise ValueError(f"a topic name may only hold letters, digits, '.', '_', '-': {prefix!r}")
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_topics(
    bootstrap: str,
    names: str | Iterable[str],
    partitions: int = 1,
    *,
    replication_factor: int = 1,
    config: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create topics and wait until every partition has a leader; return their names.

    Raises the broker's error (a KafkaException) if one cannot be created, e.g. because it
    exists, and TimeoutError if the partitions have no leader by the deadline.
    """
    topics = [names] if isinstance(names, str) else list(names)
    if not topics:
        return topics
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new_topics = [
        NewTopic(
            topic,
            num_partitions=partitions,
            replication_factor=replication_factor,
            config=dict(config or {}),
        )
        for topic in topics
    ]
    futures = admin.create_topics(new_topics, operation_timeout=timeout, request_timeout=timeout)
    for future in futures.values():
        future.result(timeout=timeout)
    wait_for_topics(admin, topics, partitions, timeout=timeout)
    return topics


def wait_for_topics(
    admin: Any,  # confluent_kafka's AdminClient ships no type information
    topics: list[str],
    partitions: int,
    *,
    timeout: float = 30.0,
) -> None:
    """Wait until the broker's metadata shows every topic with all partitions led."""
    deadline = time.monotonic() + timeout
    missing = list(topics)
    while True:
        metadata = admin.list_topics(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
        missing = [topic for topic in topics if not _led(metadata, topic, partitions)]
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"topics without a leader after {timeout} s: {missing}")
        time.sleep(0.05)


def _led(metadata: Any, topic: str, partitions: int) -> bool:
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or len(found.partitions) < partitions:
        return False
    return all(p.leader >= 0 and p.error is None for p in found.partitions.values())
