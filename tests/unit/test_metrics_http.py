"""/metrics, /healthz and /readyz: the router's and consumer's server, and the producer's API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from lienthong import __version__
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.plumbing.health import OK, Health, MaintenanceFlag
from lienthong.plumbing.metrics_http import MetricsServer, serve_metrics
from lienthong.plumbing.settings import Settings
from lienthong.producer.api.app import service_health
from lienthong.producer.bootstrap import ProducerService, build_producer
from tests.support.api import FakePublisher, example_directory


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # loopback only
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["Content-Type"], refused.read().decode()


@pytest.fixture
def state() -> dict[str, str]:
    return {"broker": OK}


@pytest.fixture
def server(tmp_path: Path, state: dict[str, str]) -> Iterator[MetricsServer]:
    registry = CollectorRegistry()
    Counter("lienthong_test_events", "Events seen by this test.", registry=registry).inc(3)
    health = Health(
        liveness={"loop": lambda: OK},
        readiness={"broker": lambda: state["broker"], "group": lambda: OK},
        maintenance=MaintenanceFlag(tmp_path / "maintenance"),
    )
    server = serve_metrics(registry, port=0, health=health)
    try:
        yield server
    finally:
        server.close()


def test_metrics_are_served_in_the_text_format(server: MetricsServer) -> None:
    status, content_type, body = _get(server.url)
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert "lienthong_test_events_total 3.0" in body


def test_liveness_and_readiness_answer_json_with_each_check(
    server: MetricsServer, state: dict[str, str]
) -> None:
    status, content_type, body = _get(f"{server.base_url}/healthz")
    assert (status, content_type, json.loads(body)) == (
        200,
        "application/json",
        {"status": "ok", "checks": {"loop": "ok"}},
    )
    ready = {"broker": "ok", "group": "ok", "maintenance": "ok"}
    assert _get(f"{server.base_url}/readyz")[0::2] == (
        200,
        json.dumps({"status": "ready", "checks": ready}),
    )
    state["broker"] = "broker unreachable: all brokers down"
    status, _, body = _get(f"{server.base_url}/readyz")
    assert status == 503
    assert json.loads(body)["checks"]["broker"] == "broker unreachable: all brokers down"
    assert json.loads(body)["status"] == "not ready"


def test_maintenance_file_makes_the_service_not_ready(
    server: MetricsServer, tmp_path: Path
) -> None:
    (tmp_path / "maintenance").touch()
    status, _, body = _get(f"{server.base_url}/readyz")
    assert status == 503
    assert json.loads(body)["checks"]["maintenance"].startswith("maintenance mode: ")
    assert _get(f"{server.base_url}/healthz")[0] == 200
    (tmp_path / "maintenance").unlink()
    assert _get(f"{server.base_url}/readyz")[0] == 200


def test_other_paths_are_not_found(server: MetricsServer) -> None:
    assert _get(f"{server.base_url}/")[0] == 404


@pytest.fixture
def producer() -> ProducerService:
    return build_producer(
        Settings(),
        registry=CollectorRegistry(),
        directory=example_directory(),
        publisher=FakePublisher(),
    )


@pytest.fixture
async def client(producer: ProducerService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=producer.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        yield c


async def test_producer_readiness_lists_maintenance_only_when_configured(
    client: httpx.AsyncClient, producer: ProducerService, tmp_path: Path
) -> None:
    ready = await client.get("/readyz")
    assert ready.json() == {"status": "ready", "checks": {"directory": "ok", "broker": "ok"}}
    service_health(producer.app).maintenance = MaintenanceFlag(tmp_path / "producer.maintenance")
    assert (await client.get("/readyz")).json()["checks"]["maintenance"] == "ok"
    (tmp_path / "producer.maintenance").touch()
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not ready"
    assert (await client.get("/healthz")).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert "lienthong_producer_ready 0.0" in metrics
    assert "lienthong_producer_maintenance 1.0" in metrics


async def test_every_service_reports_its_release_and_schemas(
    client: httpx.AsyncClient,
) -> None:
    store = SchemaStore.from_package()
    text = (await client.get("/metrics")).text
    [line] = [x for x in text.splitlines() if x.startswith("lienthong_producer_build_info{")]
    labels: dict[str, Any] = dict(
        part.split("=", 1) for part in line[line.index("{") + 1 : line.index("}")].split(",")
    )
    assert labels["version"] == f'"{__version__}"'
    for event_type in EventType:
        expected = store.current(event_type).fingerprint_hex
        assert labels[f"{event_type.value}_schema"] == f'"{expected}"'
    assert line.endswith(" 1.0")
