"""The pipeline benchmark's code path with tiny counts: it runs, not how fast it runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.fanout import build_world, preload
from bench.ingest import Meter
from bench.pipeline import Plan, databases, run, server_pid
from bench.pipeline_ceilings import documents
from bench.pipeline_load import Load
from bench.pipeline_report import render, report
from bench.pipeline_run import Shape
from bench.quix_peer import measure_quix, quix_version
from bench.router import kafka_settings
from bench.services import one, with_children
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
from tests.support.kafka import LocalKafka
from tests.support.postgres import LocalPostgres

DOCS = 30
FANOUT = 2
ENDPOINTS = 3  # more endpoints than the fan-out: the documents rotate over them


def test_every_pipeline_figure_is_measured_with_its_ceilings(
    kafka: LocalKafka, postgres: LocalPostgres, tmp_path: Path
) -> None:
    loads = (Load(300.0, 60, count=DOCS, batch=10), Load(None, 60, count=DOCS, batch=15))
    plan = Plan(
        Shape(FANOUT, ENDPOINTS, routers=1),
        loads,
        peer=False,
        tools=False,
        drain_timeout_s=30,
        warmup_docs=10,
    )
    result = run(
        kafka.bootstrap,
        plan,
        tmp_path,
        databases(postgres),
        meter=Meter(),
        broker={"broker": one(kafka.pid)},
        database={"postgres": with_children(server_pid(postgres))},
    )

    phases = result.run.phases
    assert [p.offered.load.label for p in phases] == ["300 docs/s", "saturation"]
    for phase in phases:
        assert (phase.offered.accepted, phase.offered.failed) == (DOCS, 0), phase.offered
        assert phase.unpersisted == 0, phase
        # Every copy of every document of the window, read back from the stores.
        assert phase.latencies == DOCS * FANOUT
        assert phase.latency_ms.keys() == {"p50", "p95", "p99", "max"}
        assert phase.to_router_ms.keys() == phase.after_router_ms.keys() == {"p50", "p99"}
        assert phase.dead_lettered == 0
        names = {"api", "router-0", "broker", "postgres", "bench"}
        assert names | {f"consumer-ep-0{i}" for i in range(ENDPOINTS)} <= phase.cpu.keys()
    assert {"api", "router-0", "consumer-ep-02", "broker"} <= result.run.peak_rss_mib.keys()

    ceilings = result.ceilings
    assert ceilings is not None
    assert ceilings.count == DOCS
    assert [f.kind for f in ceilings.routers] == ["minimal", "ours"]
    minimal, ours = ceilings.routers
    assert (ours.inputs, ours.deliveries) == (DOCS, DOCS * FANOUT), ours
    assert ours.notes["transactions_aborted"] == 0
    assert minimal.notes.keys() == {"rate_before", "rate_after"}  # run on both sides
    assert ceilings.bulk.events == DOCS
    assert ceilings.bulk.rows["lt_outbox"] == DOCS  # one receipt: one agency per endpoint

    data = json.loads(json.dumps(report(result, (0.0, 0.0), "bench.pipeline"), default=str))
    assert [r["figure"] for r in data["ratios"]][-1] == "router alone, input/s"
    assert [t["aim"].split(" (")[0] for t in data["targets"]] == [
        "router >= 50% of the minimal loop, exactly-once",
        "PostgreSQL persistence >= 50% of the bulk insert",
    ]
    text = render(data, result)
    assert "| 300 docs/s | " in text
    assert "| ours: router, fan-out 2 | 2 | 30 | 60 |" in text


def test_the_quix_streams_peer_routes_the_same_input(kafka: LocalKafka, tmp_path: Path) -> None:
    if quix_version() is None:
        pytest.skip("no build/bench-quix-venv: `make bench` makes it (quixstreams from PyPI)")
    world = build_world(kafka_settings(kafka.bootstrap), tmp_path, (FANOUT,))
    loaded = documents(Codec(SchemaStore.from_package()), FANOUT, DOCS, 1024)
    preload(kafka_settings(kafka.bootstrap), world.inbound[FANOUT], loaded.records)

    figure = measure_quix(kafka.bootstrap, world, FANOUT, tmp_path, meter=Meter())

    assert (figure.inputs, figure.deliveries) == (DOCS, DOCS * FANOUT)
    assert figure.notes["delivery_offsets_written"] >= DOCS * FANOUT
    assert "router" in figure.cpu
