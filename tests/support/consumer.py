"""Run consumers against a real broker and store, and feed them delivered records."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from confluent_kafka import Producer
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from lienthong.consumer.bootstrap import ConsumerService, build_consumer
from lienthong.consumer.store.store import Store
from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType
from lienthong.plumbing.kafka_confluent import kafka_headers
from lienthong.plumbing.settings import ConsumerSettings
from tests.support.router import CODEC, Deployment, client_config

ENDPOINT = "tinh-nghe-an"
RECIPIENTS = ("000.00.00.H41", "000.00.02.H41")


def with_store(dep: Deployment, url: str, **consumer: Any) -> Deployment:
    """Return the deployment with its consumers writing to `url`."""
    settings = dep.settings.model_copy(
        update={
            "consumer": ConsumerSettings(
                database_url=SecretStr(url),
                batch_max_records=consumer.pop("batch_max_records", 300),
                retry_max_backoff_s=consumer.pop("retry_max_backoff_s", 2.0),
                outbox_interval_s=0.2,
                metrics_port=0,
                group_prefix=dep.settings.consumer.group_prefix,
                **consumer,
            )
        }
    )
    return Deployment(settings, dep.directory)


def delivered_events(count: int) -> list[tuple[EventType, dict[str, Any]]]:
    """Return a realistic mix for one endpoint: documents (some revoked), reports, statuses."""
    events: list[tuple[EventType, dict[str, Any]]] = []
    for i in range(count):
        kind = i % 10
        if kind < 6:
            events.append((EventType.DOCUMENT, examples.document(event_id=uuid4(), number=str(i))))
        elif kind < 8:
            events.append((EventType.REPORT, examples.report(event_id=uuid4())))
        else:
            events.append((EventType.STATUS, examples.status(event_id=uuid4(), code="05")))
    return events


def deliver(
    dep: Deployment,
    events: Iterable[tuple[EventType, dict[str, Any]]],
    raw: Iterable[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = (),
) -> int:
    """Write records to the endpoint's delivery topic as the router would (recipients header)."""
    topic = dep.delivery_topics()[ENDPOINT]
    producer = Producer(
        {
            **client_config(dep.settings.kafka),
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
            "linger.ms": 5,
        }
    )
    count = 0
    routed = [h.recipients_header(RECIPIENTS), (h.ROUTED_AT, str(int(time.time() * 1000)).encode())]
    for event_type, record in events:
        out = prepare(CODEC, event_type, record)
        producer.produce(topic, out.value, out.key, headers=kafka_headers([*out.headers, *routed]))
        count += 1
        if count % 2000 == 0:
            producer.poll(0)
    for key, value, headers in raw:
        producer.produce(topic, value, key, headers=kafka_headers(headers))
        count += 1
    assert producer.flush(30) == 0
    return count


@contextmanager
def running_consumer(
    dep: Deployment,
    endpoint_id: str | None = ENDPOINT,
) -> Iterator[ConsumerService]:
    """Run the sink and the outbox relay in threads of this process until the block ends."""
    service = build_consumer(
        dep.settings, dep.directory, endpoint_id=endpoint_id, registry=CollectorRegistry()
    )
    stop = threading.Event()
    errors: list[BaseException] = []

    def guarded(target: Callable[[threading.Event], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target(stop)
            except BaseException as exc:  # noqa: BLE001 - surfaced to the test below
                errors.append(exc)

        return run

    threads = [
        threading.Thread(target=guarded(service.sink.run), daemon=True),
        threading.Thread(target=guarded(service.relay.run), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield service
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        service.store.close()
    assert not any(t.is_alive() for t in threads), "consumer did not stop"
    assert not errors, errors


def start_consumer_process(
    dep: Deployment, log: Path, endpoint_id: str = ENDPOINT
) -> subprocess.Popen[bytes]:
    """Start `lienthong consumer run` as its own process (for SIGKILL tests)."""
    env = dep.env("unused")
    env["LIENTHONG_CONSUMER_DATABASE_URL"] = dep.settings.consumer.database_url.get_secret_value()
    env["LIENTHONG_CONSUMER_METRICS_PORT"] = "0"
    env["LIENTHONG_CONSUMER_BATCH_MAX_RECORDS"] = str(dep.settings.consumer.batch_max_records)
    env["LIENTHONG_CONSUMER_OUTBOX_INTERVAL_S"] = "0.2"
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "lienthong", "consumer", "run", "--endpoint", endpoint_id],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def wait_for_events(url: str, expected: int, timeout_s: float = 120) -> dict[str, int]:
    """Poll the store until it holds `expected` events (or time runs out); return its counts."""
    deadline = time.monotonic() + timeout_s
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        try:
            with Store.open(url, migrate=False) as store:
                counts = store.counts()
        except Exception:  # noqa: BLE001 - the database may be down on purpose, or not made yet
            counts = {}
        if counts.get("lt_events", 0) >= expected:
            return counts
        time.sleep(0.5)
    return counts
