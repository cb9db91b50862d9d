from __future__ import annotations

import io
import json
import logging
import urllib.request
from collections.abc import Iterator

import pytest
import structlog
from prometheus_client import CollectorRegistry, Counter

from lienthong.plumbing.backoff import capped_backoff
from lienthong.plumbing.logging import configure_logging
from lienthong.plumbing.metrics_http import serve_metrics
from lienthong.plumbing.settings import LogSettings


def test_metrics_server_serves_the_injected_registry() -> None:
    registry = CollectorRegistry()
    Counter("lienthong_test_events_total", "Events seen by this test.", registry=registry).inc(3)
    server = serve_metrics(registry, port=0)
    try:
        with urllib.request.urlopen(server.url, timeout=5) as response:  # loopback only
            body = response.read().decode()
    finally:
        server.close()
    assert "lienthong_test_events_total 3.0" in body
    assert server.url.startswith("http://127.0.0.1:")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_logs_are_one_object_per_line_with_bound_context(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging(LogSettings(format="json", level="info"), stream=out)
    log = structlog.get_logger().bind(event_id="e-1", topic="lienthong.inbound")
    log.info("routed", fan_out=3)
    log.debug("hidden")
    logging.getLogger("kafka.conn").warning("library says %s", "hi")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["event"] == "routed"
    assert lines[0]["event_id"] == "e-1"
    assert lines[0]["fan_out"] == 3
    assert lines[0]["level"] == "info"
    assert "timestamp" in lines[0]
    assert lines[1]["event"] == "library says hi"
    assert lines[1]["logger"] == "kafka.conn"
    assert len(lines) == 2


@pytest.mark.usefixtures("restore_logging")
def test_a_log_line_with_fields_json_cannot_take_is_still_written() -> None:
    # A subscriber once logged {(topic, partition): offset} inside a rebalance
    # callback; the renderer raised and the callback failed the whole run.
    out = io.StringIO()
    configure_logging(LogSettings(format="json", level="info"), stream=out)
    structlog.get_logger().info(
        "revoked", committing={("lienthong.deliver.a", 0): 7}, raw=b"\xc3\x01", seen={1}
    )
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert line["committing"] == {"('lienthong.deliver.a', 0)": 7}
    assert line["raw"] == repr(b"\xc3\x01")
    assert line["seen"] == [1]


class _BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no")


@pytest.mark.usefixtures("restore_logging")
def test_even_a_cycle_or_a_broken_repr_leaves_a_line_naming_the_event() -> None:
    out = io.StringIO()
    configure_logging(LogSettings(format="json", level="info"), stream=out)
    cycle: dict[str, object] = {}
    cycle["self"] = cycle
    structlog.get_logger().info("odd", thing=_BrokenRepr())
    structlog.get_logger().info("loop", state=cycle)
    first, second = (json.loads(text) for text in out.getvalue().splitlines())
    assert first["thing"] == "<_BrokenRepr: repr failed: RuntimeError>"
    assert second["event"] == "loop"
    assert "log_render_error" in second


def test_backoff_doubles_from_its_base_up_to_its_cap_however_long_the_outage() -> None:
    waits = [capped_backoff(n, base_s=0.5, cap_s=30.0) for n in (0, 1, 2, 6, 7, 10_000)]
    assert waits == [0.5, 1.0, 2.0, 30.0, 30.0, 30.0]  # 0.5 * 2**6 = 32 is past the cap
