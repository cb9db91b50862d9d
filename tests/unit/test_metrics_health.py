"""Health checks, heartbeats, maintenance, cached probes and group membership, without a broker."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from lienthong.plumbing.consuming import Assignment
from lienthong.plumbing.health import OK, Health, Heartbeat, MaintenanceFlag
from lienthong.plumbing.probes import CachedCheck, topic_probe
from lienthong.plumbing.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_heartbeat_fails_liveness_only_after_the_limit() -> None:
    clock = Clock()
    beat = Heartbeat(clock)
    check = beat.check("the sink loop", max_age_s=120)
    clock.now += 120
    assert check() == OK
    clock.now += 1
    assert check() == "the sink loop made no progress for 121 s (limit 120 s)"
    beat.beat()
    assert check() == OK


def test_maintenance_follows_the_file(tmp_path: Path) -> None:
    flag = MaintenanceFlag(tmp_path / "router.maintenance")
    assert (flag.active, flag.check()) == (False, OK)
    (tmp_path / "router.maintenance").touch()
    assert flag.active
    assert flag.check() == f"maintenance mode: {tmp_path / 'router.maintenance'} exists"
    assert not MaintenanceFlag(None).active


def test_empty_maintenance_variable_means_none() -> None:
    settings = Settings.from_env(
        {"LIENTHONG_ROUTER_MAINTENANCE_FILE": "", "LIENTHONG_CONSUMER_MAINTENANCE_FILE": "/m"}
    )
    assert settings.router.maintenance_file is None  # not Path(""), the current directory
    assert settings.consumer.maintenance_file == Path("/m")


def test_readiness_reports_every_check_and_maintenance_only_when_configured(
    tmp_path: Path,
) -> None:
    def broken() -> str:
        raise RuntimeError("probe bug")

    health = Health(readiness={"broker": lambda: OK, "database": broken})
    report = health.ready()
    assert not report.ok
    assert report.checks == {"broker": OK, "database": "check failed: RuntimeError: probe bug"}
    health = Health(readiness={"broker": lambda: OK})
    assert health.ready().checks == {"broker": OK}
    health.maintenance = MaintenanceFlag(tmp_path / "flag")
    assert health.ready().checks == {"broker": OK, "maintenance": OK}
    (tmp_path / "flag").touch()
    assert not health.ready().ok
    assert health.live().ok  # maintenance is about traffic, not about restarting the process


def test_readiness_and_maintenance_are_gauges(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    health = Health(readiness={"broker": lambda: OK}, maintenance=MaintenanceFlag(tmp_path / "m"))
    health.register_metrics("router", registry)
    assert registry.get_sample_value("lienthong_router_ready") == 1.0
    assert registry.get_sample_value("lienthong_router_maintenance") == 0.0
    (tmp_path / "m").touch()
    assert registry.get_sample_value("lienthong_router_ready") == 0.0
    assert registry.get_sample_value("lienthong_router_maintenance") == 1.0
    assert b"# HELP lienthong_router_ready 1 when every readiness check" in generate_latest(
        registry
    )


def test_cached_check_refreshes_in_the_background_once_per_interval() -> None:
    clock = Clock()
    answers = iter(["broker unreachable: down", OK])
    calls: list[float] = []

    def probe() -> str:
        calls.append(clock.now)
        return next(answers)

    check = CachedCheck(probe, interval_s=5, clock=clock)
    assert check() == "not checked yet"  # nobody waits for the first probe either
    assert check.wait_idle(5)
    assert check() == "broker unreachable: down"
    clock.now += 4.9
    assert check() == "broker unreachable: down"
    assert check.wait_idle(5)
    clock.now += 0.2
    assert check() == "broker unreachable: down"  # stale: refreshing, answered at once
    assert check.wait_idle(5)
    assert check() == OK
    assert len(calls) == 2


def test_cached_check_runs_one_probe_however_many_ask() -> None:
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        entered.set()
        release.wait(5)
        return OK

    check = CachedCheck(slow, interval_s=0)
    assert check() == "not checked yet"
    assert entered.wait(5)
    assert [check() for _ in range(5)] == ["not checked yet"] * 5
    release.set()
    assert check.wait_idle(5)
    assert calls == [1]
    assert check() == OK


class FakeClient:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.asked: list[tuple[str | None, float]] = []

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        self.asked.append((topic, timeout))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _metadata(topic: str, error: KafkaError | None = None) -> Any:
    return SimpleNamespace(topics={topic: SimpleNamespace(error=error)})


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (_metadata("in"), OK),
        (SimpleNamespace(topics={}), "topic in missing from the broker's metadata"),
        (
            _metadata("in", KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)),
            "topic in: Broker: Unknown topic or partition",
        ),
        (
            KafkaException(KafkaError(KafkaError._TRANSPORT, "Failed to get metadata")),
            "broker unreachable: Failed to get metadata",
        ),
        (RuntimeError("Consumer closed"), "Kafka client unusable: Consumer closed"),
    ],
    ids=["ok", "missing", "topic-error", "unreachable", "closed"],
)
def test_topic_probe(answer: Any, says: str) -> None:
    client = FakeClient(answer)
    assert topic_probe(lambda: client, "in", timeout_s=2.0)() == says
    assert client.asked == [("in", 2.0)]


def _assignment() -> tuple[Assignment, CollectorRegistry]:
    registry = CollectorRegistry()
    rebalances = Counter("t_rebalances", "Rebalances.", ["kind"], registry=registry)
    owned = Gauge("t_owned", "Owned.", registry=registry)
    return Assignment("g", rebalances=rebalances, owned=owned), registry


def test_an_empty_assignment_still_means_the_member_joined() -> None:
    assignment, _ = _assignment()
    assert assignment.check() == "not yet a member of consumer group g"
    assert assignment.assigned([]) == 0
    assert assignment.check() == OK


def test_assignment_tracks_increments() -> None:
    assignment, registry = _assignment()
    assert assignment.assigned([("t", 0), ("t", 1)]) == 2
    assert assignment.revoked([("t", 1)]) == 1
    assert assignment.owned == {("t", 0)}
    assert assignment.check() == OK
    assert assignment.lost([("t", 0)]) == 0
    assert not assignment.joined  # it must join its group again
    assert registry.get_sample_value("t_owned") == 0
    assert registry.get_sample_value("t_rebalances_total", {"kind": "revoked"}) == 1
