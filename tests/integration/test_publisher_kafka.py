"""The Python client and `lienthong publish --via kafka` against the real broker."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from click.testing import CliRunner
from confluent_kafka import Consumer, TopicPartition
from kafka.partitioner.default import murmur2
from pydantic import SecretStr

from lienthong.cli.publish import publish_command
from lienthong.contract import examples
from lienthong.contract.codec import Codec
from lienthong.contract.events import check_agreement
from lienthong.contract.headers import EventHeaders
from lienthong.contract.jsonform import to_json
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.directory.loader import load_directory
from lienthong.plumbing import kafka_confluent
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import (
    DirectorySettings,
    KafkaSettings,
    ProducerSettings,
    Settings,
    TopicSettings,
)
from lienthong.producer.client import Publisher, PublishResult
from lienthong.producer.errors import BrokerUnavailable
from tests.support.api import EXAMPLE_DIRECTORY, demo_key, served
from tests.support.kafka import create_topics, unique_name

REPO_ROOT = Path(__file__).resolve().parents[2]
CODEC = Codec(SchemaStore.from_package())
PARTITIONS = 6


def expected_partition(key: bytes) -> int:
    """Return the Java client's partition for a key: murmur2, sign bit cleared, modulo."""
    return int(murmur2(key) & 0x7FFFFFFF) % PARTITIONS


def consume(kafka: KafkaSettings, topic: str, count: int, timeout_s: float = 30) -> list[Envelope]:
    """Read `count` committed records from every partition of `topic`, or fail at the deadline."""
    consumer: Consumer = kafka_confluent.make_consumer(kafka, unique_name("publisher-test"))
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    got: list[Envelope] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                got.append(kafka_confluent.envelope_of(message))
    finally:
        consumer.close()
    assert len(got) == count, f"read {len(got)} of {count} records from {topic}"
    return got


def records_on(kafka: KafkaSettings, topic: str) -> int:
    """Return how many records the topic holds (no transactions: the sum of high watermarks)."""
    consumer: Consumer = kafka_confluent.make_consumer(kafka, unique_name("watermarks"))
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum(consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions)
    finally:
        consumer.close()


def sample_events() -> list[tuple[EventType, dict[str, Any]]]:
    """Return documents, reports and statuses with distinct keys and event ids."""
    events: list[tuple[EventType, dict[str, Any]]] = []
    for n in range(8):
        document = examples.document(event_id=uuid4(), number=str(2000 + n))
        events.append((EventType.DOCUMENT, document))
        events.append(
            (
                EventType.STATUS,
                examples.status(event_id=uuid4(), document_id=document["document_id"]),
            )
        )
    events += [(EventType.REPORT, examples.report(event_id=uuid4(), month=m)) for m in range(1, 13)]
    return events


def test_published_events_read_back_the_same_on_their_keys_partitions(
    kafka_admin: KafkaSettings,
) -> None:
    topic = unique_name("publisher")
    create_topics(kafka_admin, topic, partitions=PARTITIONS)
    events = sample_events()
    directory = load_directory(REPO_ROOT / "deploy" / "directory.example.yaml")
    with Publisher(kafka_admin, topic=topic, directory=directory, timeout_s=20) as publisher:
        # One at a time for the first few, pipelined for the rest: both paths write the same.
        results: list[Any] = [publisher.publish(t, to_json(r)) for t, r in events[:4]]
        results += publisher.publish_many((t.value, to_json(r)) for t, r in events[4:])
    assert all(isinstance(r, PublishResult) for r in results), results

    by_id = {str(record["event_id"]): (event_type, record) for event_type, record in events}
    for envelope in consume(kafka_admin, topic, len(events)):
        decoded = CODEC.decode(envelope.value or b"")
        headers = EventHeaders.from_kafka(envelope.headers)
        check_agreement(headers, envelope.key, decoded)
        event_type, record = by_id[headers.event_id]
        assert decoded.event_type is event_type
        assert decoded.record == record
        assert envelope.partition == expected_partition(envelope.key or b"")
        result = results[[str(r["event_id"]) for _, r in events].index(headers.event_id)]
        assert (result.topic, result.partition, result.offset) == (
            topic,
            envelope.partition,
            envelope.offset,
        )


