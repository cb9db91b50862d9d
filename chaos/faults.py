"""The faults the suite injects, and how long the axis took to make progress again after each.

A process kill is SIGKILL to its process group (nothing of its shutdown runs) and an immediate
restart, as a supervisor would do; the broker is SIGKILLed or stopped gracefully, left away
for a while and started again on the same data; the database is stopped (fast: connections
cut) and started again. The recovery time of a fault runs from its healing (the process
restarted, the broker or database accepting connections again) to the first progress of
what it hit, as the watcher saw it from outside; `away_s` runs from the injection instead.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chaos.watch import Watcher
from chaos.world import Running
from lienthong.devtools.kafka import LocalKafka
from tests.support.postgres import LocalPostgres

KINDS = ("router-kill", "consumer-kill", "broker-kill", "broker-stop", "database-outage")


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: its kind, the service it hits (kills), how long it lasts (outages)."""

    kind: str
    target: str = ""
    down_s: float = 0.0

    @property
    def label(self) -> str:
        """Return the fault as the report names it."""
        what = f" {self.target}" if self.target else ""
        how_long = f" ({self.down_s:g} s down)" if self.down_s else ""
        return f"{self.kind}{what}{how_long}"


@dataclass(slots=True)
class Outcome:
    """When a fault started, healed and was recovered from, and what was seen meanwhile."""

    fault: Fault
    injected_at: float
    healed_at: float
    resumed_at: float | None
    router_pids: tuple[tuple[int | None, ...], tuple[int | None, ...]]  # before, after
    each: dict[str, float] = field(default_factory=dict)  # service -> s from healing to progress
    not_ready_seen: bool = False  # the router's /readyz answered non-200 during the fault
    max_lag: float = 0.0  # the router's lag gauge, highest during the fault
    notes: list[str] = field(default_factory=list)

    @property
    def recovery_s(self) -> float | None:
        """Return the seconds from healing to progress (None: no progress in time)."""
        return None if self.resumed_at is None else max(0.0, self.resumed_at - self.healed_at)

    @property
    def away_s(self) -> float | None:
        """Return the seconds from the injection to progress."""
        return None if self.resumed_at is None else self.resumed_at - self.injected_at


class Injector:
    """Inject faults into a running axis and measure the recovery from each."""

    def __init__(
        self,
        running: Running,
        kafka: LocalKafka,
        postgres: LocalPostgres,
        watcher: Watcher,
        *,
        resume_timeout_s: float = 120.0,
        progress: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self._running = running
        self._kafka = kafka
        self._postgres = postgres
        self._watcher = watcher
        self._timeout = resume_timeout_s
        self._progress = progress

    def inject(self, fault: Fault) -> Outcome:
        """Inject one fault, heal it, and wait for the axis to make progress again."""
        routers = [r.name for r in self._running.routers]
        consumers = [c.name for c in self._running.consumers.values()]
        before = self._router_pids()
        self._progress(f"injecting {fault.label}")
        injected = time.monotonic()
        if fault.kind in ("router-kill", "consumer-kill"):
            self._running.stack.kill(fault.target)
            healed = time.monotonic()
            self._running.stack.restart(fault.target)
            watched: Sequence[str] = [fault.target]
        elif fault.kind in ("broker-kill", "broker-stop"):
            self._broker_down(graceful=fault.kind == "broker-stop")
            time.sleep(fault.down_s)
            self._kafka.start()
            healed = time.monotonic()
            watched = [*routers, *consumers]
        elif fault.kind == "database-outage":
            self._postgres.stop("fast")
            time.sleep(fault.down_s)
            self._postgres.start()
            healed = time.monotonic()
            watched = consumers
        else:
            raise ValueError(f"unknown fault {fault.kind!r} (known: {', '.join(KINDS)})")
        when = self._watcher.resumed(watched, healed, self._timeout)
        resumed = max(when.values()) if len(when) == len(watched) else None
        outcome = Outcome(fault, injected, healed, resumed, (before, self._router_pids()))
        outcome.each = {name: round(at - healed, 2) for name, at in when.items()}
        outcome.notes.extend(self._revive_the_dead())
        window_end = resumed if resumed is not None else time.monotonic()
        for name in routers:
            seen = self._watcher.samples(name, injected, window_end)
            outcome.not_ready_seen |= any(s.ready is False for s in seen)
            outcome.max_lag = max([outcome.max_lag, *(s.lag or 0.0 for s in seen)])
        shown = "no progress" if outcome.recovery_s is None else f"{outcome.recovery_s:.1f} s"
        self._progress(f"{fault.label}: progress again {shown} after healing")
        return outcome

    def _revive_the_dead(self) -> list[str]:
        """Restart any service that exited on its own (a defect: it is reported, not hidden)."""
        notes = []
        for service in self._running.stack.services:
            process = service.process
            if process is not None and process.poll() is not None:
                notes.append(f"{service.name} exited on its own with {process.returncode}")
                self._running.stack.restart(service.name)
        return notes

    def _broker_down(self, *, graceful: bool) -> None:
        if graceful:
            self._kafka.stop()
            return
        pid = self._kafka.pid
        if pid is None:
            raise RuntimeError("the broker has no pid: is it running?")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _router_pids(self) -> tuple[int | None, ...]:
        return tuple(
            r.process.pid if r.process is not None else None for r in self._running.routers
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # noqa: PTH123
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
