"""The pipeline benchmark's results: figures beside their ceilings, issue 8's targets, tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench import router as router_bench
from bench.pipeline_ceilings import Ceilings
from bench.pipeline_run import AxisRun, Phase
from bench.services import headline, machine

TARGET_ROUTER_SHARE = 0.5
TARGET_P99_MS = 250.0
TARGET_STORE_SHARE = 0.5
TARGET_RATE = 1000.0
TARGET_FANOUT = 8


@dataclass(frozen=True, slots=True)
class Result:
    """A run's pipeline figures and ceilings."""

    run: AxisRun
    ceilings: Ceilings | None


def _ratio(ours: float, ceiling: float | None) -> float | None:
    return round(ours / ceiling, 3) if ceiling else None


def ratios(result: Result) -> list[dict[str, Any]]:
    """Return each figure of ours beside its ceiling, for every load."""
    c = result.ceilings
    if c is None:
        return []
    found: list[dict[str, Any]] = []

    def add(figure: str, ours: float, ceiling: str, value: float | None) -> None:
        found.append(
            {
                "figure": figure,
                "ours": round(ours, 1),
                "ceiling": ceiling,
                "ceiling_value": round(value, 1) if value else None,
                "ratio": _ratio(ours, value),
            }
        )

    producer, consumer = c.tool("Producer"), c.tool("Consumer")
    minimal, ours, peer = c.router("minimal"), c.router("ours"), c.router("peer")
    for phase in result.run.phases:
        at = f"at {phase.offered.load.label}"
        if producer is not None:
            add(f"documents in/s, {at}", phase.offered.rate, producer.name, producer.delivery_rate)
        if consumer is not None:
            add(f"router input/s, {at}", phase.router_in_rate, consumer.name, consumer.input_rate)
        if minimal is not None:
            add(f"deliveries/s, {at}", phase.delivery_rate, minimal.name, minimal.delivery_rate)
        add(f"events persisted/s, {at}", phase.persisted_rate, c.bulk.name, c.bulk.rate)
    if ours is not None and minimal is not None:
        add("router alone, input/s", ours.input_rate, minimal.name, minimal.input_rate)
    if ours is not None and peer is not None:
        add("router alone, input/s", ours.input_rate, peer.name, peer.input_rate)
    return found


def targets(result: Result) -> list[dict[str, Any]]:
    """Check issue 8's targets where this run measured them."""
    found: list[dict[str, Any]] = []
    shape, c = result.run.shape, result.ceilings

    def add(aim: str, measured: float | None, *, met: bool, by: str) -> None:
        found.append({"aim": aim, "measured": measured, "met": met, "by": by})

    at = f" (measured at fan-out {shape.fanout})" if shape.fanout != TARGET_FANOUT else ""
    if c is not None and (ours := c.router("ours")) and (minimal := c.router("minimal")):
        share = ours.input_rate / minimal.input_rate
        add(
            f"router >= {TARGET_ROUTER_SHARE:.0%} of the minimal loop, exactly-once{at}",
            round(share, 3),
            met=share >= TARGET_ROUTER_SHARE,
            by=f"{share / TARGET_ROUTER_SHARE:.2f}x the target",
        )
    fixed = [p for p in result.run.phases if p.offered.load.rate == TARGET_RATE]
    for phase in fixed:
        p99 = phase.latency_ms.get("p99")
        sustained = "" if phase.sustained else "; the offered rate was NOT sustained"
        if p99 is not None:
            add(
                f"end-to-end p99 < {TARGET_P99_MS:.0f} ms at {TARGET_RATE:,.0f} docs/s{at}",
                p99,
                met=p99 < TARGET_P99_MS and phase.sustained,
                by=f"{p99 / TARGET_P99_MS:.2f}x the limit{sustained}",
            )
    if c is not None and c.bulk.rate > 0 and result.run.phases:
        phase = max(result.run.phases, key=lambda p: p.persisted_rate)
        share = phase.persisted_rate / c.bulk.rate
        bound = " (bounded by the offered load: it kept up)" if phase.sustained else ""
        add(
            f"PostgreSQL persistence >= {TARGET_STORE_SHARE:.0%} of the bulk insert{at}",
            round(share, 3),
            met=share >= TARGET_STORE_SHARE,
            by=f"{share / TARGET_STORE_SHARE:.2f}x the target{bound}",
        )
    if c is not None and (ours := c.router("ours")) and (peer := c.router("peer")):
        share = ours.input_rate / peer.input_rate
        add(
            f"our router ahead of the Quix Streams router{at}",
            round(share, 3),
            met=share > 1,
            by=f"{share:.2f}x the Quix Streams router",
        )
    return found


def report(result: Result, load: Sequence[float], command: str) -> dict[str, Any]:
    """Return the results as plain data."""
    axis_run, c = result.run, result.ceilings
    return {
        "command": command,
        "machine": machine(load),
        "shape": asdict(axis_run.shape),
        "phases": [_phase(p) for p in axis_run.phases],
        "peak_rss_mib": axis_run.peak_rss_mib,
        "ceilings": None
        if c is None
        else {
            "documents": c.count,
            "routers": [
                {
                    **asdict(f),
                    "input_rate": round(f.input_rate, 1),
                    "delivery_rate": round(f.delivery_rate, 1),
                }
                for f in c.routers
            ],
            "bulk_insert": {**asdict(c.bulk), "rate": round(c.bulk.rate, 1)},
        },
        "ratios": ratios(result),
        "targets": targets(result),
    }


