"""`lienthong replay --endpoint` on a real broker, with a running consumer and its store."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from lienthong.cli.replay import replay_command
from lienthong.consumer.store.store import Store
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import KafkaSettings
from tests.support.consumer import (
    ENDPOINT,
    deliver,
    delivered_events,
    running_consumer,
    wait_for_events,
    with_store,
)
from tests.support.router import Deployment, deploy, event_ids, read_committed


@click.group()
def root() -> None:
    """Stand in for `lienthong`, which registers `replay`."""


root.add_command(replay_command)


def cli(dep: Deployment, *args: str) -> Result:
    s = dep.settings
    env = {
        **environment(s.kafka),
        "LIENTHONG_TOPICS_DELIVERY_PREFIX": s.topics.delivery_prefix,
        "LIENTHONG_DIRECTORY_PATH": str(s.directory.path),
        "LIENTHONG_LOG_FORMAT": "json",
    }
    result = CliRunner().invoke(root, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def wait_for_offsets(url: str, topic: str, ends: dict[int, int], timeout_s: float = 60) -> None:
    """Wait until the consumer has stored offsets past `ends`: it read everything up to them."""
    deadline = time.monotonic() + timeout_s
    stored: dict[tuple[str, int], int] = {}
    while time.monotonic() < deadline:
        with Store.open(url, migrate=False) as store:
            stored = store.offsets(ENDPOINT, [(topic, p) for p in ends])
        if all(stored.get((topic, p), 0) >= end for p, end in ends.items()):
            return
        time.sleep(0.3)
    pytest.fail(f"the consumer did not read up to {ends}: it stored {stored}")


@pytest.fixture
def dep(kafka_admin: KafkaSettings, tmp_path: Path) -> Deployment:
    return with_store(deploy(kafka_admin), f"sqlite:///{tmp_path / 'store.sqlite'}")


def test_redelivered_records_reach_the_running_consumer_and_leave_its_store_unchanged(
    dep: Deployment,
) -> None:
    url = dep.settings.consumer.database_url.get_secret_value()
    topic = dep.delivery_topics()[ENDPOINT]
    started = datetime.now(UTC).isoformat()
    early, late = delivered_events(30), delivered_events(20)
    deliver(dep, early)
    time.sleep(0.05)  # record timestamps are milliseconds: keep the two sets apart
    middle = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    deliver(dep, late)
    with running_consumer(dep):
        before = wait_for_events(url, 50)
        assert before["lt_events"] == 50

        dry = json.loads(
            cli(
                dep,
                "replay",
                "--endpoint",
                ENDPOINT,
                "--since",
                started,
                "--until",
                middle,
                "--dry-run",
                "--json",
            ).stdout
        )
        assert dry["redelivered"] == 30
        assert sum(p["after_until"] for p in dry["partitions"]) == 20
        since_middle = cli(dep, "replay", "--endpoint", ENDPOINT, "--since", middle, "--dry-run")
        assert (
            "20 records would be re-delivered; dry run: nothing was published"
            in since_middle.stdout
        )

        done = json.loads(
            cli(dep, "replay", "--endpoint", ENDPOINT, "--since", started, "--json").stdout
        )
        assert done["redelivered"] == 50
        assert done["topic"] == topic
        records = read_committed(dep.kafka, [topic], 100, settle_s=2)
        assert len(records) == 100
        assert set(event_ids(records).values()) == {2}  # every event re-delivered once
        last = Counter[int]()
        for record in records:
            last[record.partition] = max(last[record.partition], record.offset + 1)
        wait_for_offsets(url, topic, dict(last))
        with Store.open(url, migrate=False) as store:
            assert store.counts() == before  # idempotent by event id: nothing written twice

    again = cli(dep, "replay", "--endpoint", ENDPOINT, "--since", started, "--dry-run", "--json")
    repeated = json.loads(again.stdout)
    assert repeated["redelivered"] == 50  # one copy per event, not one per record seen
    assert sum(p["repeated"] for p in repeated["partitions"]) == 50
    nothing = cli(dep, "replay", "--endpoint", ENDPOINT, "--since", "2999-01-01")
    assert nothing.stdout.splitlines()[-1] == "0 records re-delivered"
    assert len(read_committed(dep.kafka, [topic], 100, settle_s=1)) == 100
