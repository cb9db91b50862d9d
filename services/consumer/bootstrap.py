"""Composition root of the consumer: Kafka consumer, store, outbox relay, metrics."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from lienthong.consumer.mapping import Receipts
from lienthong.consumer.metrics import ConsumerMetrics
from lienthong.consumer.relay import OutboxRelay
from lienthong.consumer.sink import SinkLoop
from lienthong.consumer.store.errors import StoreError, translated
from lienthong.consumer.store.store import Store
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
from lienthong.directory.model import Directory
from lienthong.plumbing.health import OK, Check, Health, MaintenanceFlag
from lienthong.plumbing.kafka_confluent import make_admin, make_consumer, make_producer
from lienthong.plumbing.lag import LagMonitor, offsets_reader
from lienthong.plumbing.probes import CachedCheck, topic_probe
from lienthong.plumbing.settings import ConsumerSettings, Settings

ARCHIVE = "archive"


@dataclass(frozen=True, slots=True)
class ConsumerService:
    """The sink loop and the relay that share one store; the caller runs and closes them."""

    name: str
    topics: tuple[str, ...]
    instance_id: str  # the consumer's group.instance.id
    sink: SinkLoop
    relay: OutboxRelay
    store: Store
    registry: CollectorRegistry
    health: Health


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
        served = frozenset(directory.agencies_at(endpoint_id))

        def serves(code: str) -> bool:
            # An agency this directory does not know yet may be one the router's newer
            # directory added (the consumer reads its directory at start): only an agency it
            # knows to be served by another endpoint is foreign.
            return code in served or code not in names

        receipts = Receipts(settings.topics.inbound, lambda code: names.get(code, code), serves)
    registry = registry or CollectorRegistry()
    metrics = ConsumerMetrics(registry)
    store = Store.open(config.database_url.get_secret_value())
    relay = OutboxRelay(
        store=store,
        producer=producer_factory(
            settings.kafka,
            client_id=f"{config.group_prefix}-{name}-outbox",
            stats_cb=metrics.kafka.callback("outbox"),
        ),
        metrics=metrics,
        batch=config.outbox_batch,
        interval_s=config.outbox_interval_s,
    )
    group = f"{config.group_prefix}-{name}"
    member = instance_id(settings, group, topics)

    def new_consumer() -> Consumer:
        return consumer_factory(
            settings.kafka,
            group,
            client_id=f"{config.group_prefix}-{name}",
            stats_cb=metrics.kafka.callback("consumer"),
            **{
                "group.instance.id": member,
                "on_commit": metrics.on_kafka_commit,
                "session.timeout.ms": config.session_timeout_ms,
            },
        )

    lag = LagMonitor(
        metrics.lag,
        topics=topics,
        committed=lambda partitions: store.offsets(name, partitions),
        # Its own consumer, never subscribed: it only reads the ends of the partitions.
        connect=offsets_reader(
            lambda: consumer_factory(settings.kafka, group, client_id=f"{group}-lag")
        ),
        interval_s=config.lag_interval_s,
    )
    sink = SinkLoop(
        consumer=new_consumer(),
        new_consumer=new_consumer,
        store=store,
        codec=Codec(SchemaStore.from_package()),
        name=name,
        group=group,
        topics=topics,
        dlq_topic=settings.topics.dlq,
        receipts=receipts,
        batch_max_records=config.batch_max_records,
        batch_max_ms=config.batch_max_ms,
        max_backoff_s=config.retry_max_backoff_s,
        metrics=metrics,
        on_committed=relay.wake,
        lag=lag,
    )
    probed = topics[0] if topics else settings.topics.inbound
    broker = topic_probe(lambda: make_admin(settings.kafka), probed)
    health = _health(config, sink, relay, store, broker)
    health.register_metrics("consumer", registry)
    return ConsumerService(name, topics, member, sink, relay, store, registry, health)


def instance_id(settings: Settings, group: str, topics: tuple[str, ...]) -> str:
    """Return this process's static group membership id: group, instance id, topics' digest.

    The digest matters: a static member that rejoins is handed its previous assignment, so a
    consumer restarted on other topics (a renamed delivery topic) under the same id would be
    given partitions it never subscribed to. A new topic set is a new member instead.
    """
    instance = settings.consumer.instance_id or socket.gethostname()
    digest = hashlib.sha256("\n".join(sorted(topics)).encode()).hexdigest()[:8]
    return f"{group}-{instance}-{digest}"


def _health(
    config: ConsumerSettings, sink: SinkLoop, relay: OutboxRelay, store: Store, broker: Check
) -> Health:
    """Liveness: both threads make progress. Readiness: broker, group, directory, database."""
    limit = config.liveness_timeout_s
    ping = CachedCheck(lambda: _ping(store), config.readiness_interval_s)

    def database() -> str:
        if sink.paused:
            return "unreachable: consumption paused, retrying (lienthong_consumer_paused)"
        return ping()

    return Health(
        liveness={
            "sink": sink.heartbeat.check("the sink loop", limit),
            "outbox": relay.heartbeat.check("the outbox relay", limit),
        },
        readiness={
            "broker": CachedCheck(broker, config.readiness_interval_s),
            "group": sink.assignment.check,
            "directory": lambda: OK,  # loaded before the build; the consumer needs it only then
            "database": database,
        },
        maintenance=MaintenanceFlag(config.maintenance_file),
    )


def _ping(store: Store) -> str:
    """Run `SELECT 1`: "ok", or why the database cannot be reached."""
    try:
        with translated("check the database"), store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except StoreError as exc:
        return f"unreachable: {exc}"
    return OK
