"""Liveness and readiness: named checks that each answer "ok" or say what is wrong.

The composition root of each service injects the checks; the HTTP servers (the producer's
FastAPI app, `metrics_http` for the router and the consumer) only render them. A check is a
plain callable so a test can pass a lambda.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge

Check = Callable[[], str]
OK = "ok"


def run_check(check: Check) -> str:
    """Run one check; a check that raises reports the error instead of breaking the endpoint."""
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a failing probe is an answer, not a crash
        return f"check failed: {type(exc).__name__}: {exc}"


class Heartbeat:
    """When a loop last made progress: the loop beats, the liveness check reads the age."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        """Record progress now."""
        self._last = self._clock()

    def age_s(self) -> float:
        """Return the seconds since the last beat."""
        return self._clock() - self._last

    def check(self, what: str, max_age_s: float) -> Check:
        """Return a check that fails once `what` has not beaten for `max_age_s`."""

        def stale() -> str:
            age = self.age_s()
            if age <= max_age_s:
                return OK
            return f"{what} made no progress for {age:.0f} s (limit {max_age_s:.0f} s)"

        return stale


class MaintenanceFlag:
    """Maintenance mode: on while a file exists, so it survives a restart and needs no signal."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    @property
    def active(self) -> bool:
        """Tell whether the flag file exists now."""
        return self.path is not None and self.path.exists()

    def check(self) -> str:
        """Answer "ok", or why the service reports not ready."""
        return f"maintenance mode: {self.path} exists" if self.active else OK


@dataclass(frozen=True, slots=True)
class Report:
    """The answer of /healthz or /readyz: whether every check passed, and each check's answer."""

    ok: bool
    checks: dict[str, str]


@dataclass
class Health:
    """The liveness and readiness checks of one service, and its maintenance flag."""

    liveness: dict[str, Check] = field(default_factory=dict)
    readiness: dict[str, Check] = field(default_factory=dict)
    maintenance: MaintenanceFlag = field(default_factory=lambda: MaintenanceFlag(None))

    def live(self) -> Report:
        """Run the liveness checks: is the process worth keeping (not: is it useful now)."""
        return _report(self.liveness)

    def ready(self) -> Report:
        """Run the readiness checks, and the maintenance flag when one is configured."""
        checks = dict(self.readiness)
        if self.maintenance.path is not None:
            checks["maintenance"] = self.maintenance.check
        return _report(checks)

    def register_metrics(self, service: str, registry: CollectorRegistry) -> None:
        """Export readiness and maintenance as gauges, evaluated at each scrape."""
        ready = Gauge(
            f"lienthong_{service}_ready",
            "1 when every readiness check passes (what /readyz answers 200 for), else 0.",
            registry=registry,
        )
        ready.set_function(lambda: 1.0 if self.ready().ok else 0.0)
        maintenance = Gauge(
            f"lienthong_{service}_maintenance",
            "1 while the maintenance file exists (the service reports not ready), else 0.",
            registry=registry,
        )
        maintenance.set_function(lambda: 1.0 if self.maintenance.active else 0.0)


def _report(checks: Mapping[str, Check]) -> Report:
    answers = {name: run_check(check) for name, check in checks.items()}
    return Report(all(answer == OK for answer in answers.values()), answers)
