"""kafka-python configuration and adapters for the pure-Python agency client."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord

from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_security import kafka_python_config
from lienthong.plumbing.settings import KafkaSettings


def common_config(kafka: KafkaSettings, *, client_id: str | None = None) -> dict[str, Any]:
    """Return the connection settings both kafka-python clients share."""
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap.split(","),
        "client_id": client_id or kafka.client_id,
        **kafka_python_config(kafka),
    }
    return config


def producer_config(kafka: KafkaSettings, *, client_id: str | None = None) -> dict[str, Any]:
    """Return an idempotent, acks=all config; kafka-python's default partitioner is murmur2."""
    config = common_config(kafka, client_id=client_id)
    config.update(
        {
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": kafka.linger_ms,
            "compression_type": None if kafka.compression == "none" else kafka.compression,
            "delivery_timeout_ms": kafka.delivery_timeout_ms,
            "request_timeout_ms": kafka.request_timeout_ms,
        }
    )
    return config


def consumer_config(
    kafka: KafkaSettings, group_id: str | None, *, client_id: str | None = None
) -> dict[str, Any]:
    """Return a read_committed consumer config that commits only when told to."""
    config = common_config(kafka, client_id=client_id)
    config.update(
        {
            "group_id": group_id,
            "isolation_level": "read_committed",
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
        }
    )
    return config


def make_producer(
    kafka: KafkaSettings, *, client_id: str | None = None, **overrides: Any
) -> KafkaProducer:
    """Build a kafka-python producer (it connects to the bootstrap servers here)."""
    return KafkaProducer(**{**producer_config(kafka, client_id=client_id), **overrides})


def make_consumer(
    kafka: KafkaSettings, group_id: str | None, *, client_id: str | None = None, **overrides: Any
) -> KafkaConsumer:
    """Build a kafka-python consumer, not yet subscribed; `overrides` are kafka-python options."""
    return KafkaConsumer(**{**consumer_config(kafka, group_id, client_id=client_id), **overrides})


def envelope_of(record: ConsumerRecord) -> Envelope:
    """Convert a kafka-python ConsumerRecord to an Envelope."""
    return Envelope(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple((k, v or b"") for k, v in (record.headers or ())),
        timestamp_ms=record.timestamp,
    )
