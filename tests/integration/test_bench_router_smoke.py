"""The router benchmark's code path with tiny counts: it runs, not how fast it runs."""

from __future__ import annotations

import json
from pathlib import Path

from bench.fanout import DOCUMENT_BYTES
from bench.router import Plan, render, report, run
from tests.support.kafka import LocalKafka


def test_every_router_figure_is_measured_on_the_same_input(
    kafka: LocalKafka, kafka_bootstrap: str, tmp_path: Path
) -> None:
    plan = Plan(count=20, max_deliveries=80, fanouts=(1, 8))
    figures, loaded = run(
        kafka_bootstrap, plan, tmp_path, broker_pid=kafka.pid, broker_home=kafka.home
    )

    assert [f.name for f in figures] == [
        "Kafka ConsumerPerformance, 20 records",
        "minimal loop, 1 copy",
        "minimal loop + decode, 1 copy",
        "ours: router, fan-out 1",
        "Kafka ProducerPerformance, 20 records",
        "minimal loop, 8 copies",
        "minimal loop + decode, 8 copies",
        "ours: router, fan-out 8",
        "Kafka ProducerPerformance, 80 records",
    ]
    by_name = {f.name: f for f in figures}
    for fanout, inputs in ((1, 20), (8, 10)):
        ours = by_name[f"ours: router, fan-out {fanout}"]
        assert (ours.inputs, ours.deliveries) == (inputs, inputs * fanout), ours
        assert ours.notes["metrics_answered"] == 1
        assert ours.notes["dead_lettered"] == 0
        assert ours.notes["transactions_aborted"] == 0
        assert {"router", "broker", "bench"} <= ours.cpu.keys()
        copies = f"{fanout} cop{'y' if fanout == 1 else 'ies'}"
        for name in (f"minimal loop, {copies}", f"minimal loop + decode, {copies}"):
            loop = by_name[name]
            assert (loop.inputs, loop.deliveries) == (inputs, inputs * fanout), loop
            assert loop.notes.keys() == {"rate_before", "rate_after"}  # run on both sides
    assert by_name["Kafka ConsumerPerformance, 20 records"].inputs == 20
    assert by_name["Kafka ProducerPerformance, 80 records"].deliveries == 80
    assert all(f.seconds > 0 for f in figures)
    assert {loaded[n].value_bytes for n in (1, 8)} == {(DOCUMENT_BYTES, DOCUMENT_BYTES)}

    result = report(figures, plan, loaded, (0.0, 0.0))
    assert [a["aim"] for a in result["aims"]] == [
        "issue 4: router at fan-out 1 >= 50% of the minimal loop",
        "issue 8: router at fan-out 8 >= 50% of the minimal loop",
    ]
    assert json.loads(json.dumps(result))["figures"][3]["deliveries"] == 20
    assert "| ours: router, fan-out 8 | 8 | 10 | 80 |" in render(result, figures)
