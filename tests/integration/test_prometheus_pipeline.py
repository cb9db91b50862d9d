"""A real Prometheus scraping the real pipeline: documents in through the API, out in SQLite.

The producer API, a router and a consumer run in this process on a real broker, each serving
its /metrics on an ephemeral port; the distribution's `prometheus` scrapes them every second
with the deploy/ rules loaded. The tests ask Prometheus' HTTP API, never the services, what it
saw, and run `promtool check metrics` on each service's own scrape.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lienthong.contract import examples
from lienthong.contract.jsonform import to_json
from lienthong.contract.schemas import EventType
from lienthong.plumbing.metrics_http import serve_metrics
from lienthong.plumbing.settings import KafkaSettings
from tests.support.api import auth, served
from tests.support.consumer import ENDPOINT, deliver, running_consumer, with_store
from tests.support.ports import free_port
from tests.support.router import Deployment, deploy, running_router

REPO = Path(__file__).resolve().parents[2]
RULES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "lienthong.json"
DOCUMENTS = 40
REDELIVERED = 5
NGHE_AN = "000.00.00.H41"  # the province served by endpoint tinh-nghe-an
DOC, PERSISTED = 'event_type="document"', 'outcome="persisted"'
# Label names a scrape may hold (tests/unit/test_metrics_names.py reviews them per metric),
# and what an unbounded value (an event id, a document id, an agency code) looks like.
LABELS = {"event_type", "outcome", "reason", "route", "code", "kind", "topic", "partition"}
LABELS |= {"endpoint", "client", "broker", "state", "le", "version", "librdkafka"}
LABELS |= {"document_schema", "report_schema", "status_schema"}
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-|,|^[0-9]{2,3}\.[0-9]{2}\.[0-9]{2}\.")


class Prometheus:
    """The distribution's Prometheus on a free port, with its TSDB in a temp dir."""

    def __init__(self, home: Path, targets: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in RULES],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]}
                for job, target in targets.items()
            ],
        }
        (home / "prometheus.yml").write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
        self.log_path = home / "prometheus.log"
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [
                "prometheus",  # the distribution's, on PATH (deploy/local/system-deps.sh)
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        until(self._ready, 30, "Prometheus did not become ready")

    def _ready(self) -> bool:
        assert self._process.poll() is None, self.log_path.read_text()
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def query(self, promql: str) -> dict[str, Any]:
        """Run an instant query; return the whole answer (status, data or error)."""
        params = {"query": promql}
        return dict(httpx.get(f"{self.url}/api/v1/query", params=params, timeout=10).json())

    def value(self, promql: str) -> float | None:
        """Return the single value of an instant query, or None when it has no result."""
        result = self.query(promql)["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def close(self) -> None:
        """Stop the server."""
        self._process.terminate()
        self._process.wait(timeout=30)
        self._log.close()


def until(condition: Callable[[], bool], timeout_s: float, message: str) -> None:
    """Poll `condition` until it holds; fail with `message` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.25)


@dataclass
class Stack:
    """The running pipeline and the Prometheus that watches it."""

    prometheus: Prometheus
    services: dict[str, str]  # job -> base URL, where /metrics and /readyz are

    def eventually(
        self, promql: str, expected: float, timeout_s: float = 60, *, ignore_value: bool = False
    ) -> None:
        """Wait until `promql` evaluates to `expected` (or to anything) in Prometheus."""
        seen: list[float | None] = []

        def holds() -> bool:
            seen.append(self.prometheus.value(promql))
            return seen[-1] is not None if ignore_value else seen[-1] == expected

        until(holds, timeout_s, f"{promql} = {seen[-1:]} in Prometheus, expected {expected}")


def _documents() -> list[dict[str, Any]]:
    return [
        examples.document(event_id=uuid4(), number=str(9000 + i), recipients=(NGHE_AN,))
        for i in range(DOCUMENTS)
    ]


def _publish(api: str, documents: list[dict[str, Any]]) -> None:
    bodies = []
    for record in documents:
        body = to_json(record)
        del body["occurred_at"]  # the API stamps the time it accepted the document
        bodies.append(body)
    answer = httpx.post(
        f"{api}/v1/documents:batch", json={"events": bodies}, headers=auth("vpcp"), timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == DOCUMENTS, answer.text


@pytest.fixture(scope="module")
def stack(kafka_admin: KafkaSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("prometheus")
    base = deploy(kafka_admin)
    kafka = base.settings.kafka.model_copy(update={"statistics_interval_ms": 1000})
    dep = with_store(
        Deployment(base.settings.model_copy(update={"kafka": kafka}), base.directory),
        f"sqlite:///{home / 'nghe-an.sqlite'}",
    )
    documents = _documents()
    with (
        served(dep.settings) as (api, _),
        running_router(dep) as router,
        running_consumer(dep) as consumer,
    ):
        servers = {
            "lienthong-router": serve_metrics(router.registry, health=router.health),
            "lienthong-consumer": serve_metrics(consumer.registry, health=consumer.health),
        }
        urls = {"lienthong-producer": api} | {job: s.base_url for job, s in servers.items()}
        prometheus = Prometheus(home, {job: u.removeprefix("http://") for job, u in urls.items()})
        try:
            stack = Stack(prometheus, urls)
            # Scraped once before any traffic: the series start at 0, so rates see all of it.
            stack.eventually('count(up{job=~"lienthong-.*"} == 1)', len(urls))
            _publish(api, documents)
            persisted = (
                f'lienthong_consumer_events_total{{outcome="persisted", endpoint="{ENDPOINT}"}}'
            )
            stack.eventually(f"sum({persisted})", DOCUMENTS)
            # The same documents delivered again (a replay): duplicates, not new latencies.
            deliver(dep, [(EventType.DOCUMENT, d) for d in documents[:REDELIVERED]])
            yield stack
        finally:
            prometheus.close()
            for server in servers.values():
                server.close()


def test_counters_show_every_document_at_every_stage(stack: Stack) -> None:
    n = DOCUMENTS
    for promql, expected in [
        ('sum(lienthong_producer_events_total{event_type="document", outcome="accepted"})', n),
        ('sum(lienthong_router_records_total{event_type="document", outcome="routed"})', n),
        (f'sum(lienthong_router_deliveries_total{{endpoint="{ENDPOINT}"}})', n),
        (f'sum(lienthong_consumer_events_total{{endpoint="{ENDPOINT}", {DOC}, {PERSISTED}}})', n),
        ('sum(lienthong_consumer_events_total{outcome="duplicate"})', REDELIVERED),
        ('sum(lienthong_consumer_outbox_sent_total{kind="receipt"})', n),  # one per document
        # The receipts (status 01) are routed back to the sender's endpoint.
        ('sum(lienthong_router_records_total{event_type="status", outcome="routed"})', n),
        ('sum(lienthong_router_deliveries_total{endpoint="vpcp", event_type="status"})', n),
        ("sum(lienthong_router_dlq_total) + sum(lienthong_consumer_dlq_total)", 0),
    ]:
        stack.eventually(promql, expected)


def test_the_latency_histogram_holds_each_document_once(stack: Stack) -> None:
    histogram = "lienthong_consumer_end_to_end_latency_seconds"
    stack.eventually(f'sum({histogram}_count{{event_type="document"}})', DOCUMENTS)
    stack.eventually(f'sum({histogram}_bucket{{event_type="document", le="+Inf"}})', DOCUMENTS)
    # Persisted within a minute of being accepted, on a 2-core machine.
    stack.eventually(f'sum({histogram}_bucket{{event_type="document", le="60.0"}})', DOCUMENTS)
    # The deploy/ recording rule computes the 99th percentile from it.
    p99 = 'lienthong:consumer_end_to_end_latency_seconds:p99_5m{event_type="document"}'
    stack.eventually(f"{p99} > 0 and {p99} <= 60", 1, ignore_value=True)


def test_every_service_is_up_and_ready(stack: Stack) -> None:
    for job in ("lienthong-producer", "lienthong-router", "lienthong-consumer"):
        stack.eventually(f'up{{job="{job}"}}', 1)
        service = job.removeprefix("lienthong-")
        stack.eventually(f'sum(lienthong_{service}_ready{{job="{job}"}})', 1)
        assert httpx.get(f"{stack.services[job]}/readyz", timeout=10).status_code == 200
    # librdkafka statistics arrived (every second here) and became gauges.
    stack.eventually('count(lienthong_router_kafka_txn_state{state="Ready"}) > 0', 1)
    stack.eventually("count(lienthong_producer_kafka_broker_rtt_avg_seconds) > 0", 1)


def test_real_scrapes_pass_promtool_and_declare_what_rules_and_dashboard_read(
    stack: Stack,
) -> None:
    declared: set[str] = set()
    for job, url in stack.services.items():
        text = httpx.get(f"{url}/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                assert set(sample.labels) <= LABELS, (sample.name, sample.labels)
                assert not any(_ID.search(v) for v in sample.labels.values()), sample
        check = subprocess.run(
            ["promtool", "check", "metrics"],
            input=text,
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, f"{job}: {check.stdout}{check.stderr}"
        for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE):
            suffixes = ("_bucket", "_count", "_sum") if kind == "histogram" else ("",)
            declared |= {name + suffix for suffix in suffixes}
    wanted = "".join(path.read_text() for path in [*RULES, DASHBOARD])
    used = set(re.findall(r"\blienthong_[a-z0-9_]*[a-z0-9]\b", wanted))
    assert used <= declared, f"read by rules or dashboard, exported by none: {used - declared}"


def test_every_dashboard_query_runs_on_prometheus(stack: Stack) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            promql = grafana_to_promql(target["expr"])
            answer = stack.prometheus.query(promql)
            assert answer["status"] == "success", (panel["title"], promql, answer)


def grafana_to_promql(expr: str) -> str:
    """Replace the dashboard's variables with what Grafana would send."""
    expr = expr.replace("$__rate_interval", "1m").replace("$endpoint", ".*")
    expr = expr.replace("$event_type", ".*")
    assert "$" not in expr, expr
    return expr
