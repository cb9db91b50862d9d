"""The router's Prometheus metrics, on an injected registry."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from lienthong.plumbing.build_info import register_build_info
from lienthong.plumbing.kafka_stats import KafkaStats

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_EVENT_TYPES = ("document", "report", "status")
# The reasons docs/architecture.md lists. Their series start at 0, so `increase()` counts the
# first dead letters of a reason too (a series born at 5 would count from 5).
DLQ_REASONS = (
    "empty-value",
    "bad-magic",
    "unknown-fingerprint",
    "corrupt-body",
    "incompatible-schema",
    "bad-headers",
    "header-mismatch",
    "unknown-sender",
    "unknown-recipient",
    "policy-violation",
    "foreign-document",
    "redeliver-nowhere",
    "no-recipients",
    "unexpected-error",
)

REBUILD_REASONS = ("stuck-call", "fatal-error", "abort-failed")


class RouterMetrics:
    """Records in, deliveries out, dead letters, transactions, lag, rebalances, librdkafka."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "lienthong_router_records_total",
            "Inbound records processed, by event type ('unknown' when undecodable) and outcome"
            " (routed, dead_lettered).",
            ["event_type", "outcome"],
            registry=registry,
        )
        self.deliveries = Counter(
            "lienthong_router_deliveries_total",
            "Copies written to delivery topics, by event type and endpoint (a directory id: as"
            " many series as endpoints).",
            ["event_type", "endpoint"],
            registry=registry,
        )
        self.fanout = Histogram(
            "lienthong_router_fanout_endpoints",
            "Endpoints one routed record was delivered to.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=registry,
        )
        self.dead_letters = Counter(
            "lienthong_router_dlq_total",
            "Records written to the dead-letter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self.rejections = Counter(
            "lienthong_router_rejection_statuses_total",
            "Status 02 (rejected) events sent back to the senders of unroutable documents.",
            registry=registry,
        )
        self.batch_records = Histogram(
            "lienthong_router_batch_records",
            "Inbound records per transaction.",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000),
            registry=registry,
        )
        self.transaction_seconds = Histogram(
            "lienthong_router_transaction_duration_seconds",
            "Time from beginning a transaction to its commit or abort.",
            buckets=_SECONDS,
            registry=registry,
        )
        self.transactions = Counter(
            "lienthong_router_transactions_total",
            "Transactions ended, by outcome (committed, aborted).",
            ["outcome"],
            registry=registry,
        )
        self.event_age = Histogram(
            "lienthong_router_event_age_seconds",
            "Time from an event's occurred_at to its routing.",
            buckets=_SECONDS,
            registry=registry,
        )
        self.lag = Gauge(
            "lienthong_router_consumer_lag_records",
            "Records between the router group's committed offset and the end of the log, per"
            " inbound partition (what kafka-consumer-groups shows; every router reports the"
            " whole group: aggregate with max by (topic, partition)).",
            ["topic", "partition"],
            registry=registry,
        )
        self.rebalances = Counter(
            "lienthong_router_rebalances_total",
            "Partition assignment changes, by kind (assigned, revoked, lost).",
            ["kind"],
            registry=registry,
        )
        self.assigned = Gauge(
            "lienthong_router_assigned_partitions",
            "Inbound partitions this process owns now.",
            registry=registry,
        )
        self.directory_reloads = Counter(
            "lienthong_router_directory_reloads_total",
            "Directory reloads, by outcome (applied, refused).",
            ["outcome"],
            registry=registry,
        )
        self.blocked = Gauge(
            "lienthong_router_blocked",
            "1 while routing waits on infrastructure (a missing delivery topic, a failing"
            " commit) or has made no progress for LIENTHONG_ROUTER_STALL_TIMEOUT_S, else 0.",
            registry=registry,
        )
        self.progress_age = Gauge(
            "lienthong_router_progress_age_seconds",
            "Seconds since the routing loop last committed a batch or found nothing to route.",
            registry=registry,
        )
        self.rebuilds = Counter(
            "lienthong_router_client_rebuilds_total",
            "Times the router replaced its consumer and transactional producer, by reason"
            " (stuck-call: a librdkafka call past its deadline; fatal-error, e.g. fenced;"
            " abort-failed).",
            ["reason"],
            registry=registry,
        )
        self.abandoned_clients = Gauge(
            "lienthong_router_abandoned_clients",
            "Replaced producers whose thread is still blocked in a librdkafka call.",
            registry=registry,
        )
        self.kafka = KafkaStats("router", registry)
        register_build_info("router", registry)
        self._start_at_zero()

    def start_endpoints_at_zero(self, endpoints: Iterable[str]) -> None:
        """Create the delivery series of every endpoint of a (re)loaded directory, at 0."""
        for endpoint in endpoints:
            for kind in _EVENT_TYPES:
                self.deliveries.labels(kind, endpoint)

    def _start_at_zero(self) -> None:
        """Create the bounded series the alert rules take `increase()` of, at 0."""
        for kind in _EVENT_TYPES:
            self.records.labels(kind, "routed")
            self.records.labels(kind, "dead_lettered")
        self.records.labels("unknown", "dead_lettered")
        for reason in DLQ_REASONS:
            self.dead_letters.labels(reason)
        for outcome in ("committed", "aborted"):
            self.transactions.labels(outcome)
        for outcome in ("applied", "refused"):
            self.directory_reloads.labels(outcome)
        for kind in ("assigned", "revoked", "lost"):
            self.rebalances.labels(kind)
        for reason in REBUILD_REASONS:
            self.rebuilds.labels(reason)
