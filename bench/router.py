"""Router throughput at fan-out 1, 8 and 64, exactly-once on, beside ceilings from the same run.

Run: .venv/bin/python -m bench.router [--count N] [--max-deliveries D] [--fanout 1,8,64]
                                       [--json PATH] [--profile DIR] [--no-tools]
                                       [--security secured|insecure|both]
It starts its own broker (tests.support.kafka: temp dir, free ports; secured, SASL_SSL with
SCRAM, as every deployment runs; or PLAINTEXT with --security insecure, the cost of security
measured and nothing else; `both` runs the whole benchmark on each broker in turn and prints
each figure's secured/insecure ratio), writes a directory with
as many endpoints as the largest fan-out (64) and a group `fan-N` per fan-out, creates the
topics as `lienthong topics apply` would (deployment defaults: 6 inbound, 3 delivery
partitions) and pre-loads one inbound topic per fan-out with 1 KB documents addressed to
`fan-N`: N inputs, or fewer where N x fan-out would pass D deliveries. Then, per fan-out,
on the same input and broker:

- ours: `lienthong router run` as its own process (the real RouterLoop: one Kafka transaction
  per batch, read_committed), timed from its partitions' assignment (its log line) to the
  moment the group's committed offsets reach the end of the input;
- the minimal loop: a confluent-kafka consume -> produce loop in this process, no
  transactions, the same client settings, copying each record to as many topics;
- the minimal loop + decode: the same, decoding each value with the contract's Codec first,
  as the router does once per record (what is left between it and ours is our own code);
  both loops run just before and just after ours, and each figure is the mean of two times;
- Kafka's ProducerPerformance for as many records as the deliveries (a reference);

and once Kafka's ConsumerPerformance over the fan-out-1 input. With --profile DIR, py-spy
records each router process (DIR/router-fanout-N.svg; collapsed stacks with --profile-format
txt, speedscope with json); its sampling slows the router, so profile in a run of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from bench.fanout import DOCUMENT_BYTES, Inputs, World, build_world, inputs, preload, text_payloads
from bench.ingest import Meter, progress
from bench.kafka_tools import consumer_performance, producer_performance
from bench.services import (
    CpuWatch,
    PidSource,
    headline,
    machine,
    one,
    run_service,
    scrape,
    total,
    wait_for_log,
)
from lienthong.contract import headers as h
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
from lienthong.devtools.kafka import settings_for
from lienthong.plumbing.kafka_confluent import common_config, make_consumer, make_producer
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import KafkaSettings, Settings
from tests.support.environ import inherited_env
from tests.support.kafka import LocalKafka, unique_name
from tests.support.ports import free_port

FANOUTS = (1, 8, 64)
COUNT = 20_000
MAX_DELIVERIES = 160_000
AIM_SHARE = 0.5
_POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure: inputs consumed and copies written in a window."""

    name: str
    kind: str  # "ours", "minimal", "decoding" (the minimal loop + decode) or "tool"
    fanout: int | None
    inputs: int
    deliveries: int
    seconds: float
    how: str
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core per process
    notes: dict[str, float] = field(default_factory=dict)

    @property
    def input_rate(self) -> float:
        """Return input events per second."""
        return self.inputs / self.seconds if self.seconds > 0 else 0.0

    @property
    def delivery_rate(self) -> float:
        """Return records written per second."""
        return self.deliveries / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    """What one run measures."""

    count: int = COUNT
    max_deliveries: int = MAX_DELIVERIES
    fanouts: tuple[int, ...] = FANOUTS
    tools: bool = True

    def inputs(self, fanout: int) -> int:
        """Return how many documents the fan-out's run routes."""
        return max(1, min(self.count, self.max_deliveries // fanout))


def kafka_settings(bootstrap: str) -> KafkaSettings:
    """Return the Kafka settings the services get: this broker's, with its credentials."""
    return settings_for(bootstrap)


def _end_offsets(bootstrap: str, topic: str, group: str) -> tuple[Consumer, list[TopicPartition]]:
    """Return a watcher in `group` (it never joins) and the topic's partitions at their end."""
    config = common_config(settings_for(bootstrap), statistics=False)
    watcher = Consumer({**config, "group.id": group})
    partitions = watcher.list_topics(topic, timeout=10).topics[topic].partitions
    ends = []
    for p in sorted(partitions):
        _, high = watcher.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends.append(TopicPartition(topic, p, high))
    return watcher, ends


def _committed(watcher: Consumer, ends: list[TopicPartition]) -> int:
    tps = [TopicPartition(tp.topic, tp.partition) for tp in ends]
    return sum(max(tp.offset, 0) for tp in watcher.committed(tps, timeout=10))


def router_env(bootstrap: str, world: World, fanout: int, group: str, port: int) -> dict[str, str]:
    """Return the environment of `lienthong router run` for one fan-out's input."""
    return {
        **inherited_env(),
        **environment(settings_for(bootstrap)),
        "LIENTHONG_TOPICS_INBOUND": world.inbound[fanout],
        "LIENTHONG_TOPICS_DLQ": world.topics.dlq,
        "LIENTHONG_TOPICS_DELIVERY_PREFIX": world.topics.delivery_prefix,
        "LIENTHONG_DIRECTORY_PATH": str(world.directory_path),
        "LIENTHONG_ROUTER_GROUP_ID": group,
        "LIENTHONG_ROUTER_INSTANCE_ID": "bench-0",
        "LIENTHONG_ROUTER_METRICS_PORT": str(port),
        "LIENTHONG_LOG_FORMAT": "json",
    }


def measure_router(
    bootstrap: str,
    world: World,
    fanout: int,
    workdir: Path,
    *,
    meter: Meter,
    cpu: Mapping[str, PidSource] | None = None,
    profile: Path | None = None,
) -> Figure:
    """Route the fan-out's pre-loaded input with `lienthong router run`; time it from outside."""
    group = unique_name("bench-router")
    port = free_port()
    env = router_env(bootstrap, world, fanout, group, port)
    watcher, ends = _end_offsets(bootstrap, world.inbound[fanout], group)
    expected = sum(tp.offset for tp in ends)
    log = workdir / f"router-fanout-{fanout}.log"
    try:
        with run_service(["router", "run"], env, log, port, profile=profile) as router:
            watch = CpuWatch({"router": one(router.pid), **(cpu or {})})
            started = wait_for_log(router, "router_rebalance", kind="assigned")
            watch.start()
            meter.begin(meter.label)
            deadline = time.monotonic() + 600
            while (done := _committed(watcher, ends)) < expected:
                meter.done = done
                if router.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"router stopped at {done}/{expected}:\n{router.tail()}")
                time.sleep(_POLL_S)
            finished = time.time()
            shares = watch.stop()
            samples = _settled(router.metrics_url, expected * fanout)
    finally:
        watcher.close()
    batches = samples.get("lienthong_router_batch_records_count", 0.0)
    notes = {
        "deliveries_counted": total(samples, "lienthong_router_deliveries_total"),
        "dead_lettered": total(samples, "lienthong_router_records_total", outcome="dead_lettered"),
        "transactions_committed": total(
            samples, "lienthong_router_transactions_total", outcome="committed"
        ),
        "transactions_aborted": total(
            samples, "lienthong_router_transactions_total", outcome="aborted"
        ),
        "mean_batch_records": round(
            samples.get("lienthong_router_batch_records_sum", 0.0) / batches, 1
        )
        if batches
        else 0.0,
        "mean_transaction_ms": round(
            1000 * samples.get("lienthong_router_transaction_duration_seconds_sum", 0.0) / batches,
            1,
        )
        if batches
        else 0.0,
    }
    how = (
        "`lienthong router run` (one process, RouterLoop, exactly-once: a transaction per batch"
        f" of up to {Settings.from_env(env).router.batch_max_records} records), timed from its"
        " assignment to the last committed offset"
    )
    # Without /metrics (it did not answer), the copies are not counted: routing is
    # deterministic, so each input made `fanout` of them.
    delivered = int(notes["deliveries_counted"]) if samples else expected * fanout
    notes["metrics_answered"] = 1.0 if samples else 0.0
    return Figure(
        f"ours: router, fan-out {fanout}",
        "ours",
        fanout,
        expected,
        delivered,
        finished - started,
        how,
        shares,
        notes,
    )


def _settled(url: str, deliveries: int, timeout_s: float = 15) -> dict[str, float]:
    """Scrape until the committed deliveries are counted (the count follows the commit)."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples = scrape(url)
        counted = total(samples, "lienthong_router_deliveries_total")
        if counted >= deliveries or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def measure_minimal(
    bootstrap: str,
    inbound: str,
    topics: Sequence[str],
    *,
    meter: Meter,
    cpu: Mapping[str, PidSource] | None = None,
    codec: Codec | None = None,
) -> Figure:
    """Copy every input record to each of `topics`: consume -> produce, no transactions.

    With `codec`, each value is decoded first, as the router does once per record: the
    difference from the plain loop is the price of the decode alone.
    """
    kafka = kafka_settings(bootstrap)
    group = unique_name("bench-minimal")
    watcher, ends = _end_offsets(bootstrap, inbound, group)
    watcher.close()
    expected = sum(tp.offset for tp in ends)
    failed: list[str] = []

    def on_error(err: KafkaError | None, _: Message) -> None:
        if err is not None:
            failed.append(err.str())

    # Deliveries are reported only when they fail: no Python call per copy.
    reports: dict[str, Any] = {"on_delivery": on_error, "delivery.report.only.error": True}
    producer = make_producer(kafka, **reports)
    consumer = make_consumer(kafka, group)
    assigned: list[float] = []
    consumer.subscribe([inbound], on_assign=lambda *_: assigned.append(time.time()))
    routed = [h.recipients_header(("000.00.01.H99",)), (h.ROUTED_AT, b"1795681815123")]
    watch = CpuWatch(cpu or {})
    consumed = 0
    meter.begin(meter.label)
    try:
        while consumed < expected:
            messages = consumer.consume(500, 0.1)
            if assigned and not consumed:
                watch.start()
            for message in messages:
                if message.error() is not None:
                    continue
                headers = [*(message.headers() or []), *routed]
                value, key = message.value(), message.key()
                if codec is not None and value is not None:
                    codec.decode(value)
                for topic in topics:
                    while True:
                        try:
                            producer.produce(topic, value, key, headers=headers)
                            break
                        except BufferError:
                            producer.poll(0.01)
                consumed += 1
            producer.poll(0)
            consumer.commit(asynchronous=True)
            meter.done = consumed
        left = producer.flush(120)
        finished = time.time()
        shares = watch.stop()
    finally:
        consumer.close()
    if left or failed:
        raise RuntimeError(
            f"minimal loop: {left} unacknowledged, {len(failed)} failed: {failed[:1]}"
        )
    how = (
        "confluent-kafka consume -> produce in the bench process, no transactions, the services'"
        " client settings (idempotent, acks=all, lz4, linger 1 ms), async offset commits"
        + ("; each value decoded with the contract's Codec first" if codec else "")
    )
    copies = f"{len(topics)} cop{'y' if len(topics) == 1 else 'ies'}"
    return Figure(
        f"minimal loop{' + decode' if codec else ''}, {copies}",
        "decoding" if codec else "minimal",
        len(topics),
        consumed,
        consumed * len(topics),
        finished - assigned[0],
        how,
        shares,
    )


def measure_producer_tool(
    bootstrap: str,
    world: World,
    records: int,
    payloads: Sequence[bytes],
    *,
    fanout: int,
    home: Path | None,
) -> Figure:
    """Run ProducerPerformance for as many records as the fan-out's deliveries."""
    run = producer_performance(bootstrap, world.perf_topic, records, payloads, home=home)
    return Figure(
        f"Kafka ProducerPerformance, {records:,} records",
        "tool",
        fanout,
        0,
        run.records,
        run.seconds,
        run.how,
    )


def measure_consumer_tool(
    bootstrap: str, world: World, fanout: int, records: int, home: Path | None
) -> Figure:
    """Run ConsumerPerformance over the fan-out's pre-loaded input."""
    got = consumer_performance(bootstrap, world.inbound[fanout], records, home=home)
    name = f"Kafka ConsumerPerformance, {records:,} records"
    return Figure(name, "tool", None, got.records, 0, got.seconds, got.how)


def run(
    bootstrap: str,
    plan: Plan,
    workdir: Path,
    *,
    broker_pid: int | None = None,
    broker_home: Path | None = None,
    meter: Meter | None = None,
    profile: Path | None = None,
    profile_format: str = "svg",
) -> tuple[list[Figure], dict[int, Inputs]]:
    """Set up the topics, pre-load every input and measure every figure."""
    meter = meter or Meter()
    kafka = kafka_settings(bootstrap)
    meter.begin("creating topics and pre-loading the inputs")
    world = build_world(kafka, workdir, plan.fanouts)
    codec = Codec(SchemaStore.from_package())
    loaded = {n: inputs(codec, n, plan.inputs(n)) for n in plan.fanouts}
    for n, batch in loaded.items():
        preload(kafka, world.inbound[n], batch.records)
        meter.done += len(batch.records)
    cpu = {"broker": one(broker_pid)}
    payloads = text_payloads(loaded[plan.fanouts[0]].records, codec)
    steps: list[tuple[str, Callable[[], Figure]]] = []
    if plan.tools:
        first = plan.fanouts[0]
        steps.append(
            (
                "Kafka ConsumerPerformance",
                partial(
                    measure_consumer_tool, bootstrap, world, first, plan.inputs(first), broker_home
                ),
            )
        )
    for n in plan.fanouts:
        spy = profile / f"router-fanout-{n}.{profile_format}" if profile else None
        minimal = partial(
            measure_minimal, bootstrap, world.inbound[n], world.minimal[:n], meter=meter, cpu=cpu
        )
        decoding = partial(minimal, codec=codec)
        router = partial(
            measure_router, bootstrap, world, n, workdir, meter=meter, cpu=cpu, profile=spy
        )
        # The minimal loops run before and after ours, and each pair is pooled: a ceiling taken
        # on both sides of the figure it bounds follows the machine's load as it drifts.
        steps += [
            (f"minimal loop, fan-out {n} (before)", minimal),
            (f"minimal loop + decode, fan-out {n} (before)", decoding),
            (f"router, fan-out {n}", router),
            (f"minimal loop + decode, fan-out {n} (after)", decoding),
            (f"minimal loop, fan-out {n} (after)", minimal),
        ]
        if plan.tools:
            records = plan.inputs(n) * n
            tool = partial(
                measure_producer_tool,
                bootstrap,
                world,
                records,
                payloads,
                fanout=n,
                home=broker_home,
            )
            steps.append((f"Kafka ProducerPerformance, {records:,} records", tool))
    figures: list[Figure] = []
    for index, (label, step) in enumerate(steps, 1):
        meter.begin(f"[{index}/{len(steps)}] {label}")
        figure = step()
        earlier = (
            _minimal_at(figures, figure.fanout, figure.kind) if figure.kind in _LOOPS else None
        )
        if earlier is None:
            figures.append(figure)
        else:
            figures[figures.index(earlier)] = pooled(earlier, figure)
    return figures, loaded


def pooled(before: Figure, after: Figure) -> Figure:
    """Return one minimal-loop figure from its runs before and after ours: the mean time."""
    cpu = {k: round((before.cpu[k] + after.cpu[k]) / 2, 1) for k in before.cpu if k in after.cpu}
    notes = {"rate_before": round(before.input_rate, 1), "rate_after": round(after.input_rate, 1)}
    how = f"{before.how}; run before and after ours, mean of the two times"
    seconds = (before.seconds + after.seconds) / 2
    return replace(before, seconds=seconds, how=how, cpu=cpu, notes=notes)


_LOOPS = ("minimal", "decoding")


def _minimal_at(
    figures: Sequence[Figure], fanout: int | None, kind: str = "minimal"
) -> Figure | None:
    return next((f for f in figures if f.kind == kind and f.fanout == fanout), None)


def aims(figures: Sequence[Figure]) -> list[dict[str, Any]]:
    """Check the router against the minimal loop: issue 4 at fan-out 1, issue 8 at fan-out 8."""
    found = []
    for fanout, issue in ((1, 4), (8, 8)):
        ours = next((f for f in figures if f.kind == "ours" and f.fanout == fanout), None)
        ceiling = _minimal_at(figures, fanout)
        if ours is None or ceiling is None or ceiling.input_rate <= 0:
            continue
        share = ours.input_rate / ceiling.input_rate
        found.append(
            {
                "aim": f"issue {issue}: router at fan-out {fanout} >= {AIM_SHARE:.0%} of the"
                " minimal loop",
                "measured": round(share, 3),
                "met": share >= AIM_SHARE,
                "by": f"{share / AIM_SHARE:.2f}x the aim",
            }
        )
    return found


def table(figures: Sequence[Figure]) -> str:
    """Render the figures as a Markdown table."""
    lines = [
        (
            "| figure | fan-out | inputs | deliveries | input events/s | deliveries/s"
            " | ratio to minimal loop | ratio to minimal + decode | CPU % router / broker / bench |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in figures:
        ratios = []
        for kind in _LOOPS:
            # Ours against both loops; the loop with decode against the plain one.
            compared = f.kind == "ours" or (f.kind == "decoding" and kind == "minimal")
            ceiling = _minimal_at(figures, f.fanout, kind) if compared else None
            shown = ceiling is not None and ceiling is not f and ceiling.input_rate > 0
            ratios.append(f"{f.input_rate / ceiling.input_rate:.2f}" if shown and ceiling else "-")
        ratio = " | ".join(ratios)
        cpu = " / ".join(
            f"{f.cpu[k]:.0f}" if k in f.cpu else "-" for k in ("router", "broker", "bench")
        )
        rate_in = f"{f.input_rate:,.0f}" if f.inputs else "-"
        rate_out = f"{f.delivery_rate:,.0f}" if f.deliveries else "-"
        lines.append(
            f"| {f.name} | {f.fanout or '-'} | {f.inputs:,} | {f.deliveries:,} | {rate_in}"
            f" | {rate_out} | {ratio} | {cpu} |"
        )
    return "\n".join(lines)


def report(
    figures: Sequence[Figure], plan: Plan, loaded: Mapping[int, Inputs], load: Sequence[float]
) -> dict[str, Any]:
    """Return the results as plain data: machine, plan, figures and aims."""
    return {
        "command": " ".join([".venv/bin/python -m bench.router", *sys.argv[1:]]),
        "machine": machine(load),
        "document_bytes": {str(n): list(i.value_bytes) for n, i in loaded.items()},
        "document_headers_bytes": sum(
            len(k) + len(v) for k, v in next(iter(loaded.values())).records[0].headers
        ),
        "document_key_bytes": len(next(iter(loaded.values())).records[0].key),
        "plan": asdict(plan),
        "figures": [
            {
                **asdict(f),
                "input_rate": round(f.input_rate, 1),
                "delivery_rate": round(f.delivery_rate, 1),
            }
            for f in figures
        ],
        "aims": aims(figures),
    }


def render(result: Mapping[str, Any], figures: Sequence[Figure]) -> str:
    """Return the report as text: a headline, the table, the notes and the aims."""
    sizes = {tuple(v) for v in result["document_bytes"].values()}
    shown = ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in sorted(sizes))
    lines = [
        *headline(str(result["command"]), result["machine"]),
        (
            f"documents: {shown} bytes encoded (aim {DOCUMENT_BYTES}), plus"
            f" {result['document_headers_bytes']} bytes of contract headers and a"
            f" {result['document_key_bytes']}-byte key"
        ),
        "",
        table(figures),
        "",
        (
            "CPU: % of one core each process used during the figure (the Kafka tools' JVMs are"
            " not measured). Ratios compare input events/s with the minimal loops at the same"
            " fan-out; the one with decode pays for the router's one decode per record."
        ),
    ]
    for f in figures:
        if f.kind == "ours":
            n = f.notes
            lines.append(
                f"{f.name}: {n['transactions_committed']:.0f} transactions committed,"
                f" {n['transactions_aborted']:.0f} aborted, {n['mean_batch_records']:.0f}"
                f" records and {n['mean_transaction_ms']:.0f} ms per transaction,"
                f" {n['dead_lettered']:.0f} dead-lettered"
                + ("" if n["metrics_answered"] else " (/metrics did not answer: not counted)")
            )
    for f in figures:
        if f.kind in _LOOPS:
            n = f.notes
            lines.append(
                f"{f.name}: {n['rate_before']:,.0f} input events/s before ours,"
                f" {n['rate_after']:,.0f} after"
            )
    lines.extend(f"{f.name}: {f.how}" for f in figures if f.kind != "ours")
    for aim in result["aims"]:
        verdict = "met" if aim["met"] else "NOT met"
        lines.append(f"aim: {aim['aim']}: {verdict} (measured {aim['measured']}, {aim['by']})")
    return "\n".join(lines)


def _rate(figure: Figure) -> float:
    """Return what a figure measures: input events/s, or records/s for a producer alone."""
    return figure.input_rate if figure.inputs else figure.delivery_rate


def security_cost(secured: Sequence[Figure], insecure: Sequence[Figure]) -> list[dict[str, Any]]:
    """Pair each figure measured on both brokers: its rates and secured/insecure."""
    plain = {(f.name, f.fanout): f for f in insecure}
    rows = []
    for f in secured:
        other = plain.get((f.name, f.fanout))
        if other is None:
            continue
        ratio = round(_rate(f) / _rate(other), 3) if _rate(other) > 0 else None
        rows.append(
            {
                "name": f.name,
                "fanout": f.fanout,
                "secured_rate": round(_rate(f), 1),
                "insecure_rate": round(_rate(other), 1),
                "ratio": ratio,
            }
        )
    return rows


def render_cost(cost: Sequence[Mapping[str, Any]]) -> str:
    """Return the cost of security as a Markdown table: each figure's rate on each broker."""
    lines = [
        (
            "cost of security: the same figures on a SASL_SSL (SCRAM-SHA-512) broker and a"
            " PLAINTEXT one; input events/s (records/s for ProducerPerformance)"
        ),
        "",
        "| figure | fan-out | PLAINTEXT | SASL_SSL | secured / plaintext |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in cost:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        fanout = "-" if row["fanout"] is None else row["fanout"]
        lines.append(
            f"| {row['name']} | {fanout} | {row['insecure_rate']:,.0f} |"
            f" {row['secured_rate']:,.0f} | {ratio} |"
        )
    return "\n".join(lines)


def measure(
    args: argparse.Namespace, plan: Plan, *, insecure: bool
) -> tuple[dict[str, Any], list[Figure]]:
    """Run the whole benchmark on a broker of its own; print and return its results."""
    load_before = os.getloadavg()[0]
    meter = Meter(f"starting the {'PLAINTEXT' if insecure else 'SASL_SSL'} broker")
    with (
        progress(meter),
        tempfile.TemporaryDirectory(prefix="lienthong-bench-") as tmp,
        LocalKafka(home=Path(tmp) / "kafka", insecure=insecure) as broker,
    ):
        figures, loaded = run(
            broker.bootstrap,
            plan,
            Path(tmp),
            broker_pid=broker.pid,
            broker_home=broker.home,
            meter=meter,
            profile=args.profile,
            profile_format=args.profile_format,
        )
        result = report(figures, plan, loaded, (load_before, os.getloadavg()[0]))
    result["security"] = "PLAINTEXT" if insecure else "SASL_SSL"
    print(f"broker: {result['security']}")
    print(render(result, figures))
    return result, figures


def main() -> None:
    """Start a broker, measure, print the table and the aims, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=COUNT, help="documents per fan-out")
    parser.add_argument(
        "--max-deliveries",
        type=int,
        default=MAX_DELIVERIES,
        help="fewer documents at a high fan-out, to stay under this many copies",
    )
    parser.add_argument("--fanout", default="1,8,64", help="comma-separated fan-outs (1-64)")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--profile", type=Path, help="py-spy each router into this directory")
    parser.add_argument("--profile-format", choices=("svg", "txt", "json"), default="svg")
    parser.add_argument("--no-tools", action="store_true", help="skip Kafka's own tools")
    parser.add_argument(
        "--security",
        choices=("secured", "insecure", "both"),
        default="secured",
        help="the broker's client listener: SASL_SSL, PLAINTEXT, or each in turn",
    )
    args = parser.parse_args()
    fanouts = tuple(int(x) for x in args.fanout.split(","))
    plan = Plan(args.count, args.max_deliveries, fanouts, tools=not args.no_tools)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.security == "both":
        secured, secured_figures = measure(args, plan, insecure=False)
        insecure, insecure_figures = measure(args, plan, insecure=True)
        cost = security_cost(secured_figures, insecure_figures)
        print(render_cost(cost))
        result = {"secured": secured, "insecure": insecure, "security_cost": cost}
    else:
        result, _ = measure(args, plan, insecure=args.security == "insecure")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
