"""Run routers against a real broker and read what they delivered."""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client import CollectorRegistry

from lienthong.contract.codec import Codec
from lienthong.contract.headers import EventHeaders
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.directory.loader import load_directory
from lienthong.directory.model import Directory
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_confluent import common_config, envelope_of, make_admin
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import (
    ConsumerSettings,
    DirectorySettings,
    KafkaSettings,
    RouterSettings,
    Settings,
    TopicSettings,
)
from lienthong.plumbing.topics import apply_topics, plan_topics
from lienthong.router.bootstrap import RouterService, build_router
from tests.support.api import EXAMPLE_DIRECTORY
from tests.support.environ import inherited_env
from tests.support.kafka import unique_name

CODEC = Codec(SchemaStore.from_package())


@dataclass(frozen=True)
class Deployment:
    """A set of uniquely named topics and a router group on the test broker."""

    settings: Settings
    directory: Directory

    @property
    def bootstrap(self) -> str:
        """Return the broker's bootstrap servers."""
        return self.settings.kafka.bootstrap

    @property
    def kafka(self) -> KafkaSettings:
        """Return the client settings (the tests' super user) of this deployment."""
        return self.settings.kafka

    def delivery_topics(self) -> dict[str, str]:
        """Return endpoint id -> delivery topic."""
        prefix = self.settings.topics.delivery_prefix
        return {e.id: e.delivery_topic(prefix) for e in self.directory.endpoints.values()}

    def env(self, instance_id: str) -> dict[str, str]:
        """Return the environment that makes `lienthong router run` use this deployment.

        Nothing but this deployment's settings: the caller's own LIENTHONG_* variables go.
        """
        s = self.settings
        return {
            **inherited_env(),
            **environment(s.kafka),
            "LIENTHONG_TOPICS_INBOUND": s.topics.inbound,
            "LIENTHONG_TOPICS_DLQ": s.topics.dlq,
            "LIENTHONG_TOPICS_DELIVERY_PREFIX": s.topics.delivery_prefix,
            "LIENTHONG_DIRECTORY_PATH": str(s.directory.path),
            "LIENTHONG_ROUTER_GROUP_ID": s.router.group_id,
            "LIENTHONG_CONSUMER_GROUP_PREFIX": s.consumer.group_prefix,
            "LIENTHONG_ROUTER_INSTANCE_ID": instance_id,
            "LIENTHONG_ROUTER_METRICS_PORT": "0",
            "LIENTHONG_ROUTER_BATCH_MAX_RECORDS": str(s.router.batch_max_records),
            "LIENTHONG_ROUTER_TRANSACTION_TIMEOUT_MS": str(s.router.transaction_timeout_ms),
            "LIENTHONG_ROUTER_DIRECTORY_CHECK_INTERVAL_S": str(s.router.directory_check_interval_s),
            "LIENTHONG_LOG_FORMAT": "json",
        }


def deploy(
    kafka: KafkaSettings, *, batch_max_records: int = 200, inbound_partitions: int = 4
) -> Deployment:
    """Create unique inbound, DLQ and delivery topics for (a private copy of) the example directory.

    The copy re-points the example's one absolute topic override under this deployment's prefix,
    so no two tests share a topic. It lives under one temp directory per session, removed when
    the session's process exits.
    """
    prefix = unique_name("lt")
    path = _directory_home() / prefix / "directory.yaml"
    path.parent.mkdir()
    text = EXAMPLE_DIRECTORY.read_text(encoding="utf-8")
    path.write_text(
        text.replace("topic: lienthong.deliver.", f"topic: {prefix}.deliver."), encoding="utf-8"
    )
    directory = load_directory(path)
    settings = Settings(
        kafka=kafka,
        topics=TopicSettings(
            inbound=f"{prefix}.inbound",
            dlq=f"{prefix}.dlq",
            delivery_prefix=f"{prefix}.deliver.",
            inbound_partitions=inbound_partitions,
            delivery_partitions=2,
        ),
        directory=DirectorySettings(path=path),
        # A group of its own per deployment, as for the router: consumers are static members,
        # and one test's member must never be handed another test's partitions.
        consumer=ConsumerSettings(group_prefix=f"{prefix}-consumer"),
        router=RouterSettings(
            group_id=f"{prefix}-router",
            batch_max_records=batch_max_records,
            directory_check_interval_s=0.5,
            transaction_timeout_ms=20_000,
        ),
    )
    specs = plan_topics(settings.topics, directory.endpoints.values())
    apply_topics(make_admin(settings.kafka), specs)
    return Deployment(settings, directory)


