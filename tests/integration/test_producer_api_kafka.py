"""The ingestion API served over real HTTP, writing to a real Kafka broker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from kafka import TopicPartition

from lienthong.contract import examples
from lienthong.contract.codec import Codec
from lienthong.contract.events import check_agreement
from lienthong.contract.headers import EventHeaders
from lienthong.contract.jsonform import to_json
from lienthong.contract.schemas import SchemaStore
from lienthong.plumbing import kafka_python
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.settings import (
    DirectorySettings,
    KafkaSettings,
    ProducerSettings,
    Settings,
    TopicSettings,
)
from tests.support.api import EXAMPLE_DIRECTORY, auth, served
from tests.support.kafka import LocalKafka, create_topics, unique_name

CODEC = Codec(SchemaStore.from_package())
VPCP = auth("vpcp")
PARTITIONS = 3


def _settings(kafka: KafkaSettings, topic: str, **producer: Any) -> Settings:
    return Settings(
        kafka=kafka,
        topics=TopicSettings(inbound=topic),
        directory=DirectorySettings(path=EXAMPLE_DIRECTORY),
        producer=ProducerSettings(max_body_bytes=32 * 1024, **producer),
    )


def _document(**changes: Any) -> dict[str, Any]:
    return {**to_json(examples.document(event_id=uuid4())), **changes}


def _read_all(
    kafka: KafkaSettings, topic: str, expected: int, wait_s: float = 15
) -> list[Envelope]:
    """Read the topic from the start with a plain kafka-python consumer until quiet."""
    consumer = kafka_python.make_consumer(kafka, None)
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    consumer.seek_to_beginning()
    got: list[Envelope] = []
    deadline = time.monotonic() + wait_s
    quiet_until = 0.0
    try:
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=300)
            for records in batch.values():
                got.extend(kafka_python.envelope_of(r) for r in records)
            if len(got) >= expected:  # keep reading briefly: more than expected is a failure
                quiet_until = quiet_until or time.monotonic() + 1.0
                if time.monotonic() > quiet_until:
                    break
    finally:
        consumer.close()
    return got


@pytest.fixture
def api(kafka_admin: KafkaSettings) -> Iterator[tuple[str, str]]:
    topic = unique_name("inbound")
    create_topics(kafka_admin, [topic], partitions=PARTITIONS)
    with served(_settings(kafka_admin, topic)) as (url, _):
        yield url, topic


def test_published_document_is_what_a_plain_consumer_decodes(
    api: tuple[str, str], kafka_admin: KafkaSettings
) -> None:
    url, topic = api
    body = _document()
    response = httpx.post(f"{url}/v1/documents", json=body, headers=VPCP, timeout=20)
    assert response.status_code == 202, response.text
    answer = response.json()

    [record] = _read_all(kafka_admin, topic, 1)
    assert (record.partition, record.offset) == (answer["partition"], answer["offset"])
    decoded = CODEC.decode(record.value or b"")
    assert to_json(decoded.record) == body
    check_agreement(EventHeaders.from_kafka(record.headers), record.key, decoded)


def test_every_error_status_with_its_body(api: tuple[str, str], kafka_admin: KafkaSettings) -> None:
    url, topic = api
    post = f"{url}/v1/documents"
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"json": _document(), "headers": {"Content-Type": "application/json"}}, 401, "API key"),
        ({"json": _document(), "headers": auth("tinh-nghe-an")}, 403, "not served by"),
        ({"content": b"<doc/>", "headers": {**VPCP, "Content-Type": "text/xml"}}, 415, "text/xml"),
        ({"json": _document(content_summary="x" * 40_000), "headers": VPCP}, 413, "over the"),
        ({"content": b"{", "headers": VPCP}, 400, "not valid JSON"),
        ({"json": _document(recipients=["nowhere"]), "headers": VPCP}, 422, "invalid event"),
    ]
    for kwargs, status, says in cases:
        response = httpx.post(post, timeout=20, **kwargs)
        assert response.status_code == status, (status, response.text)
        assert response.json()["status"] == status
        assert says in response.json()["title"]
    body = _document()
    assert httpx.post(post, json=body, headers=VPCP, timeout=20).status_code == 202
    conflict = httpx.post(post, json={**body, "subject": "x"}, headers=VPCP, timeout=20)
    assert conflict.status_code == 409
    assert len(_read_all(kafka_admin, topic, 1)) == 1  # only the one accepted


def test_idempotent_retry_and_mixed_batch_publish_each_event_once(
    api: tuple[str, str], kafka_admin: KafkaSettings
) -> None:
    url, topic = api
    body = _document()
    first = httpx.post(f"{url}/v1/documents", json=body, headers=VPCP, timeout=20)
    again = httpx.post(f"{url}/v1/documents", json=body, headers=VPCP, timeout=20)
    assert first.json() == again.json()
    good = [_document() for _ in range(3)]
    bad = _document(due_date="2020-01-01")
    batch = httpx.post(
        f"{url}/v1/documents:batch",
        json={"events": [good[0], bad, good[1], body, good[2]]},
        headers=VPCP,
        timeout=20,
    )
    assert batch.status_code == 200
    assert [r["status"] for r in batch.json()["results"]] == [202, 422, 202, 202, 202]
    records = _read_all(kafka_admin, topic, 4)
    ids = sorted(EventHeaders.from_kafka(r.headers).event_id for r in records)
    assert ids == sorted([body["event_id"], *(g["event_id"] for g in good)])


def test_broker_outage_is_503_then_recovers_without_restart(tmp_path_factory: Any) -> None:
    broker = LocalKafka(home=tmp_path_factory.mktemp("outage-kafka"))
    broker.start()
    try:
        topic = unique_name("inbound")
        admin = broker.admin_settings()
        create_topics(admin, [topic], partitions=PARTITIONS)
        settings = _settings(admin, topic, publish_timeout_ms=3000, readiness_interval_s=1.0)
        with served(settings) as (url, _):
            post = f"{url}/v1/documents"
            accepted = [_document()]
            assert httpx.post(post, json=accepted[0], headers=VPCP, timeout=20).status_code == 202

            broker.stop()
            refused = _document()
            response = httpx.post(post, json=refused, headers=VPCP, timeout=20)
            assert response.status_code == 503, response.text
            assert int(response.headers["Retry-After"]) >= 1
            assert httpx.get(f"{url}/readyz", timeout=5).status_code == 503

            broker.start()
            deadline = time.monotonic() + 60
            recovered = _document()
            while True:
                response = httpx.post(post, json=recovered, headers=VPCP, timeout=20)
                if response.status_code == 202 or time.monotonic() > deadline:
                    break
                assert response.status_code == 503
                time.sleep(0.5)
            assert response.status_code == 202, response.text
            accepted.append(recovered)
            assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200

        records = _read_all(admin, topic, len(accepted))
        ids = sorted(EventHeaders.from_kafka(r.headers).event_id for r in records)
        # The 503 event was never published: nothing half-published behind the caller's back.
        assert ids == sorted(a["event_id"] for a in accepted)
    finally:
        broker.stop()
