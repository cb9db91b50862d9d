"""Watch the running axis from outside: counters, rows, latencies from the stores, memory.

Counters come from each service's /metrics (bench/services.py scrapes them); rows and
latencies from the stores themselves, so the figures say what is durable, not what a process
believes; peak memory is each process's VmHWM from /proc (the kernel's high-water mark of its
resident set, so a peak between two samples is not missed).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.services import scrape, total
from lienthong.consumer.store import tables as t
from lienthong.consumer.store.store import Store


def percentiles(values: Sequence[float], points: Iterable[int]) -> dict[str, float]:
    """Return nearest-rank percentiles (`p50`, ..., `max` for 100) of `values`; {} if none."""
    if not values:
        return {}
    ordered = sorted(values)
    found = {}
    for p in points:
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        found["max" if p == 100 else f"p{p}"] = round(ordered[rank - 1], 1)
    return found


@dataclass(frozen=True, slots=True)
class Counters:
    """What the routers and consumers had counted at one moment."""

    at: float  # perf_counter
    routed: float  # inbound records the routers committed (routed or dead-lettered)
    deliveries: float
    dead_lettered: float
    transactions: float
    persisted: float  # events the consumers persisted


def counters(routers: Sequence[str], consumers: Sequence[str]) -> Counters:
    """Scrape every router and consumer /metrics URL and sum their counters."""
    at = time.perf_counter()
    routed = deliveries = dead = transactions = persisted = 0.0
    for url in routers:
        samples = scrape(url)
        routed += total(samples, "lienthong_router_records_total")
        dead += total(samples, "lienthong_router_records_total", outcome="dead_lettered")
        deliveries += total(samples, "lienthong_router_deliveries_total")
        transactions += total(samples, "lienthong_router_transactions_total", outcome="committed")
    for url in consumers:
        samples = scrape(url)
        persisted += total(samples, "lienthong_consumer_events_total", outcome="persisted")
    return Counters(at, routed, deliveries, dead, transactions, persisted)


class Stores:
    """The endpoints' stores, opened once (no migration: the consumers did that)."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self._stores = {name: Store.open(url, migrate=False) for name, url in urls.items()}

    def close(self) -> None:
        """Close every store."""
        for store in self._stores.values():
            store.close()

    def rows(self) -> tuple[int, int]:
        """Return (events, rows of every table) summed over the stores."""
        events = rows = 0
        for store in self._stores.values():
            counts = store.counts()
            events += counts.get(t.events.name, 0)
            rows += sum(counts.values())
        return events, rows

    def events(self) -> int:
        """Return the events stored, summed over the stores (one cheap count each)."""
        found = 0
        for store in self._stores.values():
            with store.engine.connect() as conn:
                found += int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())
        return found

    def latencies_ms(self, since: datetime, until: datetime) -> list[tuple[float, float]]:
        """Return (persisted_at - occurred_at, routed_at - occurred_at) of each stored copy.

        Only the documents that occurred in the window count. routed_at is the router's time
        for the batch (lt-routed-at, taken before its transaction), so the second figure is
        the API, Kafka and the router's wait for a batch; the rest is the router's commit,
        the consumer's wait for a batch and the store.
        """
        e = t.events
        query = select(e.c.occurred_at, e.c.routed_at, e.c.persisted_at).where(
            e.c.event_type == "document", e.c.occurred_at >= since, e.c.occurred_at < until
        )
        found: list[tuple[float, float]] = []
        for store in self._stores.values():
            with store.engine.connect() as conn:
                found += [
                    (
                        1000 * (persisted - occurred).total_seconds(),
                        1000 * ((routed or occurred) - occurred).total_seconds(),
                    )
                    for occurred, routed, persisted in conn.execute(query)
                ]
        return found


def peak_rss_mib(pid: int | None) -> float | None:
    """Return a process's peak resident set (VmHWM) in MiB, or None if it is gone."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


class Sampler:
    """Call `show` every `interval_s` seconds in a thread until stopped: the progress line."""

    def __init__(self, show: Callable[[], None], interval_s: float) -> None:
        self._show = show
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._show()
