"""Run the axis as processes and measure each load offered to it: rates, backlog, latency, CPU.

One run starts the stack once (services/demo/stack.py, each service ready on /readyz), warms
it up (a few hundred documents, persisted everywhere, so connections, metadata, the first
transaction and the schema are behind us), then measures each load in turn on the same
processes. For each load: the counters before and after the load window give the rates of
every stage; the stores then have until the drain timeout to catch up, and the latency is
read back from them for the documents that occurred during the window.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.fanout import DOCUMENT_BYTES
from bench.ingest import Meter, kafka_settings
from bench.pipeline_axis import Axis, CreateDatabase, Running, build_axis, declare
from bench.pipeline_load import Documents, Load, Offered, offer
from bench.pipeline_watch import Counters, Sampler, Stores, counters, peak_rss_mib, percentiles
from bench.services import CpuWatch, PidSource, _start_py_spy, one
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore

WARMUP_DOCS = 200
LATENCY_POINTS = (50, 95, 99, 100)
SPLIT_POINTS = (50, 99)


@dataclass(frozen=True, slots=True)
class Shape:
    """The axis one run builds: fan-out, endpoints (a consumer each), routers, document size."""

    fanout: int = 8
    endpoints: int = 8
    routers: int = 1
    doc_bytes: int = DOCUMENT_BYTES


@dataclass(frozen=True, slots=True)
class Phase:
    """One load's figures: each stage's rate in the window, what was left, the latency."""

    offered: Offered
    window_s: float
    router_in_rate: float  # inbound records committed by the routers per second
    delivery_rate: float  # copies committed to delivery topics per second
    persisted_rate: float  # events persisted per second, every store
    rows_rate: float  # rows written per second, every table of every store
    backlog: int  # copies not yet persisted when the load stopped
    drain_s: float  # from the end of the load until every copy was persisted
    unpersisted: int  # copies still missing at the drain timeout (0 when drained)
    latency_ms: dict[str, float]
    latencies: int  # how many persisted copies the latency figures cover
    to_router_ms: dict[str, float]  # occurred_at -> routed_at (API, Kafka, the router's wait)
    after_router_ms: dict[str, float]  # routed_at -> persisted_at (commit, consumer, store)
    cpu: dict[str, float]
    transactions: float  # router transactions committed in the window
    dead_lettered: float

    @property
    def sustained(self) -> bool:
        """Tell whether the pipeline kept up: the load offered in full, little left behind."""
        return self.offered.kept_up and self.unpersisted == 0 and self.drain_s < 2.0


@dataclass(frozen=True, slots=True)
class AxisRun:
    """A run's axis (for the ceilings), its phases and its processes' peak memory."""

    axis: Axis
    shape: Shape
    phases: list[Phase]
    peak_rss_mib: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Expected:
    copies: int = 0


def _wait_persisted(
    running: Running, expected: int, timeout_s: float, meter: Meter, label: str
) -> tuple[float, int]:
    """Wait until the consumers persisted `expected` events; return (seconds, still missing)."""
    started = time.perf_counter()
    routers, consumers = running.metrics_urls("router"), running.metrics_urls("consumer")
    while True:
        done = counters(routers, consumers).persisted
        meter.label, meter.done = f"{label}: {done:,.0f}/{expected:,} copies persisted", int(done)
        elapsed = time.perf_counter() - started
        if done >= expected or elapsed > timeout_s:
            return elapsed, max(0, expected - int(done))
        time.sleep(0.1)


def _progress(running: Running, meter: Meter, label: str) -> Callable[[], None]:
    routers, consumers = running.metrics_urls("router"), running.metrics_urls("consumer")

    def show() -> None:
        c = counters(routers, consumers)
        meter.label = (
            f"{label}: {meter.done:,} docs accepted | router {c.routed:,.0f} in,"
            f" {c.deliveries:,.0f} copies | {c.persisted:,.0f} persisted"
        )

    return show


def measure_phase(  # noqa: PLR0917 - one call site, each argument distinct
    running: Running,
    axis: Axis,
    stores: Stores,
    load: Load,
    docs: Documents,
    expected: _Expected,
    *,
    bootstrap: str,
    cpu: Mapping[str, PidSource],
    meter: Meter,
    drain_timeout_s: float,
    progress_s: float,
) -> Phase:
    """Offer one load, then wait for the stores to catch up; return its figures."""
    routers, consumers = running.metrics_urls("router"), running.metrics_urls("consumer")
    label = f"load {load.label}, {load.seconds:g} s"
    meter.begin(label)
    before: Counters = counters(routers, consumers)
    rows_before = stores.rows()[1]
    watch = CpuWatch(cpu)
    watch.start()
    with Sampler(_progress(running, meter, label), progress_s):
        offered = offer(
            load,
            docs,
            meter,
            api_url=running.api_url,
            headers=axis.headers,
            bootstrap=bootstrap,
            topic=axis.inbound,
        )
    after = counters(routers, consumers)
    shares = watch.stop()
    rows_after = stores.rows()[1]
    window = after.at - before.at
    expected.copies += offered.accepted * axis.fanout
    backlog = max(0, expected.copies - int(after.persisted))
    drain_s, missing = _wait_persisted(
        running, expected.copies, drain_timeout_s, meter, f"{label}, draining"
    )
    # occurred_at is kept to the millisecond: the first batch may fall in the start's one.
    since = datetime.fromtimestamp(offered.started - 0.001, UTC)
    until = datetime.fromtimestamp(offered.started + offered.seconds + 1, UTC)
    latencies = stores.latencies_ms(since, until)
    return Phase(
        offered,
        round(window, 3),
        (after.routed - before.routed) / window,
        (after.deliveries - before.deliveries) / window,
        (after.persisted - before.persisted) / window,
        (rows_after - rows_before) / window,
        backlog,
        round(drain_s, 2),
        missing,
        percentiles([total for total, _ in latencies], LATENCY_POINTS),
        len(latencies),
        percentiles([routed for _, routed in latencies], SPLIT_POINTS),
        percentiles([total - routed for total, routed in latencies], SPLIT_POINTS),
        shares,
        after.transactions - before.transactions,
        after.dead_lettered - before.dead_lettered,
    )


def run_axis(
    bootstrap: str,
    shape: Shape,
    loads: Sequence[Load],
    workdir: Path,
    create_database: CreateDatabase,
    *,
    meter: Meter,
    watched: Mapping[str, PidSource] | None = None,
    drain_timeout_s: float = 90.0,
    progress_s: float = 2.0,
    warmup_docs: int = WARMUP_DOCS,
    profile: Path | None = None,
) -> AxisRun:
    """Build the axis, start it, warm it up, measure each load, stop it.

    With `profile` (a path ending in .svg, .json or .txt), py-spy records the API, each router
    and the first consumer from the warm-up to the end, into `<stem>-<service><suffix>`.
    """
    meter.begin("creating topics, the directory and a database per endpoint")
    axis = build_axis(
        kafka_settings(bootstrap), workdir, shape.fanout, shape.endpoints, create_database
    )
    running = declare(axis, bootstrap, shape.routers, workdir / "logs")
    docs = Documents(Codec(SchemaStore.from_package()), axis.recipients, shape.doc_bytes)
    expected = _Expected()
    phases: list[Phase] = []
    spies: list[subprocess.Popen[bytes]] = []
    try:
        running.stack.start(meter.begin, timeout_s=180)
        if profile is not None:
            spies = _spy(running, profile)
        cpu = {name: one(pid) for name, pid in running.pids().items()} | dict(watched or {})
        stores = Stores(axis.databases)
        try:
            first = loads[0]
            warm = Load(None, 120, warmup_docs, min(first.batch, 50), first.clients, first.via)
            meter.begin("warming up")
            done = offer(
                warm,
                docs,
                meter,
                api_url=running.api_url,
                headers=axis.headers,
                bootstrap=bootstrap,
                topic=axis.inbound,
            )
            if done.failed:
                raise RuntimeError(f"the warm-up was refused: {done.first_error}")
            expected.copies = done.accepted * axis.fanout
            _, missing = _wait_persisted(running, expected.copies, 120, meter, "warming up")
            if missing:
                raise RuntimeError(f"warm-up: {missing} copies not persisted after 120 s")
            phases = [
                measure_phase(
                    running,
                    axis,
                    stores,
                    load,
                    docs,
                    expected,
                    bootstrap=bootstrap,
                    cpu=cpu,
                    meter=meter,
                    drain_timeout_s=drain_timeout_s,
                    progress_s=progress_s,
                )
                for load in loads
            ]
        finally:
            stores.close()
        pids = running.pids() | {
            name: pid for name, pid in _single_pids(watched or {}).items() if pid is not None
        }
        rss = {name: peak_rss_mib(pid) for name, pid in pids.items()}
    finally:
        running.stack.stop()
        for spy in spies:  # each writes its profile when its process exits
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
    return AxisRun(axis, shape, phases, {k: v for k, v in rss.items() if v is not None})


def _spy(running: Running, profile: Path) -> list[subprocess.Popen[bytes]]:
    """Start py-spy on the API, the routers and the first consumer."""
    chosen = [running.api, *running.routers, next(iter(running.consumers.values()))]
    return [
        _start_py_spy(s.process.pid, profile.with_name(f"{profile.stem}-{s.name}{profile.suffix}"))
        for s in chosen
        if s.process is not None
    ]


def _single_pids(watched: Mapping[str, PidSource]) -> dict[str, int | None]:
    """Return the pid of each watched group that is one process (the broker), else None."""
    found: dict[str, int | None] = {}
    for name, source in watched.items():
        pids = list(source())
        found[name] = pids[0] if len(pids) == 1 else None
    return found
