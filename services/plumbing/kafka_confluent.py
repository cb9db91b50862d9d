"""confluent-kafka (librdkafka) configuration and adapters for the services."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast

from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient

from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_security import librdkafka_config
from lienthong.plumbing.settings import KafkaSettings

Config = dict[str, str | int | float | bool]

# The largest record any of our producers writes (librdkafka's default, set explicitly). What
# the API accepts must still fit once the router adds its routing headers: RECORD_LIMIT.
MESSAGE_MAX_BYTES = 1_000_000
RECORD_LIMIT = MESSAGE_MAX_BYTES - 64 * 1024


def record_size(
    value: bytes | None, key: bytes | None, headers: Iterable[tuple[str, bytes]]
) -> int:
    """Return the bytes a record takes against the message size limit (near enough)."""
    return len(value or b"") + len(key or b"") + sum(len(k) + len(v) for k, v in headers)


# librdkafka's own log lines go through the stdlib logger, so structlog renders them like ours
# (delivered from the client's poll/flush calls) instead of raw lines on stderr.
LIBRDKAFKA_LOGGER = logging.getLogger("librdkafka")


def common_config(
    kafka: KafkaSettings, *, client_id: str | None = None, statistics: bool = True
) -> Config:
    """Return the connection settings every client shares.

    `statistics=False` for a plain client with no stats callback (tools, tests, benchmarks).
    """
    config: Config = {
        "bootstrap.servers": kafka.bootstrap,
        "client.id": client_id or kafka.client_id,
        # librdkafka backs off reconnects up to 10 s; the Java client's default is 1 s. A broker
        # back from a restart is then used within a second, not ten (docs/reliability.md).
        "reconnect.backoff.max.ms": 1000,
        **librdkafka_config(kafka),
    }
    if statistics and kafka.statistics_interval_ms:
        config["statistics.interval.ms"] = kafka.statistics_interval_ms
    return config


def producer_config(
    kafka: KafkaSettings, *, transactional_id: str | None = None, client_id: str | None = None
) -> Config:
    """Return an idempotent, acks=all producer config with the Java-compatible partitioner."""
    config = common_config(kafka, client_id=client_id)
    config.update(
        {
            "enable.idempotence": True,
            "acks": "all",
            # The same partition for a key as the Java client and kafka-python pick.
            "partitioner": "murmur2_random",
            "linger.ms": kafka.linger_ms,
            "compression.type": kafka.compression,
            "delivery.timeout.ms": kafka.delivery_timeout_ms,
            "request.timeout.ms": kafka.request_timeout_ms,
            "batch.num.messages": 10_000,
            "message.max.bytes": MESSAGE_MAX_BYTES,
        }
    )
    if transactional_id is not None:
        config["transactional.id"] = transactional_id
    return config


def consumer_config(kafka: KafkaSettings, group_id: str, *, client_id: str | None = None) -> Config:
    """Return a read_committed consumer config that never commits on its own."""
    config = common_config(kafka, client_id=client_id)
    config.update(
        {
            "group.id": group_id,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
        }
    )
    return config


def make_producer(
    kafka: KafkaSettings,
    *,
    transactional_id: str | None = None,
    client_id: str | None = None,
    **overrides: Any,
) -> Producer:
    """Build a producer (librdkafka connects in the background; nothing blocks here)."""
    config = producer_config(kafka, transactional_id=transactional_id, client_id=client_id)
    return Producer({**config, "logger": LIBRDKAFKA_LOGGER, **overrides})


def make_consumer(
    kafka: KafkaSettings, group_id: str, *, client_id: str | None = None, **overrides: Any
) -> Consumer:
    """Build a consumer in `group_id`; `overrides` are librdkafka properties."""
    config = consumer_config(kafka, group_id, client_id=client_id)
    return Consumer({**config, "logger": LIBRDKAFKA_LOGGER, **overrides})


def make_admin(kafka: KafkaSettings) -> AdminClient:
    """Build an admin client."""
    config: dict[str, Any] = {**common_config(kafka), "logger": LIBRDKAFKA_LOGGER}
    return AdminClient(config)


def envelope_of(message: Message) -> Envelope:
    """Convert a consumed confluent-kafka message (without error) to an Envelope."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError(f"not a consumed record: {message.error()}")
    _, timestamp = message.timestamp()
    headers = message.headers() or ()
    # A consumed message's headers are a list of pairs; the dict form exists only for producing.
    pairs = tuple(headers.items() if isinstance(headers, dict) else headers)
    if not all(type(v) is bytes for _, v in pairs):  # the usual case needs no copy per header
        pairs = tuple((k, _as_bytes(v)) for k, v in pairs)
    return Envelope(
        topic=topic,
        partition=partition,
        offset=offset,
        key=message.key(),
        value=message.value(),
        headers=cast("tuple[tuple[str, bytes], ...]", pairs),
        timestamp_ms=timestamp,
    )


def kafka_headers(pairs: Iterable[tuple[str, bytes]]) -> list[tuple[str, str | bytes | None]]:
    """Return header pairs in the type confluent-kafka's produce() declares (no copy of a list)."""
    if isinstance(pairs, list):
        return cast("list[tuple[str, str | bytes | None]]", pairs)
    return list(pairs)


def _as_bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else value
