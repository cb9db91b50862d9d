"""librdkafka statistics worth watching, as gauges: broker round trips, queue, transaction state.

librdkafka emits a JSON document every `statistics.interval.ms` (LIENTHONG_KAFKA_STATISTICS_
INTERVAL_MS) to the client's `stats_cb`, from the thread that polls the client. Only a handful of
its hundreds of fields are exported; every label is bounded (the client's role in the service,
the broker's node id, a transaction state name).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Gauge

log = structlog.get_logger("lienthong.kafka.stats")

_MICROS = 1e-6
StatsCallback = Callable[[str], None]


class KafkaStats:
    """The `lienthong_<service>_kafka_*` gauges, fed by each client's statistics callback."""

    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        prefix = f"lienthong_{service}_kafka"
        self.rtt_avg = Gauge(
            f"{prefix}_broker_rtt_avg_seconds",
            "Broker round-trip time, mean over the last statistics interval, per client role"
            " and broker node id (librdkafka brokers.rtt.avg).",
            ["client", "broker"],
            registry=registry,
        )
        self.rtt_p99 = Gauge(
            f"{prefix}_broker_rtt_p99_seconds",
            "Broker round-trip time, 99th percentile over the last statistics interval"
            " (librdkafka brokers.rtt.p99).",
            ["client", "broker"],
            registry=registry,
        )
        self.queue_messages = Gauge(
            f"{prefix}_producer_queue_messages",
            "Records waiting in the producer's local queue for the broker (librdkafka msg_cnt).",
            ["client"],
            registry=registry,
        )
        self.queue_bytes = Gauge(
            f"{prefix}_producer_queue_bytes",
            "Bytes waiting in the producer's local queue (librdkafka msg_size).",
            ["client"],
            registry=registry,
        )
        self.txn_state = Gauge(
            f"{prefix}_txn_state",
            "1 for the transactional producer's current transaction state (librdkafka"
            " eos.txn_state: Ready, InTransaction, CommittingTransaction, AbortableError, ...),"
            " 0 for states seen before.",
            ["client", "state"],
            registry=registry,
        )
        self._states: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def callback(self, client: str, *, transactional: bool = False) -> StatsCallback:
        """Return the `stats_cb` for one client; `client` is its role (producer, consumer...)."""

        def on_stats(payload: str) -> None:
            try:
                self.update(client, json.loads(payload), transactional=transactional)
            except (ValueError, TypeError, AttributeError) as exc:
                log.warning("kafka_stats_unreadable", client=client, error=str(exc))

        return on_stats

    def update(self, client: str, stats: Mapping[str, Any], *, transactional: bool) -> None:
        """Set the gauges from one statistics document."""
        for broker in stats.get("brokers", {}).values():
            # Bootstrap and logical (coordinator) entries duplicate the learned brokers.
            if broker.get("source") != "learned":
                continue
            rtt = broker.get("rtt", {})
            if not rtt.get("cnt"):  # no request in this interval: keep the last value
                continue
            node = str(broker.get("nodeid"))
            self.rtt_avg.labels(client, node).set(rtt["avg"] * _MICROS)
            self.rtt_p99.labels(client, node).set(rtt["p99"] * _MICROS)
        if stats.get("type") == "producer":
            self.queue_messages.labels(client).set(stats.get("msg_cnt", 0))
            self.queue_bytes.labels(client).set(stats.get("msg_size", 0))
        state = stats.get("eos", {}).get("txn_state")
        if transactional and isinstance(state, str):
            self._set_state(client, state)

    def _set_state(self, client: str, state: str) -> None:
        with self._lock:
            seen = self._states.setdefault(client, set())
            seen.add(state)
            for name in seen:
                self.txn_state.labels(client, name).set(1 if name == state else 0)
