"""The consumer's Prometheus metrics, on an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ConsumerMetrics:
    """Events persisted, database latency, end-to-end latency, lag, outbox, retries."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "lienthong_consumer_events_total",
            "Delivered events handled, by type and outcome (persisted, duplicate, dead_lettered).",
            ["event_type", "outcome"],
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
            "Time from an event's occurred_at to its rows being committed, by type.",
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
            "Records behind the high watermark, per assigned delivery topic partition.",
            ["topic", "partition"],
            registry=registry,
        )
        self.rebalances = Counter(
            "lienthong_consumer_rebalances_total",
            "Partition assignment changes, by kind (assigned, revoked, lost).",
            ["kind"],
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "lienthong_consumer_outbox_backlog",
            "Outbox rows (receipts, dead letters) committed but not yet published.",
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
