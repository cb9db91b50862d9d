"""The producer service's Prometheus metrics, on an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from lienthong.plumbing.build_info import register_build_info
from lienthong.plumbing.kafka_stats import KafkaStats

# Publish latency is a broker round trip: milliseconds normally, seconds when it struggles.
_PUBLISH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ProducerMetrics:
    """Requests, events by outcome, publish latency, broker reachability, librdkafka."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "lienthong_producer_http_requests_total",
            "HTTP requests answered, by route template and status code.",
            ["route", "code"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "lienthong_producer_http_request_duration_seconds",
            "Time from request received to response sent, by route template.",
            ["route"],
            buckets=_PUBLISH_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "lienthong_producer_http_requests_in_flight",
            "HTTP requests being handled now.",
            registry=registry,
        )
        self.events = Counter(
            "lienthong_producer_events_total",
            "Events submitted, by type and outcome (accepted, replayed, invalid, forbidden,"
            " conflict, unavailable).",
            ["event_type", "outcome"],
            registry=registry,
        )
        self.publish_seconds = Histogram(
            "lienthong_producer_publish_duration_seconds",
            "Time from handing a record to the Kafka producer to the broker's acknowledgement.",
            ["event_type"],
            buckets=_PUBLISH_BUCKETS,
            registry=registry,
        )
        self.broker_reachable = Gauge(
            "lienthong_producer_broker_reachable",
            "1 when the last metadata request to the broker succeeded, else 0.",
            registry=registry,
        )
        self.idempotency_entries = Gauge(
            "lienthong_producer_idempotency_entries",
            "Answers kept to replay retries of the same event id.",
            registry=registry,
        )
        self.rate_limited = Counter(
            "lienthong_producer_rate_limited_events_total",
            "Events refused with 429 because their endpoint was over its rate limit.",
            ["endpoint"],
            registry=registry,
        )
        self.directory_reloads = Counter(
            "lienthong_producer_directory_reloads_total",
            "Directory reloads (file changed or SIGHUP), by outcome (applied, refused).",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("applied", "refused"):
            self.directory_reloads.labels(outcome)
        self.kafka = KafkaStats("producer", registry)
        register_build_info("producer", registry)
