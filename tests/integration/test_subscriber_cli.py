"""`lienthong subscribe` against a real broker, run as its own process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any
from uuid import uuid4

import pytest

from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.jsonform import to_json
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType
from lienthong.plumbing.settings import KafkaSettings
from tests.support.kafka import admin_client, unique_name
from tests.support.router import CODEC, Deployment, deploy, publish_raw

ENDPOINT = "tinh-nghe-an"
# The click object as its own program: the same code `lienthong subscribe` runs.
COMMAND = [
    sys.executable,
    "-c",
    "from lienthong.cli.subscribe import subscribe_command; subscribe_command()",
]


@pytest.fixture
def dep(kafka_admin: KafkaSettings) -> Deployment:
    return deploy(kafka_admin)


def _deliver(dep: Deployment, *events: tuple[EventType, dict[str, Any]]) -> None:
    """Write records to the endpoint's topic as the router does."""
    records = []
    for event_type, record in events:
        out = prepare(CODEC, event_type, record)
        routed = [(h.RECIPIENTS, b"000.00.00.H41"), (h.ROUTED_AT, b"1795681816000")]
        records.append((out.key, out.value, [*out.headers, *routed]))
    publish_raw(dep.kafka, dep.delivery_topics()[ENDPOINT], records)


def _run(dep: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, "--endpoint", ENDPOINT, *args],
        env=dep.env("cli"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _groups(kafka: KafkaSettings) -> set[str]:
    admin = admin_client(kafka)
    listed = admin.list_consumer_groups(request_timeout=10).result(timeout=15)
    return {g.group_id for g in listed.valid}


def test_from_the_beginning_filtered_as_json_without_touching_any_group(dep: Deployment) -> None:
    status = examples.status(event_id=uuid4())
    _deliver(
        dep, (EventType.DOCUMENT, examples.document(event_id=uuid4())), (EventType.STATUS, status)
    )
    groups_before = _groups(dep.kafka)
    done = _run(dep, "--from-beginning", "--type", "status", "--json", "--count", "1")
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    said = json.loads(line)
    assert said["record"] == to_json(status)
    assert said["headers"][h.RECIPIENTS] == "000.00.00.H41"
    assert _groups(dep.kafka) == groups_before  # no group joined, nothing committed


def test_with_a_group_the_next_run_goes_on_where_the_last_one_stopped(dep: Deployment) -> None:
    docs = [examples.document(event_id=uuid4(), number=str(n)) for n in range(3)]
    _deliver(dep, *[(EventType.DOCUMENT, d) for d in docs])
    group = unique_name("ops-tail")
    # --from-beginning applies only where the group has committed nothing: a partition the
    # first run showed no event of is read from its start by the second.
    first = _run(dep, "--group", group, "--from-beginning", "--count", "2")
    second = _run(dep, "--group", group, "--from-beginning", "--count", "1")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    ids = [line.split()[3] for line in (first.stdout + second.stdout).splitlines()]
    assert sorted(ids) == sorted(str(d["event_id"]) for d in docs)  # each once, none again


def test_a_live_tail_shows_new_events_and_ctrl_c_exits_0(dep: Deployment) -> None:
    _deliver(dep, (EventType.DOCUMENT, examples.document(event_id=uuid4(), number="old")))
    tail = subprocess.Popen(
        [*COMMAND, "--endpoint", ENDPOINT],
        env=dep.env("cli"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert tail.stderr is not None
        assert tail.stdout is not None
        assert "Ctrl-C stops" in tail.stderr.readline()  # connected, at the end of the topic
        fresh = examples.document(event_id=uuid4(), number="new")
        started = time.monotonic()
        _deliver(dep, (EventType.DOCUMENT, fresh))
        line = tail.stdout.readline()
        assert time.monotonic() - started < 30
        assert str(fresh["event_id"]) in line
        assert "NEW new/VPCP-KSTT" in line
        tail.send_signal(signal.SIGINT)
        assert tail.wait(timeout=30) == 0
        assert "stopped after 1 events" in tail.stderr.read()
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()