@functools.cache
def _directory_home() -> Path:
    """Return the session's parent of the directory copies: made once, removed at exit."""
    home = Path(tempfile.mkdtemp(prefix="lienthong-directories-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    return home


@contextmanager
def running_router(dep: Deployment, instance_id: str = "r0") -> Iterator[RouterService]:
    """Run a router in a thread of this process until the block ends."""
    settings = dep.settings.model_copy(
        update={"router": dep.settings.router.model_copy(update={"instance_id": instance_id})}
    )
    service = build_router(settings, registry=CollectorRegistry())
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            service.loop.run(stop)
        except BaseException as exc:  # noqa: BLE001 - surfaced to the test below
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"router-{instance_id}", daemon=True)
    thread.start()
    try:
        yield service
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive(), "router did not stop"
    assert not errors, errors


def start_router_process(dep: Deployment, instance_id: str, log: Path) -> subprocess.Popen[bytes]:
    """Start `lienthong router run` as its own process (for SIGKILL tests)."""
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "lienthong", "router", "run"],
        env=dep.env(instance_id),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def publish(
    kafka: KafkaSettings, topic: str, events: Iterable[tuple[EventType, dict[str, Any]]]
) -> int:
    """Publish events the way the producer does (encoded, with contract headers)."""
    producer = Producer(
        {
            **client_config(kafka),
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
            "linger.ms": 5,
        }
    )
    count = 0
    for event_type, record in events:
        out = prepare(CODEC, event_type, record)
        producer.produce(topic, out.value, out.key, headers=list(out.headers))
        count += 1
        if count % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    return count


def publish_raw(
    kafka: KafkaSettings,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
) -> int:
    """Publish raw (key, value, headers) records, for bad input."""
    producer = Producer({**client_config(kafka), "partitioner": "murmur2_random"})
    count = 0
    for key, value, headers in records:
        producer.produce(topic, value, key, headers=headers)  # type: ignore[arg-type]
        count += 1
    assert producer.flush(30) == 0
    return count


def read_committed(
    kafka: KafkaSettings,
    topics: Sequence[str],
    expected: int,
    timeout_s: float = 90,
    settle_s: float = 2.0,
) -> list[Envelope]:
    """Read every committed record of `topics` from the start until `expected` (then settle)."""
    consumer = Consumer(
        {
            **client_config(kafka),
            "group.id": unique_name("reader"),
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    metadata = consumer.list_topics(timeout=10)
    consumer.assign(
        [TopicPartition(t, p, 0) for t in topics for p in metadata.topics[t].partitions]
    )
    got: list[Envelope] = []
    deadline = time.monotonic() + timeout_s
    settled_at: float | None = None
    try:
        while time.monotonic() < deadline:
            got.extend(envelope_of(m) for m in consumer.consume(1000, 0.5) if m.error() is None)
            if len(got) >= expected:
                settled_at = settled_at or time.monotonic() + settle_s
                if time.monotonic() >= settled_at:
                    break
    finally:
        consumer.close()
    return got


def client_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Return a plain librdkafka client's connection and security settings (no statistics)."""
    return dict(common_config(kafka, statistics=False))


def event_ids(envelopes: Iterable[Envelope]) -> Counter[str]:
    """Count event ids (from the contract headers)."""
    return Counter(EventHeaders.from_kafka(e.headers).event_id for e in envelopes)
