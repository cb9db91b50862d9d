"""/healthz and /readyz of the router, the consumer and the producer on a real broker and database.

Each check is driven by the real thing it watches: the consumer group join, a PostgreSQL server
stopped mid-stream, a maintenance file, a routing loop that stopped.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from lienthong.contract import examples
from lienthong.contract.schemas import EventType
from lienthong.plumbing.health import MaintenanceFlag
from lienthong.plumbing.metrics_http import MetricsServer, serve_metrics
from lienthong.plumbing.settings import KafkaSettings
from lienthong.producer.api.app import service_health
from tests.support.api import served
from tests.support.consumer import deliver, running_consumer, with_store
from tests.support.postgres import LocalPostgres
from tests.support.router import Deployment, deploy, running_router


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # loopback only
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def _until(
    url: str, wanted: Callable[[int, dict[str, Any]], bool], timeout_s: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    status, body = _get(url)
    while not wanted(status, body):
        if time.monotonic() > deadline:
            pytest.fail(f"{url} still answers {status} {body}")
        time.sleep(0.2)
        status, body = _get(url)
    return body


def _ok(status: int, _: dict[str, Any]) -> bool:
    return status == 200


def _metric(server: MetricsServer, name: str) -> str:
    with urllib.request.urlopen(server.url, timeout=10) as answer:  # loopback only
        lines: list[str] = answer.read().decode().splitlines()
    return next(line.split()[-1] for line in lines if line.startswith(f"{name} "))


def test_router_is_ready_once_in_its_group_and_not_ready_in_maintenance(
    kafka_admin: KafkaSettings, tmp_path: Path
) -> None:
    base = deploy(kafka_admin)
    flag = tmp_path / "router.maintenance"
    router = base.settings.router.model_copy(
        update={"maintenance_file": flag, "liveness_timeout_s": 3.0, "readiness_interval_s": 0.5}
    )
    dep = Deployment(base.settings.model_copy(update={"router": router}), base.directory)
    with running_router(dep) as service:
        server = serve_metrics(service.registry, health=service.health)
        try:
            body = _until(f"{server.base_url}/readyz", _ok)
            assert body["checks"] == {
                "broker": "ok",
                "group": "ok",
                "directory": "ok",
                "routing": "ok",
                "maintenance": "ok",
            }
            flag.touch()
            status, body = _get(f"{server.base_url}/readyz")
            assert status == 503
            assert body["checks"]["maintenance"] == f"maintenance mode: {flag} exists"
            assert _metric(server, "lienthong_router_maintenance") == "1.0"
            assert _get(f"{server.base_url}/healthz")[0] == 200  # alive: do not restart it
            flag.unlink()
            _until(f"{server.base_url}/readyz", _ok)
        finally:
            server.close()
    # The loop has stopped: once its heartbeat is older than the limit, liveness fails.
    server = serve_metrics(service.registry, health=service.health)
    try:
        body = _until(f"{server.base_url}/healthz", lambda status, _: status == 503, 10)
        assert body["checks"]["loop"].startswith("the routing loop made no progress")
    finally:
        server.close()


def test_consumer_is_not_ready_while_its_database_is_down(
    kafka_admin: KafkaSettings, postgres: LocalPostgres, postgres_url: str
) -> None:
    dep = with_store(deploy(kafka_admin), postgres_url, readiness_interval_s=0.5)
    document = [(EventType.DOCUMENT, examples.document(event_id=uuid4()))]
    with running_consumer(dep) as service:
        server = serve_metrics(service.registry, health=service.health)
        try:
            body = _until(f"{server.base_url}/readyz", _ok)
            assert set(body["checks"]) == {"broker", "group", "directory", "database"}
            postgres.stop("immediate")
            try:
                deliver(dep, document)  # the batch that finds the database gone
                body = _until(
                    f"{server.base_url}/readyz",
                    lambda _, b: b["checks"]["database"].startswith("unreachable: consumption"),
                )
                assert body["status"] == "not ready"
                assert _metric(server, "lienthong_consumer_paused") == "1.0"
                assert _metric(server, "lienthong_consumer_ready") == "0.0"
                assert _get(f"{server.base_url}/healthz")[0] == 200  # waiting is not hanging
            finally:
                postgres.start()
            _until(f"{server.base_url}/readyz", _ok, timeout_s=90)
        finally:
            server.close()


def test_producer_readiness_follows_its_maintenance_file(
    kafka_admin: KafkaSettings, tmp_path: Path
) -> None:
    dep = deploy(kafka_admin)
    flag = tmp_path / "producer.maintenance"
    with served(dep.settings) as (url, service):
        service_health(service.app).maintenance = MaintenanceFlag(flag)
        body = _until(f"{url}/readyz", _ok)
        assert body["checks"] == {"directory": "ok", "broker": "ok", "maintenance": "ok"}
        flag.touch()
        status, body = _get(f"{url}/readyz")
        assert (status, body["status"]) == (503, "not ready")
        flag.unlink()
        _until(f"{url}/readyz", _ok)
