"""The whole axis under load, beside ceilings and a Quix Streams peer measured in the same run.

Run: .venv/bin/python -m bench.pipeline [--rate R | --saturate] [--seconds S | --count N]
       [--doc-bytes B] [--fanout F] [--endpoints E] [--routers R] [--via api|client]
       [--batch N] [--clients C] [--drain-timeout S] [--no-ceilings] [--no-peer] [--json PATH]
       [--security secured|insecure|both]
It starts its own broker (lienthong.devtools: temp dir, free ports; SASL_SSL with SCRAM, or
PLAINTEXT with --security insecure; `both` runs everything on each in turn and prints the
secured/plaintext ratio of each load's rates and latency) and PostgreSQL server
(tests.support.postgres), a generated directory (bench/fanout.py: endpoints ep-NN, a group per
fan-out, the sender on an endpoint of its own), and, as separate processes (services/demo/
stack.py), the producer API, the router(s) and a consumer per endpoint, each with a database
of its own. It offers documents through the API's batch endpoint (or the Python client) at
R documents/s (default 1,000; ~1 KB each, fan-out 8) or as fast as they are taken, for S
seconds, and reports the rate of every stage (documents in, router input, deliveries out,
events and rows persisted), whether the offered rate was sustained, end-to-end latency from
occurred_at to persisted_at read back from the stores, CPU and peak memory per process, broker
and database CPU. Then, on the same broker and database, the ceilings (bench/pipeline_ceilings.py):
Kafka's ProducerPerformance and ConsumerPerformance, the minimal consume -> produce loop, a bulk
insert of the same rows; our router alone and the Quix Streams router on the same pre-loaded
documents. Every figure is printed beside its ceiling. Scaling runs: bench/scaling.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import count as counter
from pathlib import Path
from typing import Any

from bench.fanout import DOCUMENT_BYTES
from bench.ingest import Meter, progress
from bench.pipeline_axis import CreateDatabase
from bench.pipeline_ceilings import COUNT_CAP, measure_ceilings
from bench.pipeline_load import Load
from bench.pipeline_report import TARGET_FANOUT, TARGET_RATE, Result, render, report
from bench.pipeline_run import WARMUP_DOCS, Shape, run_axis
from bench.services import PidSource, one, with_children
from lienthong.devtools.kafka import LocalKafka
from tests.support.postgres import LocalPostgres


@dataclass(frozen=True, slots=True)
class Plan:
    """What one run measures."""

    shape: Shape
    loads: tuple[Load, ...]
    ceilings: bool = True
    peer: bool = True
    tools: bool = True
    drain_timeout_s: float = 90.0
    ceiling_cap: int = COUNT_CAP
    warmup_docs: int = WARMUP_DOCS
    profile: Path | None = None


def run(
    bootstrap: str,
    plan: Plan,
    workdir: Path,
    create_database: CreateDatabase,
    *,
    meter: Meter | None = None,
    broker: Mapping[str, PidSource] | None = None,
    database: Mapping[str, PidSource] | None = None,
    broker_home: Path | None = None,
    progress_s: float = 2.0,
) -> Result:
    """Measure the pipeline under each load, then the ceilings on the same broker and database."""
    meter = meter or Meter()
    axis_run = run_axis(
        bootstrap,
        plan.shape,
        plan.loads,
        workdir,
        create_database,
        meter=meter,
        watched={**(broker or {}), **(database or {})},
        drain_timeout_s=plan.drain_timeout_s,
        progress_s=progress_s,
        warmup_docs=plan.warmup_docs,
        profile=plan.profile,
    )
    if not plan.ceilings:
        return Result(axis_run, None)
    accepted = max(p.offered.accepted for p in axis_run.phases)
    ceilings = measure_ceilings(
        bootstrap,
        axis_run.axis,
        max(1, min(accepted, plan.ceiling_cap)),
        doc_bytes=plan.shape.doc_bytes,
        workdir=workdir,
        create_database=create_database,
        meter=meter,
        broker=broker or {},
        database=database or {},
        broker_home=broker_home,
        peer=plan.peer,
        tools=plan.tools,
    )
    return Result(axis_run, ceilings)


def default_batch(rate: float | None) -> int:
    """Return the batch size: 100 at saturation; at a rate, the documents of 20 ms."""
    return 100 if rate is None else max(1, min(100, round(rate * 0.02)))


def parse(argv: Sequence[str] | None = None) -> tuple[Plan, argparse.Namespace]:
    """Parse the command line into a plan."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, default=TARGET_RATE, help="documents/s offered")
    pace.add_argument("--saturate", action="store_true", help="offer as fast as taken")
    span = parser.add_mutually_exclusive_group()
    span.add_argument("--seconds", type=float, default=20.0, help="length of the load")
    span.add_argument("--count", type=int, help="documents to offer (instead of --seconds)")
    parser.add_argument("--doc-bytes", type=int, default=DOCUMENT_BYTES)
    parser.add_argument("--fanout", type=int, default=TARGET_FANOUT)
    parser.add_argument("--endpoints", type=int, help="consumers (default: the fan-out)")
    parser.add_argument("--routers", type=int, default=1)
    parser.add_argument("--via", choices=("api", "client"), default="api")
    parser.add_argument("--batch", type=int, help="documents a request (default: see docs)")
    parser.add_argument("--clients", type=int, default=8, help="API connections")
    parser.add_argument("--drain-timeout", type=float, default=90.0)
    parser.add_argument("--no-ceilings", action="store_true")
    parser.add_argument("--no-peer", action="store_true", help="skip the Quix Streams router")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument(
        "--security",
        choices=("secured", "insecure", "both"),
        default="secured",
        help="the broker's client listener: SASL_SSL, PLAINTEXT, or each in turn",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the API, the routers and one consumer into PATH-<service> (.svg/.json/.txt)",
    )
    args = parser.parse_args(argv)
    rate = None if args.saturate else args.rate
    seconds = 3600.0 if args.count else args.seconds
    load = Load(
        rate, seconds, args.count, args.batch or default_batch(rate), args.clients, args.via
    )
    shape = Shape(args.fanout, args.endpoints or args.fanout, args.routers, args.doc_bytes)
    plan = Plan(
        shape,
        (load,),
        ceilings=not args.no_ceilings,
        peer=not args.no_peer,
        drain_timeout_s=args.drain_timeout,
        profile=args.profile,
    )
    return plan, args


