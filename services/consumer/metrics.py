"""The consumer's Prometheus metrics, on an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from lienthong.plumbing.build_info import register_build_info
from lienthong.plumbing.kafka_stats import KafkaStats

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_EVENT_TYPES = ("document", "report", "status")
# What the store refuses (consumer/mapping.py) and what cannot be decoded; started at 0 so that
# `increase()` counts a reason's first dead letters.
DLQ_REASONS = (
    "empty-value",
    "not-routed",
    "foreign-recipient",
    "invalid-business",
    "foreign-document",
    "invalid-report",
    "invalid-status",
    "bad-magic",
    "unknown-fingerprint",
    "corrupt-body",
    "incompatible-schema",
)


class ConsumerMetrics:
    """Events persisted, database and end-to-end latency, lag, outbox, retries, librdkafka."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "lienthong_consumer_events_total",
            "Delivered events handled, by the endpoint this consumer persists for ('archive' for"
            " --all), type ('unknown' when unreadable) and outcome (persisted, duplicate,"
            " dead_lettered).",
            ["endpoint", "event_type", "outcome"],
            registry=registry,
        )
        self.batch_records = Histogram(
            "lienthong_consumer_batch_records",
            "Records per database transaction.",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000),
            registry=registry,
        )
        self.db_seconds = Histogram(
            "lienthong_consumer_db_transaction_duration_seconds",
            "Time to write one batch (rows, outbox, offsets) in one database transaction.",
            buckets=_SECONDS,
            registry=registry,
        )
        self.end_to_end = Histogram(
            "lienthong_consumer_end_to_end_latency_seconds",
            "Time from an event's occurred_at to its rows being committed, by type; events"
            " persisted before (duplicates) are not observed.",
            ["event_type"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.dead_letters = Counter(
            "lienthong_consumer_dlq_total",
            "Records the store could not take, sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self.retries = Counter(
            "lienthong_consumer_retries_total",
            "Batches retried, by reason (database-unavailable).",
            ["reason"],
            registry=registry,
        )
        self.paused = Gauge(
            "lienthong_consumer_paused",
            "1 while consumption is paused because the database is unreachable.",
            registry=registry,
        )
        self.lag = Gauge(
            "lienthong_consumer_lag_records",
            "Records between the offset the store holds and the end of the log, per delivery"
            " topic partition (every replica of an endpoint reports them all: aggregate with"
            " max by (topic, partition)).",
            ["topic", "partition"],
            registry=registry,
        )
        self.rebuilds = Counter(
            "lienthong_consumer_client_rebuilds_total",
            "Times the consumer replaced its Kafka consumer after a fatal error (it resumes"
            " from the offsets in its store).",
            registry=registry,
        )
        self.kafka_commits = Counter(
            "lienthong_consumer_kafka_commits_total",
            "Advisory commits of the stored positions to Kafka (for kafka-consumer-groups and"
            " KEDA; the database stays the source of truth), by outcome (committed, failed).",
            ["outcome"],
            registry=registry,
        )
        self.rebalances = Counter(
            "lienthong_consumer_rebalances_total",
            "Partition assignment changes, by kind (assigned, revoked, lost).",
            ["kind"],
            registry=registry,
        )
        self.assigned = Gauge(
            "lienthong_consumer_assigned_partitions",
            "Delivery topic partitions this process owns now.",
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "lienthong_consumer_outbox_backlog_rows",
            "Outbox rows (receipts, dead letters) left unpublished after the relay's last pass:"
            " 0 when it emptied the outbox.",
            registry=registry,
        )
        self.outbox_sent = Counter(
            "lienthong_consumer_outbox_sent_total",
            "Outbox rows published to Kafka, by kind (receipt, dead-letter).",
            ["kind"],
            registry=registry,
        )
        self.outbox_failures = Counter(
            "lienthong_consumer_outbox_failures_total",
            "Attempts to publish outbox rows that failed (they are retried).",
            registry=registry,
        )
        self.kafka = KafkaStats("consumer", registry)
        register_build_info("consumer", registry)
        self._start_at_zero()

    def on_kafka_commit(self, error: object, _partitions: object) -> None:
        """Count an advisory commit's outcome (confluent-kafka's `on_commit` callback)."""
        self.kafka_commits.labels("failed" if error is not None else "committed").inc()

    def start_endpoint_at_zero(self, endpoint: str) -> None:
        """Create this consumer's event series at 0 (the endpoint is known once it is built)."""
        for kind in _EVENT_TYPES:
            self.events.labels(endpoint, kind, "persisted")
            self.events.labels(endpoint, kind, "duplicate")
        self.events.labels(endpoint, "unknown", "dead_lettered")

    def _start_at_zero(self) -> None:
        """Create the bounded series the alert rules take `increase()` of, at 0."""
        for reason in DLQ_REASONS:
            self.dead_letters.labels(reason)
        for kind in _EVENT_TYPES:
            self.end_to_end.labels(kind)
        self.retries.labels("database-unavailable")
        for kind in ("receipt", "dead-letter"):
            self.outbox_sent.labels(kind)
        for kind in ("assigned", "revoked", "lost"):
            self.rebalances.labels(kind)
        for outcome in ("committed", "failed"):
            self.kafka_commits.labels(outcome)
