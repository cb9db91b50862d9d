"""The benchmarks' cost-of-security tables pair each figure measured on both brokers."""

from __future__ import annotations

from bench import pipeline, router
from bench.router import Figure


def _figure(name: str, fanout: int | None, inputs: int, deliveries: int, seconds: float) -> Figure:
    return Figure(name, "ours", fanout, inputs, deliveries, seconds, "how")


def test_router_cost_pairs_by_name_and_fan_out_and_rates_a_producer_by_its_records() -> None:
    secured = [
        _figure("ours: router, fan-out 8", 8, 900, 7200, 1.0),
        _figure("ProducerPerformance", 8, 0, 500, 1.0),
        _figure("ProducerPerformance", 64, 0, 400, 1.0),
        _figure("only secured", 1, 10, 10, 1.0),
    ]
    insecure = [
        _figure("ours: router, fan-out 8", 8, 1000, 8000, 1.0),
        _figure("ProducerPerformance", 8, 0, 1000, 1.0),
        _figure("ProducerPerformance", 64, 0, 0, 1.0),
    ]
    cost = router.security_cost(secured, insecure)
    assert [(r["name"], r["fanout"], r["ratio"]) for r in cost] == [
        ("ours: router, fan-out 8", 8, 0.9),
        ("ProducerPerformance", 8, 0.5),
        ("ProducerPerformance", 64, None),  # nothing measured on one side: no ratio
    ]
    table = router.render_cost(cost)
    assert "| ours: router, fan-out 8 | 8 | 1,000 | 900 | 0.90 |" in table
    assert "| ProducerPerformance | 64 | 0 | 400 | - |" in table


def test_pipeline_cost_pairs_each_load_rates_and_latency() -> None:
    def phase(rate: float, p50: float) -> dict[str, object]:
        return {
            "offered": {"rate": rate / 2, "load": {"rate": 1000.0}},
            "router_in_rate": rate,
            "delivery_rate": rate * 8,
            "persisted_rate": rate * 8,
            "latency_ms": {"p50": p50, "p99": p50 * 2},
        }

    cost = pipeline.security_cost({"phases": [phase(950, 60)]}, {"phases": [phase(1000, 40)]})
    assert {r["figure"]: r["ratio"] for r in cost} == {
        "docs accepted/s": 0.95,
        "router_in/s": 0.95,
        "delivery/s": 0.95,
        "persisted/s": 0.95,
        "latency p50 ms": 1.5,
        "latency p99 ms": 1.5,
    }
    assert "| 1,000 | latency p99 ms | 80 | 120 | 1.50 |" in pipeline.render_cost(cost)
