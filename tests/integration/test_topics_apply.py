"""`lienthong topics apply` against a real broker: creates everything once, then nothing."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from lienthong.cli import main
from tests.support.kafka import unique_name

EXAMPLE = Path(__file__).parents[2] / "deploy" / "directory.example.yaml"


def _env(bootstrap: str, prefix: str) -> dict[str, str]:
    return {
        "LIENTHONG_KAFKA_BOOTSTRAP": bootstrap,
        "LIENTHONG_DIRECTORY_PATH": str(EXAMPLE),
        "LIENTHONG_TOPICS_INBOUND": f"{prefix}.inbound",
        "LIENTHONG_TOPICS_DLQ": f"{prefix}.dlq",
        "LIENTHONG_TOPICS_DELIVERY_PREFIX": f"{prefix}.deliver.",
        "LIENTHONG_TOPICS_INBOUND_PARTITIONS": "4",
        "LIENTHONG_LOG_FORMAT": "json",
    }


def test_apply_creates_every_topic_then_has_nothing_to_do(kafka_bootstrap: str) -> None:
    prefix = unique_name("topics")
    env = _env(kafka_bootstrap, prefix)
    runner = CliRunner()

    first = runner.invoke(main, ["topics", "apply", "--json"], env=env)
    assert first.exit_code == 0, first.output
    outcomes = [json.loads(line) for line in first.stdout.splitlines()]
    names = {o["name"] for o in outcomes}
    assert {o["action"] for o in outcomes} == {"created"}
    assert f"{prefix}.inbound" in names
    assert f"{prefix}.dlq" in names
    assert f"{prefix}.deliver.vpcp" in names
    assert len(names) >= 5  # inbound, dlq, and at least three endpoints

    topics = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics
    assert len(topics[f"{prefix}.inbound"].partitions) == 4
    assert names <= set(topics)

    second = runner.invoke(main, ["topics", "apply"], env=env)
    assert second.exit_code == 0, second.output
    assert f"nothing to do: all {len(names)} topics exist" in second.stderr
    assert "created" not in second.stdout


def test_apply_reports_a_topic_that_differs_and_leaves_it(kafka_bootstrap: str) -> None:
    prefix = unique_name("topics")
    env = _env(kafka_bootstrap, prefix)
    runner = CliRunner()
    assert runner.invoke(main, ["topics", "apply"], env=env).exit_code == 0

    wider = {**env, "LIENTHONG_TOPICS_INBOUND_PARTITIONS": "8"}
    result = runner.invoke(main, ["topics", "apply"], env=wider)
    assert result.exit_code == 0, result.output
    assert f"differs      {prefix}.inbound  4 partitions, plan says 8" in result.stdout
    assert "1 topics differ from the plan" in result.stderr


def test_dry_run_creates_nothing(kafka_bootstrap: str) -> None:
    prefix = unique_name("topics")
    result = CliRunner().invoke(
        main, ["topics", "apply", "--dry-run"], env=_env(kafka_bootstrap, prefix)
    )
    assert result.exit_code == 0, result.output
    assert f"would-create {prefix}.inbound" in result.stdout
    topics = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics
    assert not any(name.startswith(prefix) for name in topics)


def test_unreachable_broker_fails_with_one_line() -> None:
    env = {**_env("127.0.0.1:1", "nowhere"), "LIENTHONG_LOG_LEVEL": "error"}
    result = CliRunner().invoke(main, ["topics", "apply", "--timeout", "3"], env=env)
    assert result.exit_code == 1
    assert "cannot list topics" in result.stderr
    assert "is the broker at 127.0.0.1:1 up?" in result.stderr