def server_pid(server: LocalPostgres) -> int | None:
    """Return the PostgreSQL postmaster's pid."""
    try:
        return int((server.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def databases(server: LocalPostgres) -> Callable[[str], str]:
    """Return a function creating a database on the server from a name (made unique)."""
    numbers = counter()
    return lambda name: server.create_database(f"{name[:50]}_{next(numbers)}")


def measure(plan: Plan, *, insecure: bool) -> dict[str, Any]:
    """Run the whole benchmark on a broker of its own; print and return its results."""
    load_before = os.getloadavg()[0]
    security = "PLAINTEXT" if insecure else "SASL_SSL"
    meter = Meter(f"starting the {security} broker and PostgreSQL")
    with (
        progress(meter),
        tempfile.TemporaryDirectory(prefix="lienthong-bench-") as tmp,
        LocalKafka(home=Path(tmp) / "kafka", insecure=insecure) as broker,
        LocalPostgres() as server,
    ):
        result = run(
            broker.bootstrap,
            plan,
            Path(tmp),
            databases(server),
            meter=meter,
            broker={"broker": one(broker.pid)},
            database={"postgres": with_children(server_pid(server))},
            broker_home=broker.home,
            progress_s=2.0 if sys.stderr.isatty() else 10.0,
        )
        command = " ".join([".venv/bin/python -m bench.pipeline", *sys.argv[1:]])
        data = report(result, (load_before, os.getloadavg()[0]), command)
    data["security"] = security
    print(f"broker: {security}")
    print(render(data, result))
    return data


# Each load's figures the cost of security is read on: rates, and latency percentiles.
_COST_RATES = ("router_in_rate", "delivery_rate", "persisted_rate")
_COST_LATENCIES = ("p50", "p99")


def security_cost(secured: Mapping[str, Any], insecure: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Pair each load's figures on the two brokers; ratio secured / plaintext."""
    rows = []
    for mine, plain in zip(secured["phases"], insecure["phases"], strict=True):
        figures = [("docs accepted/s", mine["offered"]["rate"], plain["offered"]["rate"])]
        figures += [(k.replace("_rate", "/s"), mine[k], plain[k]) for k in _COST_RATES]
        figures += [
            (f"latency {q} ms", mine["latency_ms"].get(q), plain["latency_ms"].get(q))
            for q in _COST_LATENCIES
        ]
        for name, ours, theirs in figures:
            ratio = round(ours / theirs, 3) if ours is not None and theirs else None
            rows.append(
                {
                    "load": mine["offered"]["load"]["rate"],  # None at saturation
                    "figure": name,
                    "secured": ours,
                    "insecure": theirs,
                    "ratio": ratio,
                }
            )
    return rows


def render_cost(cost: Sequence[Mapping[str, Any]]) -> str:
    """Return the cost of security as a Markdown table."""
    lines = [
        "cost of security: each load on a SASL_SSL (SCRAM-SHA-512) broker and a PLAINTEXT one",
        "",
        "| load offered (docs/s) | figure | PLAINTEXT | SASL_SSL | secured / plaintext |",
        "|---:|---|---:|---:|---:|",
    ]
    for row in cost:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        cells = ["-" if v is None else f"{v:,.0f}" for v in (row["insecure"], row["secured"])]
        lines.append(
            f"| {row['load']:,.0f} | {row['figure']} | {cells[0]} | {cells[1]} | {ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Start a broker and PostgreSQL, measure, print the tables and the targets, write JSON."""
    plan, args = parse()
    data: dict[str, Any]
    if args.security == "both":
        secured = measure(plan, insecure=False)
        insecure = measure(plan, insecure=True)
        cost = security_cost(secured, insecure)
        print(render_cost(cost))
        data = {"secured": secured, "insecure": insecure, "security_cost": cost}
    else:
        data = measure(plan, insecure=args.security == "insecure")
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
