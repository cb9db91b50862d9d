"""How the axis grows with work: routers at 1 and 2 processes, consumers at 1, 4 and 16 endpoints.

Run: .venv/bin/python -m bench.scaling [--rate R] [--seconds S] [--routers 1,2]
       [--endpoints 1,4,16] [--fanout F] [--drain-timeout S] [--json PATH]
One broker and one PostgreSQL server for every figure (as bench/pipeline.py starts them).

- Routers: on a pre-loaded input (the documents of bench/pipeline_ceilings.py, fan-out F,
  default 8), `lienthong router run` as 1 and 2 processes in one group (instance ids
  bench-0, bench-1), timed from the first assignment to the last committed offset, beside the
  minimal loop on the same input; then the whole pipeline with 1 and 2 routers (F endpoints).
- Consumers: the whole pipeline with 1, 4 and 16 endpoints, each document addressed to all
  of them (fan-out = endpoints), one consumer and database each: the persisting work grows
  with the endpoints.

Each pipeline figure is measured at a fixed moderate load (R documents/s, default 1,000) and
then at saturation, on the same processes (bench/pipeline_run.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench import router as router_bench
from bench.fanout import preload
from bench.ingest import Meter, kafka_settings, progress
from bench.pipeline import databases, default_batch, server_pid
from bench.pipeline_axis import Axis, CreateDatabase
from bench.pipeline_ceilings import documents
from bench.pipeline_load import Load
from bench.pipeline_report import TARGET_RATE
from bench.pipeline_run import AxisRun, Shape, run_axis
from bench.services import (
    CpuWatch,
    PidSource,
    headline,
    machine,
    one,
    run_service,
    wait_for_log,
    with_children,
)
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
from lienthong.devtools.kafka import LocalKafka
from tests.support.kafka import create_topics, unique_name
from tests.support.ports import free_port
from tests.support.postgres import LocalPostgres

ROUTER_DOCS = 20_000


@dataclass(frozen=True, slots=True)
class ScalingPlan:
    """What the scaling run measures."""

    rate: float = TARGET_RATE
    seconds: float = 15.0
    routers: tuple[int, ...] = (1, 2)
    endpoints: tuple[int, ...] = (1, 4, 16)
    fanout: int = 8
    router_docs: int = ROUTER_DOCS
    drain_timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Scaled:
    """Every figure of the scaling run."""

    routers_alone: list[router_bench.Figure]
    pipelines: list[tuple[str, AxisRun]]


def measure_routers(
    bootstrap: str,
    axis: Axis,
    topic: str,
    processes: int,
    workdir: Path,
    *,
    meter: Meter,
    cpu: Mapping[str, PidSource],
) -> router_bench.Figure:
    """Route the pre-loaded topic with `processes` routers in one group; time it from outside."""
    fanout = axis.fanout
    world = replace(axis.world, inbound={fanout: topic})
    group = unique_name("bench-routers")
    watcher, ends = router_bench._end_offsets(bootstrap, topic, group)
    expected = sum(tp.offset for tp in ends)
    with ExitStack() as stack:
        services = []
        for i in range(processes):
            port = free_port()
            env = router_bench.router_env(bootstrap, world, fanout, group, port)
            env["LIENTHONG_ROUTER_INSTANCE_ID"] = f"bench-{i}"
            log = workdir / f"routers-{processes}-{i}.log"
            services.append(stack.enter_context(run_service(["router", "run"], env, log, port)))
        watch = CpuWatch(
            {f"router-{i}": one(s.pid) for i, s in enumerate(services)} | dict(cpu),
        )
        started = min(wait_for_log(s, "router_rebalance", kind="assigned") for s in services)
        watch.start()
        meter.begin(meter.label)
        deadline = time.monotonic() + 600
        while (done := router_bench._committed(watcher, ends)) < expected:
            meter.done = done
            if time.monotonic() > deadline or any(s.process.poll() is not None for s in services):
                raise RuntimeError(f"routers stopped at {done}/{expected}:\n{services[0].tail()}")
            time.sleep(0.02)
        finished = time.time()
        shares = watch.stop()
    watcher.close()
    how = (
        f"{processes} x `lienthong router run` in one group (instance ids bench-0..), exactly-once,"
        " timed from the first assignment to the last committed offset"
    )
    return router_bench.Figure(
        f"ours: {processes} router process{'es' if processes > 1 else ''}, fan-out {fanout}",
        "ours",
        fanout,
        expected,
        expected * fanout,
        finished - started,
        how,
        shares,
    )


def routers_alone(
    bootstrap: str,
    axis: Axis,
    plan: ScalingPlan,
    workdir: Path,
    *,
    meter: Meter,
    cpu: Mapping[str, PidSource],
) -> list[router_bench.Figure]:
    """Pre-load documents and route them with 1, 2, ... processes, beside the minimal loop."""
    meter.begin(f"routers alone: pre-loading {plan.router_docs:,} documents")
    loaded = documents(Codec(SchemaStore.from_package()), axis.fanout, plan.router_docs, 1024)
    topic = create_topics(
        kafka_settings(bootstrap),
        f"{axis.inbound}.routers",
        partitions=axis.world.topics.inbound_partitions,
    )[0]
    preload(kafka_settings(bootstrap), topic, loaded.records)
    minimal = router_bench.measure_minimal(
        bootstrap, topic, axis.world.minimal[: axis.fanout], meter=meter, cpu=cpu
    )
    figures = [minimal]
    for n in plan.routers:
        meter.begin(f"routers alone: {n} process(es)")
        figures.append(measure_routers(bootstrap, axis, topic, n, workdir, meter=meter, cpu=cpu))
    return figures


def run(
    bootstrap: str,
    plan: ScalingPlan,
    workdir: Path,
    create_database: CreateDatabase,
    *,
    meter: Meter,
    broker: Mapping[str, PidSource],
    database: Mapping[str, PidSource],
    progress_s: float = 2.0,
) -> Scaled:
    """Measure every configuration, each at the fixed rate and then at saturation."""
    loads = (
        Load(plan.rate, plan.seconds, batch=default_batch(plan.rate)),
        Load(None, plan.seconds, batch=default_batch(None)),
    )
    shapes = [
        (f"{n} router(s), fan-out {plan.fanout}", Shape(plan.fanout, plan.fanout, n))
        for n in plan.routers
    ]
    shapes += [(f"{e} endpoint(s), fan-out {e}", Shape(e, e, 1)) for e in plan.endpoints]
    pipelines: list[tuple[str, AxisRun]] = []
    alone: list[router_bench.Figure] = []
    for index, (label, shape) in enumerate(shapes):
        run_dir = workdir / f"run-{index}"
        run_dir.mkdir()
        done = run_axis(
            bootstrap,
            shape,
            loads,
            run_dir,
            create_database,
            meter=meter,
            watched={**broker, **database},
            drain_timeout_s=plan.drain_timeout_s,
            progress_s=progress_s,
        )
        pipelines.append((label, done))
        if index == 0:
            alone = routers_alone(bootstrap, done.axis, plan, run_dir, meter=meter, cpu=broker)
    return Scaled(alone, pipelines)


def _cpu(cpu: Mapping[str, float], prefix: str) -> str:
    found = [v for k, v in cpu.items() if k.startswith(prefix)]
    return f"{sum(found):.0f}" if found else "-"


def table(scaled: Scaled) -> str:
    """Render every pipeline figure as one Markdown table."""
    lines = [
        (
            "| configuration | load | docs in/s | sustained | router in/s | deliveries/s"
            " | events persisted/s | left at end | drain s | latency p50 / p99 ms"
            " | CPU % api / routers / consumers / broker / postgres |"
        ),
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, axis_run in scaled.pipelines:
        for p in axis_run.phases:
            lat = " / ".join(
                f"{p.latency_ms[k]:,.0f}" if k in p.latency_ms else "-" for k in ("p50", "p99")
            )
            cpu = " / ".join(
                _cpu(p.cpu, k) for k in ("api", "router", "consumer", "broker", "postgres")
            )
            lines.append(
                f"| {label} | {p.offered.load.label} | {p.offered.rate:,.0f}"
                f" | {'yes' if p.sustained else 'no'} | {p.router_in_rate:,.0f}"
                f" | {p.delivery_rate:,.0f} | {p.persisted_rate:,.0f} | {p.backlog:,}"
                f" | {p.drain_s:.1f}{'+' if p.unpersisted else ''} | {lat} | {cpu} |"
            )
    return "\n".join(lines)


def report(scaled: Scaled, plan: ScalingPlan, load: Sequence[float]) -> dict[str, Any]:
    """Return the results as plain data."""
    return {
        "command": " ".join([".venv/bin/python -m bench.scaling", *sys.argv[1:]]),
        "machine": machine(load),
        "plan": asdict(plan),
        "routers_alone": [
            {**asdict(f), "input_rate": round(f.input_rate, 1)} for f in scaled.routers_alone
        ],
        "pipelines": [
            {
                "configuration": label,
                "shape": asdict(r.shape),
                "phases": [asdict(p) for p in r.phases],
                "peak_rss_mib": r.peak_rss_mib,
            }
            for label, r in scaled.pipelines
        ],
    }


def render(data: Mapping[str, Any], scaled: Scaled) -> str:
    """Return the report as text."""
    return "\n".join(
        [
            *headline(str(data["command"]), data["machine"]),
            "",
            "Routers alone, on the same pre-loaded input:",
            "",
            router_bench.table(scaled.routers_alone),
            "",
            "The whole pipeline (API, routers, a consumer and a database per endpoint):",
            "",
            table(scaled),
            "",
            (
                "drain s: from the end of the load until every copy was persisted ('+': the"
                " drain timeout passed first); CPU: % of one core during the load, summed over"
                " the processes of each kind."
            ),
        ]
    )


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def main() -> None:
    """Start a broker and PostgreSQL, measure every configuration, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--routers", type=_ints, default=(1, 2))
    parser.add_argument("--endpoints", type=_ints, default=(1, 4, 16))
    parser.add_argument("--fanout", type=int, default=8)
    parser.add_argument("--router-docs", type=int, default=ROUTER_DOCS)
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    plan = ScalingPlan(
        args.rate,
        args.seconds,
        args.routers,
        args.endpoints,
        args.fanout,
        args.router_docs,
        args.drain_timeout,
    )
    load_before = os.getloadavg()[0]
    meter = Meter("starting the broker and PostgreSQL")
    with (
        progress(meter),
        tempfile.TemporaryDirectory(prefix="lienthong-bench-") as tmp,
        LocalKafka(home=Path(tmp) / "kafka") as broker,
        LocalPostgres() as server,
    ):
        scaled = run(
            broker.bootstrap,
            plan,
            Path(tmp),
            databases(server),
            meter=meter,
            broker={"broker": one(broker.pid)},
            database={"postgres": with_children(server_pid(server))},
            progress_s=2.0 if sys.stderr.isatty() else 10.0,
        )
        data = report(scaled, plan, (load_before, os.getloadavg()[0]))
    print(render(data, scaled))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
