"""librdkafka statistics to gauges, from documents shaped like the ones librdkafka 2.x emits."""

from __future__ import annotations

import json
from typing import Any

from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from lienthong.plumbing.kafka_stats import KafkaStats


def _rtt(avg_us: int, p99_us: int, cnt: int) -> dict[str, int]:
    return {"min": avg_us, "max": p99_us, "avg": avg_us, "p99": p99_us, "cnt": cnt, "p50": avg_us}


def _producer_stats(txn_state: str, *, rtt_count: int = 3) -> dict[str, Any]:
    # Trimmed from a transactional producer's statistics on the test broker.
    return {
        "name": "rdkafka#producer-2",
        "type": "producer",
        "msg_cnt": 12,
        "msg_size": 4096,
        "brokers": {
            "127.0.0.1:27241/bootstrap": {
                "nodeid": -1,
                "source": "configured",
                "rtt": _rtt(1000, 2000, 1),
            },
            "127.0.0.1:27241/1": {
                "nodeid": 1,
                "source": "learned",
                "state": "UP",
                "rtt": _rtt(1500, 23551, rtt_count),
            },
            "TxnCoordinator": {"nodeid": -1, "source": "logical", "rtt": _rtt(9000, 9000, 1)},
        },
        "eos": {"idemp_state": "Assigned", "txn_state": txn_state, "txn_may_enq": True},
        "topics": {},
    }


def _registry() -> tuple[KafkaStats, CollectorRegistry]:
    registry = CollectorRegistry()
    return KafkaStats("router", registry), registry


def test_round_trips_come_from_learned_brokers_only_in_seconds() -> None:
    stats, registry = _registry()
    stats.callback("producer", transactional=True)(json.dumps(_producer_stats("Ready")))
    labels = {"client": "producer", "broker": "1"}
    assert registry.get_sample_value("lienthong_router_kafka_broker_rtt_avg_seconds", labels) == (
        0.0015
    )
    assert registry.get_sample_value("lienthong_router_kafka_broker_rtt_p99_seconds", labels) == (
        0.023551
    )
    text = str(list(registry.collect()))
    assert "'broker': '-1'" not in text  # neither bootstrap nor coordinator entries


def test_an_interval_without_requests_keeps_the_last_round_trip() -> None:
    stats, registry = _registry()
    stats.update("producer", _producer_stats("Ready"), transactional=True)
    stats.update("producer", _producer_stats("Ready", rtt_count=0), transactional=True)
    labels = {"client": "producer", "broker": "1"}
    assert registry.get_sample_value("lienthong_router_kafka_broker_rtt_avg_seconds", labels) == (
        0.0015
    )


def test_producer_queue_depth() -> None:
    stats, registry = _registry()
    stats.update("producer", _producer_stats("Ready"), transactional=True)
    labels = {"client": "producer"}
    assert registry.get_sample_value("lienthong_router_kafka_producer_queue_messages", labels) == 12
    assert registry.get_sample_value("lienthong_router_kafka_producer_queue_bytes", labels) == 4096


def test_transaction_state_is_one_for_the_current_state_zero_for_those_seen() -> None:
    stats, registry = _registry()
    for state in ("Ready", "InTransaction", "CommittingTransaction", "Ready"):
        stats.update("producer", _producer_stats(state), transactional=True)
    name = "lienthong_router_kafka_txn_state"
    values = {
        state: registry.get_sample_value(name, {"client": "producer", "state": state})
        for state in ("Ready", "InTransaction", "CommittingTransaction", "AbortableError")
    }
    assert values == {
        "Ready": 1.0,
        "InTransaction": 0.0,
        "CommittingTransaction": 0.0,
        "AbortableError": None,  # never seen: no series
    }


def test_an_idempotent_producer_reports_no_transaction_state() -> None:
    stats, registry = _registry()
    stats.update("outbox", _producer_stats("Init"), transactional=False)
    assert "txn_state{" not in str(list(registry.collect()))


def test_a_consumer_reports_round_trips_but_no_queue() -> None:
    stats, registry = _registry()
    consumer = {
        "type": "consumer",
        "msg_cnt": 0,
        "brokers": {"b/1": {"nodeid": 1, "source": "learned", "rtt": _rtt(500, 900, 4)}},
        "cgrp": {"state": "up", "join_state": "steady", "assignment_size": 1},
    }
    stats.update("consumer", consumer, transactional=False)
    labels = {"client": "consumer", "broker": "1"}
    assert registry.get_sample_value("lienthong_router_kafka_broker_rtt_p99_seconds", labels) == (
        0.0009
    )
    queue = registry.get_sample_value(
        "lienthong_router_kafka_producer_queue_messages", {"client": "consumer"}
    )
    assert queue is None


def test_unreadable_statistics_are_logged_not_raised() -> None:
    stats, _ = _registry()
    with capture_logs() as logs:
        stats.callback("consumer")("{not json")
    assert logs[0]["event"] == "kafka_stats_unreadable"
    assert logs[0]["client"] == "consumer"
