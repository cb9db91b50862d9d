"""The ingestion benchmark's code path with tiny counts: it runs, not how fast it runs."""

from __future__ import annotations

import json
from pathlib import Path

from bench.ingest import (
    PARTITIONS,
    Documents,
    Meter,
    Plan,
    measure_http,
    render,
    report,
    run,
    serve_api,
)
from tests.support.kafka import LocalKafka, create_topics, unique_name

COUNT = 20


def test_every_figure_is_measured_against_the_served_api(
    kafka: LocalKafka, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = unique_name("bench.inbound")
    create_topics(kafka.admin_settings(), [topic], partitions=PARTITIONS)
    plan = Plan(count=COUNT, seconds=30, batch=5, single_clients=(1, 4), batch_clients=2)
    with serve_api(kafka_bootstrap, topic, tmp_path / "api.log") as api:
        pids = {"api": api.pid, **({"broker": kafka.pid} if kafka.pid else {})}
        figures = run(kafka_bootstrap, topic, api.url, plan, pids=pids)
        with_httpx = measure_http(
            api.url, Documents(3), 2, generator="httpx", count=COUNT, seconds=30, meter=Meter()
        )

    assert [f.name for f in figures] == [
        "ceiling: raw produce",
        "HTTP single, 1 client",
        "HTTP single, 4 clients",
        "HTTP batch of 5, 2 clients",
        "client publish, one at a time",
        "client publish_many of 5",
    ]
    for figure in figures:
        assert (figure.done, figure.failed, figure.first_error) == (COUNT, 0, None), figure
        assert figure.rate > 0
        assert {"api", "bench"} <= figure.cpu.keys()
    assert (with_httpx.done, with_httpx.failed) == (COUNT, 0)
    assert "httpx.AsyncClient" in with_httpx.how
    singles = [f for f in figures if f.name.startswith("HTTP single")]
    assert all(f.p50_ms is not None and f.p99_ms is not None for f in singles)

    result = report(figures, plan, (0.0, 0.0))
    assert [a["aim"] for a in result["aims"]] == [
        "API with batching >= 25% of the raw ceiling"
    ]  # the 8-client aim needs the 8-client figure, which this plan leaves out
    assert json.loads(json.dumps(result))["figures"][0]["done"] == COUNT
    assert "| HTTP batch of 5, 2 clients |" in render(result, figures)
