"""Composition root of the consumer: Kafka consumer, store, outbox relay, metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer
from prometheus_client import CollectorRegistry

from lienthong.consumer.mapping import Receipts
from lienthong.consumer.metrics import ConsumerMetrics
from lienthong.consumer.relay import OutboxRelay
from lienthong.consumer.sink import SinkLoop
from lienthong.consumer.store.store import Store
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
from lienthong.directory.model import Directory
from lienthong.plumbing.kafka_confluent import make_consumer, make_producer
from lienthong.plumbing.settings import Settings

ARCHIVE = "archive"


@dataclass(frozen=True, slots=True)
class ConsumerService:
    """The sink loop and the relay that share one store; the caller runs and closes them."""

    name: str
    topics: tuple[str, ...]
    sink: SinkLoop
    relay: OutboxRelay
    store: Store
    registry: CollectorRegistry


def build_consumer(
    settings: Settings,
    directory: Directory,
    *,
    endpoint_id: str | None,
    registry: CollectorRegistry | None = None,
    consumer_factory: Callable[..., Consumer] = make_consumer,
    producer_factory: Callable[..., Producer] = make_producer,
) -> ConsumerService:
    """Build a consumer for one endpoint, or for every delivery topic (`endpoint_id=None`)."""
    config = settings.consumer
    prefix = settings.topics.delivery_prefix
    if endpoint_id is None:  # an archive reads everything and answers nothing
        name = ARCHIVE
        topics = tuple(sorted(e.delivery_topic(prefix) for e in directory.endpoints.values()))
        receipts = None
    else:
        name = endpoint_id
        topics = (directory.endpoint(endpoint_id).delivery_topic(prefix),)
        names = {code: agency.name for code, agency in directory.agencies.items()}
        receipts = Receipts(settings.topics.inbound, lambda code: names.get(code, code))
    registry = registry or CollectorRegistry()
    metrics = ConsumerMetrics(registry)
    store = Store.open(config.database_url.get_secret_value())
    relay = OutboxRelay(
        store=store,
        producer=producer_factory(settings.kafka, client_id=f"{config.group_prefix}-{name}-outbox"),
        metrics=metrics,
        batch=config.outbox_batch,
        interval_s=config.outbox_interval_s,
    )
    sink = SinkLoop(
        consumer=consumer_factory(
            settings.kafka,
            f"{config.group_prefix}-{name}",
            client_id=f"{config.group_prefix}-{name}",
        ),
        store=store,
        codec=Codec(SchemaStore.from_package()),
        name=name,
        topics=topics,
        dlq_topic=settings.topics.dlq,
        receipts=receipts,
        batch_max_records=config.batch_max_records,
        batch_max_ms=config.batch_max_ms,
        max_backoff_s=config.retry_max_backoff_s,
        metrics=metrics,
        on_committed=relay.wake,
    )
    return ConsumerService(name, topics, sink, relay, store, registry)
