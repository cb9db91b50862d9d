"""Watch the services from outside, as Prometheus and a load balancer would, while faults run.

A thread samples every service's /metrics and /readyz a few times a second: the router's
committed transactions, lag gauge and readiness, each consumer's persisted events. A fault's
recovery is read from these samples: the moment the component under fault made progress again
after it was healed (its counter rose; a restarted process starts from 0, so any count at all
from the new process is progress).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

_INTERVAL_S = 0.2

# What counts as progress for each kind of service, summed over the sample's series.
PROGRESS = {
    "router": ("lienthong_router_transactions_total", {"outcome": "committed"}),
    "consumer": ("lienthong_consumer_events_total", {"outcome": "persisted"}),
}


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at one service: its progress counter, readiness, lag and pid, or None if down."""

    at: float
    progress: float | None
    ready: bool | None
    lag: float | None
    pid: int | None


def _value(text: str, name: str, labels: Mapping[str, str]) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


class Watcher:
    """Sample services until stopped; answer when each made progress after a moment."""

    def __init__(
        self,
        services: Mapping[str, tuple[str, str]],  # name -> (kind, base URL)
        pids: Callable[[str], int | None],
    ) -> None:
        self._services = dict(services)
        self._pids = pids
        self._samples: dict[str, list[Sample]] = {name: [] for name in services}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-watch", daemon=True)

    def start(self) -> None:
        """Start sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(10)

    def samples(self, name: str, since: float = 0.0, until: float = float("inf")) -> list[Sample]:
        """Return a service's samples taken in [since, until]."""
        with self._lock:
            return [s for s in self._samples[name] if since <= s.at <= until]

    def resumed(self, names: Iterable[str], since: float, timeout_s: float) -> dict[str, float]:
        """Wait until every named service made progress after `since`; return when each did.

        A service missing from the answer made no progress within `timeout_s`.
        """
        deadline = time.monotonic() + timeout_s
        pending = set(names)
        when: dict[str, float] = {}
        while pending:
            for name in sorted(pending):
                at = progressed_at(self.samples(name, since))
                if at is not None:
                    pending.discard(name)
                    when[name] = at
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(_INTERVAL_S)
        return when

    def _run(self) -> None:
        with httpx.Client(timeout=1.0) as client:
            while not self._stop.is_set():
                for name, (kind, url) in self._services.items():
                    sample = _sample(client, kind, url, self._pids(name))
                    with self._lock:
                        self._samples[name].append(sample)
                self._stop.wait(_INTERVAL_S)


def _sample(client: httpx.Client, kind: str, url: str, pid: int | None) -> Sample:
    now = time.monotonic()
    try:
        text = client.get(f"{url}/metrics").text
        ready = client.get(f"{url}/readyz").status_code == 200  # noqa: PLR2004
    except httpx.HTTPError:
        return Sample(now, None, None, None, pid)
    name, labels = PROGRESS[kind]
    lag_name = (
        f"lienthong_{kind}_consumer_lag_records"
        if kind == "router"
        else "lienthong_consumer_lag_records"
    )
    return Sample(now, _value(text, name, labels), ready, _value(text, lag_name, {}), pid)


def progressed_at(samples: Sequence[Sample]) -> float | None:
    """Return when the counter first rose within `samples`, or None.

    The baseline is the first answer; a process that restarted (another pid) counts from 0,
    so its first answer with any count is already progress.
    """
    baseline: Sample | None = None
    for sample in samples:
        if sample.progress is None:
            continue
        if baseline is None:
            baseline = sample
            continue
        restarted = sample.pid != baseline.pid
        previous = 0.0 if restarted else (baseline.progress or 0.0)
        if sample.progress > previous:
            return sample.at
    return None
