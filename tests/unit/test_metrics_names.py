"""The metrics review, as a test: names, units, help texts and bounded labels of every service.

Each service is built by its own composition root (fakes at the Kafka ports), so whatever a
root registers is reviewed, not a list kept by hand.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from pydantic import SecretStr

from lienthong.consumer.bootstrap import build_consumer
from lienthong.plumbing.settings import ConsumerSettings, DirectorySettings, Settings
from lienthong.producer.bootstrap import build_producer
from lienthong.router.bootstrap import build_router
from tests.support.api import EXAMPLE_DIRECTORY, FakePublisher, example_directory

# Every label a metric may carry: each has a bounded set of values (the directory bounds
# `endpoint` and `topic`; the cluster bounds `broker`; releases bound the build labels).
ALLOWED_LABELS = {
    "event_type",
    "outcome",
    "reason",
    "route",
    "code",
    "kind",
    "topic",
    "partition",
    "endpoint",
    "client",
    "broker",
    "state",
    "version",
    "librdkafka",
    "document_schema",
    "report_schema",
    "status_schema",
}
PER_ENDPOINT = {"lienthong_router_deliveries", "lienthong_consumer_events"}
_NOT_BASE_UNITS = re.compile(r"_(ms|milliseconds|minutes|hours|kb|mb|percent)(_|$)")
_TIME_WORDS = re.compile(r"\b(time|latency|round-trip|duration)\b", re.IGNORECASE)


def _fake_client(*_: Any, **__: Any) -> object:
    return object()


def _families(tmp_path: Path) -> dict[str, list[Metric]]:
    settings = Settings(
        directory=DirectorySettings(path=EXAMPLE_DIRECTORY),
        consumer=ConsumerSettings(database_url=SecretStr(f"sqlite:///{tmp_path / 'db.sqlite'}")),
    )
    producer = build_producer(
        settings,
        registry=CollectorRegistry(),
        directory=example_directory(),
        publisher=FakePublisher(),
    )
    router = build_router(
        settings,
        registry=CollectorRegistry(),
        consumer_factory=_fake_client,  # type: ignore[arg-type]
        producer_factory=_fake_client,  # type: ignore[arg-type]
    )
    consumer = build_consumer(
        settings,
        example_directory(),
        endpoint_id="tinh-nghe-an",
        registry=CollectorRegistry(),
        consumer_factory=_fake_client,  # type: ignore[arg-type]
        producer_factory=_fake_client,  # type: ignore[arg-type]
    )
    consumer.store.close()
    registries = {
        "producer": producer.registry,
        "router": router.registry,
        "consumer": consumer.registry,
    }
    return {service: list(reg.collect()) for service, reg in registries.items()}


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Metric]]:
    return _families(tmp_path_factory.mktemp("metrics"))


def _labels(metric: Metric) -> set[str]:
    names: set[str] = set()
    for sample in metric.samples:
        names |= set(sample.labels) - {"le"}
    return names


def test_names_are_prefixed_by_service_and_in_base_units(
    families: dict[str, list[Metric]],
) -> None:
    for service, metrics in families.items():
        for metric in metrics:
            assert metric.name.startswith(f"lienthong_{service}_"), metric.name
            assert not _NOT_BASE_UNITS.search(metric.name), metric.name
            if metric.type != "counter":
                assert not metric.name.endswith("_total"), metric.name
            if _TIME_WORDS.search(metric.documentation):
                assert metric.name.endswith("_seconds"), (metric.name, metric.documentation)


def test_every_metric_explains_itself(families: dict[str, list[Metric]]) -> None:
    for metrics in families.values():
        for metric in metrics:
            assert len(metric.documentation) > 20, metric.name
            assert metric.documentation.endswith("."), metric.name


def test_labels_are_bounded_and_endpoints_label_only_flow(
    families: dict[str, list[Metric]],
) -> None:
    per_endpoint = set()
    for metrics in families.values():
        for metric in metrics:
            labels = _labels(metric)
            assert labels <= ALLOWED_LABELS, (metric.name, labels - ALLOWED_LABELS)
            if "endpoint" in labels:
                per_endpoint.add(metric.name)
    assert per_endpoint == PER_ENDPOINT


def test_each_service_has_build_info_readiness_and_librdkafka_gauges(
    families: dict[str, list[Metric]],
) -> None:
    for service, metrics in families.items():
        names = {m.name for m in metrics}
        assert f"lienthong_{service}_build" in names  # exposed as ..._build_info
        assert {f"lienthong_{service}_ready", f"lienthong_{service}_maintenance"} <= names
        assert f"lienthong_{service}_kafka_broker_rtt_p99_seconds" in names


def test_the_slo_boundary_is_a_bucket_of_the_end_to_end_histogram(
    families: dict[str, list[Metric]],
) -> None:
    [latency] = [m for m in families["consumer"] if m.name.endswith("end_to_end_latency_seconds")]
    bounds = {s.labels["le"] for s in latency.samples if s.name.endswith("_bucket")}
    assert "5.0" in bounds  # deploy/prometheus/rules/recording.yml selects le="5.0"


def test_series_the_alerts_take_increase_of_start_at_zero(
    families: dict[str, list[Metric]],
) -> None:
    def value(service: str, name: str, **labels: str) -> float | None:
        for metric in families[service]:
            for sample in metric.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return None

    assert value("router", "lienthong_router_transactions_total", outcome="aborted") == 0
    assert value("router", "lienthong_router_dlq_total", reason="unknown-recipient") == 0
    assert value("router", "lienthong_router_directory_reloads_total", outcome="refused") == 0
    assert value("consumer", "lienthong_consumer_dlq_total", reason="invalid-status") == 0
    persisted = {"endpoint": "tinh-nghe-an", "event_type": "document", "outcome": "persisted"}
    assert value("consumer", "lienthong_consumer_events_total", **persisted) == 0
