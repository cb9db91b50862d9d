"""deploy/prometheus and deploy/grafana through the ecosystem's own linter, promtool.

`promtool check config` and `check rules` parse everything; `promtool test rules` runs the
alerts' unit tests in deploy/prometheus/tests/. The dashboard's queries are parsed by promtool
too, as the expressions of a throwaway rules file. promtool comes with the distribution's
prometheus package (deploy/local/system-deps.sh installs it); without it these tests fail.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
GRAFANA = REPO / "deploy" / "grafana"
OPERATIONS = REPO / "docs" / "operations.md"
DASHBOARD = GRAFANA / "dashboards" / "lienthong.json"
SEVERITIES = {"critical", "warning"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool in deploy/prometheus (relative rule paths resolve from there)."""
    binary = shutil.which("promtool")
    assert binary, "promtool not found: run deploy/local/system-deps.sh install"
    return subprocess.run(
        [binary, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120, check=False
    )


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _alerts() -> list[dict[str, Any]]:
    groups = _yaml(PROMETHEUS / "rules" / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _slug(heading: str) -> str:
    """Return the anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_config_and_rules_pass_promtool_check() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout


def test_alert_unit_tests_pass() -> None:
    tests = sorted(path.name for path in (PROMETHEUS / "tests").glob("*.yml"))
    result = promtool("test", "rules", *(f"tests/{name}" for name in tests))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(tests)


def test_every_alert_has_a_severity_annotations_and_a_runbook_section() -> None:
    anchors = {
        _slug(line.lstrip("#"))
        for line in OPERATIONS.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for alert in _alerts():
        name = alert["alert"]
        assert alert["labels"]["severity"] in SEVERITIES, name
        annotations = alert["annotations"]
        assert {"summary", "description", "runbook"} <= set(annotations), name
        page, _, anchor = annotations["runbook"].partition("#")
        assert page == "docs/operations.md", name
        assert anchor in anchors, f"{name}: no section #{anchor} in docs/operations.md"


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    fired = set()
    for path in (PROMETHEUS / "tests").glob("*.yml"):
        for test in _yaml(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    fired.add(case["alertname"])
    assert {alert["alert"] for alert in _alerts()} == fired


def _queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_dashboard_has_the_panels_operators_need() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = dashboard["panels"]
    rows = [p["title"] for p in panels if p["type"] == "row"]
    assert rows == ["Flow", "Producer (HTTP API)", "Router", "Consumer", "Health and releases"]
    titles = {p["title"] for p in panels}
    for wanted in (
        "Flow per event type",
        "Fan-out: endpoints per routed event",
        "Dead letters by reason",
        "Lag per endpoint (delivery topic)",
        "Deliveries per endpoint",
    ):
        assert wanted in titles
    assert any(p["type"] == "heatmap" and "latency" in p["title"] for p in panels)
    assert len({p["id"] for p in panels}) == len(panels)
    datasource = _yaml(GRAFANA / "provisioning" / "datasources" / "lienthong.yml")
    uid = datasource["datasources"][0]["uid"]
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == uid, panel["title"]
    provider = _yaml(GRAFANA / "provisioning" / "dashboards" / "lienthong.yml")
    assert provider["providers"][0]["folder"] == "Lienthong"


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    queries = _queries()
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": _promql(expr)}
                    for i, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(json.dumps(rules), encoding="utf-8")
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_recording_rules_that_dashboard_and_alerts_read_exist() -> None:
    groups = _yaml(PROMETHEUS / "rules" / "recording.yml")["groups"]
    recorded = {rule["record"] for group in groups for rule in group["rules"]}
    text = DASHBOARD.read_text(encoding="utf-8") + json.dumps(_alerts())
    used = set(re.findall(r"\blienthong:[a-z0-9_:]+", text))
    assert used, "expected the dashboard and alerts to read recording rules"
    assert used <= recorded, used - recorded


def _promql(expr: str) -> str:
    """Replace the Grafana variables with what Grafana sends for them."""
    for variable, value in {
        "$__rate_interval": "1m",
        "$endpoint": ".*",
        "$event_type": ".*",
    }.items():
        expr = expr.replace(variable, value)
    if "$" in expr:
        pytest.fail(f"unknown Grafana variable in {expr}")
    return expr