def test_cli_publishes_good_lines_to_kafka_and_reports_bad_ones(
    kafka_admin: KafkaSettings, tmp_path: Path
) -> None:
    topic = unique_name("publish-cli")
    create_topics(kafka_admin, topic, partitions=PARTITIONS)
    good = [to_json(examples.document(event_id=uuid4(), number=str(n))) for n in (1, 2)]
    lines = [
        json.dumps({"type": "document", "event": good[0]}),
        "{not json",
        json.dumps({"type": "document", "event": {**good[1], "subject": 7}}),
        "",
        json.dumps({"type": "document", "event": good[1]}),
        json.dumps(good[0]),  # no type
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**environment(kafka_admin), "LIENTHONG_TOPICS_INBOUND": topic}
    result = CliRunner().invoke(publish_command, ["--via", "kafka", str(path)], env=env)

    assert result.exit_code == 1, result.output
    out = result.stdout.splitlines()
    assert len(out) == 5
    assert out[0].startswith(f"ok    document {good[0]['event_id']} {topic}[")
    assert out[1].startswith("FAIL  ? line 2: 400 /: not JSON")
    assert out[2] == "FAIL  document line 3: 422 /subject: Input should be a valid string"
    assert out[3].startswith(f"ok    document {good[1]['event_id']} {topic}[")
    assert out[4].startswith("FAIL  ? line 6: 400 /: no type")
    assert "2 published, 3 failed (of 5)" in result.stderr

    on_topic = consume(kafka_admin, topic, 2)
    assert {EventHeaders.from_kafka(e.headers).event_id for e in on_topic} == {
        g["event_id"] for g in good
    }


def test_cli_over_http_through_the_real_api_retries_nothing_twice(
    kafka_admin: KafkaSettings, tmp_path: Path
) -> None:
    topic = unique_name("publish-http")
    create_topics(kafka_admin, topic, partitions=PARTITIONS)
    good = [to_json(examples.document(event_id=uuid4(), number=str(n))) for n in (1, 2, 3)]
    empty_subject = {**to_json(examples.document(event_id=uuid4(), number="4")), "subject": " "}
    province = to_json(examples.document(event_id=uuid4(), sender="000.00.00.H41"))
    path = tmp_path / "events.json"
    path.write_text(json.dumps([good[0], empty_subject, good[1], province, good[2]]), "utf-8")
    settings = Settings(
        kafka=kafka_admin,
        topics=TopicSettings(inbound=topic),
        directory=DirectorySettings(path=EXAMPLE_DIRECTORY),
        producer=ProducerSettings(max_batch=2),  # --batch-size 5 is split to fit
    )
    with served(settings) as (url, _):
        env = {"LIENTHONG_CLIENT_URL": url, "LIENTHONG_CLIENT_API_KEY": demo_key("vpcp")}
        args = ["--type", "document", "--batch-size", "5", str(path)]
        first = CliRunner().invoke(publish_command, args, env=env)
        again = CliRunner().invoke(publish_command, args, env=env)

    assert first.exit_code == 1, first.output
    out = first.stdout.splitlines()
    assert [line.split()[0] for line in out] == ["ok", "FAIL", "ok", "FAIL", "ok"]
    assert out[1] == "FAIL  document line 1: 422 /subject: must not be empty"
    assert out[3].startswith("FAIL  document line 1: 403 /from_organ/organ_id: agency")
    # The same file again: the API answers the same event ids with the same positions.
    assert again.stdout == first.stdout
    on_topic = consume(kafka_admin, topic, 3)
    assert sorted(EventHeaders.from_kafka(e.headers).event_id for e in on_topic) == sorted(
        g["event_id"] for g in good
    )
    assert records_on(kafka_admin, topic) == 3  # and nothing else, the second run included


def test_an_unreachable_broker_is_reported_promptly() -> None:
    # Credentials that would do, if anything listened: what fails is reaching the broker.
    settings = KafkaSettings(
        bootstrap="127.0.0.1:1", sasl_username="lt-admin", sasl_password=SecretStr("x")
    )
    started = time.monotonic()
    with Publisher(settings, topic="nowhere", timeout_s=2.0) as publisher:
        with pytest.raises(BrokerUnavailable, match=r"127\.0\.0\.1:1"):
            publisher.publish("status", to_json(examples.status()))
        many = publisher.publish_many([("report", to_json(examples.report()))] * 50)
    assert all(isinstance(r, BrokerUnavailable) for r in many)
    assert time.monotonic() - started < 10  # two bootstrap attempts of 2 s, not 51