def _phase(p: Phase) -> dict[str, Any]:
    found = asdict(p)
    found["offered"] = {
        **asdict(p.offered),
        "rate": round(p.offered.rate, 1),
        "kept_up": p.offered.kept_up,
    }
    found["sustained"] = p.sustained
    for key in ("router_in_rate", "delivery_rate", "persisted_rate", "rows_rate"):
        found[key] = round(found[key], 1)
    return found


def phase_table(phases: Sequence[Phase]) -> str:
    """Render each load's stage rates, backlog and latency as a Markdown table."""
    lines = [
        (
            "| load | docs in/s | sustained | router in/s | deliveries/s | events persisted/s"
            " | rows/s | left at end | drain s | latency p50 / p95 / p99 / max ms |"
        ),
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in phases:
        lat = " / ".join(
            f"{p.latency_ms[k]:,.0f}" if k in p.latency_ms else "-"
            for k in ("p50", "p95", "p99", "max")
        )
        kept = "yes" if p.sustained else ("API yes, store no" if p.offered.kept_up else "no")
        lines.append(
            f"| {p.offered.load.label} | {p.offered.rate:,.0f} | {kept} | {p.router_in_rate:,.0f}"
            f" | {p.delivery_rate:,.0f} | {p.persisted_rate:,.0f} | {p.rows_rate:,.0f}"
            f" | {p.backlog:,} | {p.drain_s:.1f} | {lat} |"
        )
    return "\n".join(lines)


def process_table(axis_run: AxisRun) -> str:
    """Render CPU (% of one core, per load) and peak memory of every process."""
    names = sorted({n for p in axis_run.phases for n in p.cpu} | set(axis_run.peak_rss_mib))
    head = " | ".join(f"CPU % at {p.offered.load.label}" for p in axis_run.phases)
    lines = [
        f"| process | {head} | peak RSS MiB |",
        "| --- |" + " ---: |" * (len(axis_run.phases) + 1),
    ]
    for name in names:
        cpu = " | ".join(f"{p.cpu[name]:.0f}" if name in p.cpu else "-" for p in axis_run.phases)
        rss = axis_run.peak_rss_mib.get(name)
        lines.append(f"| {name} | {cpu} | {rss:,.0f} |" if rss else f"| {name} | {cpu} | - |")
    return "\n".join(lines)


def ratio_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Render each figure of ours beside its ceiling."""
    lines = [
        "| figure | ours | ceiling | ceiling's figure | ratio |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for r in rows:
        value = f"{r['ceiling_value']:,.0f}" if r["ceiling_value"] else "-"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        lines.append(f"| {r['figure']} | {r['ours']:,.0f} | {r['ceiling']} | {value} | {ratio} |")
    return "\n".join(lines)


def render(result_data: Mapping[str, Any], result: Result) -> str:
    """Return the report as text: headline, tables, notes and targets."""
    shape, axis_run = result.run.shape, result.run
    lines = [
        *headline(str(result_data["command"]), result_data["machine"]),
        (
            f"axis: fan-out {shape.fanout}, {shape.endpoints} endpoints (a consumer and a"
            f" PostgreSQL database each), {shape.routers} router(s), one API process;"
            f" documents {shape.doc_bytes} bytes encoded"
        ),
        "",
        phase_table(axis_run.phases),
        "",
        (
            "docs in: accepted by the API (or the client) per second; router in: inbound records"
            " committed (the documents and the consumers' receipts, one per copy, back to the"
            " sender's endpoint, whose topic nobody consumes here); left at end: copies not yet"
            " persisted when the load stopped; latency: occurred_at (stamped as each batch is"
            " built) to persisted_at in the stores, per persisted copy."
        ),
    ]
    for p in axis_run.phases:
        o = p.offered
        lines.append(
            f"{o.load.label}: {o.accepted:,} documents in {o.seconds:.1f} s, {o.failed} failed,"
            f" batches of {o.load.batch} on {o.load.clients} connections via {o.load.via},"
            f" latest batch {o.behind_s:.2f} s behind schedule, batch answered in"
            f" p50 {o.request_ms.get('p50', 0):.0f} / p99 {o.request_ms.get('p99', 0):.0f} ms;"
            f" {p.transactions:.0f} router transactions, {p.dead_lettered:.0f} dead-lettered;"
            f" latency split p50 / p99: occurred -> routed {_split(p.to_router_ms)} ms,"
            f" routed -> persisted {_split(p.after_router_ms)} ms"
            + (
                f"; {p.unpersisted:,} copies NOT persisted by the drain timeout"
                if p.unpersisted
                else ""
            )
            + (f"; first error: {o.first_error}" if o.first_error else "")
        )
    lines += ["", process_table(axis_run)]
    if result.ceilings is not None:
        c = result.ceilings
        lines += [
            "",
            f"Ceilings, same broker and database, {c.count:,} documents:",
            "",
            router_bench.table(c.routers),
            "",
            (
                f"{c.bulk.name}: {c.bulk.events:,} events, {c.bulk.rate:,.0f} events/s"
                f" ({c.bulk.how})"
            ),
            "",
            ratio_table(result_data["ratios"]),
        ]
        lines += [f"{f.name}: {f.how}" for f in c.routers]
    for t in result_data["targets"]:
        verdict = "met" if t["met"] else "NOT met"
        lines.append(f"target: {t['aim']}: {verdict} (measured {t['measured']}, {t['by']})")
    return "\n".join(lines)


def _split(found: Mapping[str, float]) -> str:
    return " / ".join(f"{found[k]:,.0f}" if k in found else "-" for k in ("p50", "p99"))
