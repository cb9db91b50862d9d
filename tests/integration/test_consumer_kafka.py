"""The consumer on a real broker and a real store (SQLite and PostgreSQL), exactly once."""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from lienthong.consumer.bootstrap import ConsumerService
from lienthong.consumer.store.store import Store
from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.headers import EventHeaders
from lienthong.contract.schemas import EventType
from lienthong.plumbing.settings import KafkaSettings
from tests.support.consumer import (
    ENDPOINT,
    RECIPIENTS,
    deliver,
    delivered_events,
    running_consumer,
    start_consumer_process,
    wait_for_events,
    with_store,
)
from tests.support.kafka import LocalKafka
from tests.support.postgres import LocalPostgres
from tests.support.router import Deployment, deploy, read_committed


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def dep(kafka_admin: KafkaSettings, store_url: str) -> Deployment:
    return with_store(deploy(kafka_admin), store_url)


def _url(dep: Deployment) -> str:
    return dep.settings.consumer.database_url.get_secret_value()


def _expected_receipts(events: list[tuple[EventType, dict[str, Any]]]) -> int:
    return sum(len(RECIPIENTS) for t, _ in events if t is EventType.DOCUMENT)


def _checksum(events: list[tuple[EventType, dict[str, Any]]]) -> str:
    ids = sorted(str(r["event_id"]) for _, r in events)
    return hashlib.sha256("".join(f"{i}\n" for i in ids).encode()).hexdigest()


def _duplicates(service: ConsumerService) -> int:
    """Return how many delivered events the consumer found already stored, all types."""
    return int(
        sum(
            service.registry.get_sample_value(
                "lienthong_consumer_events_total",
                {"endpoint": ENDPOINT, "event_type": kind.value, "outcome": "duplicate"},
            )
            or 0
            for kind in EventType
        )
    )


def _wait_until(done: Callable[[], bool], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.2)


def _stored_events(dep: Deployment) -> int:
    """Return the rows of lt_events; 0 while the consumer has not made the schema yet."""
    try:
        with Store.open(_url(dep), migrate=False) as store:
            return store.counts()["lt_events"]
    except Exception:  # noqa: BLE001 - a fresh database has no tables until the consumer starts
        return 0


def _wait_for_progress(
    dep: Deployment, process: subprocess.Popen[bytes], log: Path, *, beyond: int, total: int
) -> None:
    """Wait until the consumer process stored more than `beyond` events (or all `total`)."""
    deadline = time.monotonic() + 60
    while (stored := _stored_events(dep)) <= beyond and stored < total:
        assert process.poll() is None, log.read_text(encoding="utf-8")[-3000:]
        assert time.monotonic() < deadline, f"no event stored beyond {beyond} in 60 s"
        time.sleep(0.2)


def _receipts_on_inbound(dep: Deployment, expected: int) -> Counter[str]:
    records = read_committed(dep.kafka, [dep.settings.topics.inbound], expected, timeout_s=60)
    return Counter(EventHeaders.from_kafka(r.headers).event_id for r in records)


def test_ten_thousand_delivered_events_persist_exactly_once(dep: Deployment) -> None:
    events = delivered_events(10_000)
    deliver(dep, events)
    with running_consumer(dep) as service:
        counts = wait_for_events(_url(dep), len(events))
        before = _duplicates(service)
        deliver(dep, events[:500])  # the same events delivered again: nothing new
        # Read and found stored, every one: only then is "nothing changed" worth asserting.
        _wait_until(lambda: _duplicates(service) >= before + 500, "500 duplicates", 60)
        assert _duplicates(service) == before + 500
        assert service.store.counts() == counts
        assert service.store.event_id_checksum() == _checksum(events)
    assert counts["lt_events"] == 10_000
    assert counts["lt_documents"] == 6_000
    assert counts["lt_reports"] == 2_000
    assert counts["lt_report_values"] == 8_000
    assert counts["lt_statuses"] == 2_000
    assert counts["lt_outbox"] == _expected_receipts(events)
    receipts = _receipts_on_inbound(dep, _expected_receipts(events))
    assert len(receipts) == _expected_receipts(events)  # every receipt, by its own event id


# Its waits: three runs of up to 60 s to progress and 10 s to die, 240 s to catch up, 60 s for
# the outbox, 60 s to stop, 60 s to read the receipts; more than the suite's 300 s.
@pytest.mark.timeout(720)
def test_consumer_killed_mid_batch_ends_with_the_same_rows_and_receipts(
    dep: Deployment, tmp_path: Path
) -> None:
    events = delivered_events(20_000)
    deliver(dep, events)
    log = tmp_path / "consumer.log"
    progress: list[int] = []
    for _ in range(3):
        process = start_consumer_process(dep, log)
        # Kill it while it works, however slow its start on a loaded machine: once it stored
        # something new, a random moment later.
        beyond = progress[-1] if progress else 0
        _wait_for_progress(dep, process, log, beyond=beyond, total=len(events))
        time.sleep(random.uniform(0.1, 1.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        with Store.open(_url(dep), migrate=False) as store:
            progress.append(store.counts()["lt_events"])
    assert any(0 < done < len(events) for done in progress), progress  # killed mid-stream
    process = start_consumer_process(dep, log)
    try:
        counts = wait_for_events(_url(dep), len(events), timeout_s=240)
        with Store.open(_url(dep), migrate=False) as store:
            deadline = time.monotonic() + 60
            while store.outbox_backlog() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert store.outbox_backlog() == 0
            assert store.event_id_checksum() == _checksum(events)
            assert store.counts() == counts
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert counts["lt_events"] == len(events)
    assert counts["lt_outbox"] == _expected_receipts(events)  # none missing, none doubled
    receipts = _receipts_on_inbound(dep, _expected_receipts(events))
    assert len(receipts) == _expected_receipts(events)
    # A kill between publishing and marking sent re-sends, with the same event id: bounded.
    assert sum(receipts.values()) - len(receipts) <= 3 * 500


def test_poison_record_goes_to_the_dlq_and_the_records_after_it_persist(dep: Deployment) -> None:
    before, after = delivered_events(300), delivered_events(300)
    deliver(dep, before)
    poison = [(b"k", b"\xc3\x01not-avro-at-all", [(h.RECIPIENTS, b"000.00.00.H41")])]
    deliver(dep, [], raw=poison)
    deliver(dep, after)
    with running_consumer(dep):
        counts = wait_for_events(_url(dep), 600)
        dead = read_committed(dep.kafka, [dep.settings.topics.dlq], 1, timeout_s=30)
    assert counts["lt_events"] == 600
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers[h.DLQ_REASON] == b"unknown-fingerprint"
    assert headers[h.DLQ_STAGE] == b"consumer"
    assert headers[h.SOURCE_OFFSET] is not None
    assert dead[0].value == b"\xc3\x01not-avro-at-all"


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_record_the_database_refuses_is_dead_lettered_and_its_batch_stored(
    dep: Deployment,
) -> None:
    # PostgreSQL text cannot hold NUL: valid Avro, valid contract, refused by the store on
    # every retry. Without isolation the whole batch, and the endpoint, would stop there.
    before, after = delivered_events(200), delivered_events(200)
    poison = {**examples.document(event_id=uuid4()), "subject": "Về việc\x00 thử"}
    deliver(dep, [*before, (EventType.DOCUMENT, poison), *after])
    with running_consumer(dep) as service:
        counts = wait_for_events(_url(dep), 400)
        dead = read_committed(dep.kafka, [dep.settings.topics.dlq], 1, timeout_s=30)
        refused = service.registry.get_sample_value(
            "lienthong_consumer_dlq_total", {"reason": "store-rejected"}
        )
    assert counts["lt_events"] == 400
    assert refused == 1
    [letter] = dead
    headers = dict(letter.headers)
    assert headers[h.DLQ_REASON] == b"store-rejected"
    assert headers[h.EVENT_ID] == str(poison["event_id"]).encode()


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_postgres_down_for_twenty_seconds_mid_stream_loses_nothing(
    dep: Deployment, postgres: LocalPostgres
) -> None:
    events = delivered_events(6_000)
    deliver(dep, events[:2_000])
    with running_consumer(dep) as service:
        wait_for_events(_url(dep), 2_000)
        postgres.stop("immediate")  # a crash, not a clean shutdown
        deliver(dep, events[2_000:])
        time.sleep(20)
        postgres.start()
        counts = wait_for_events(_url(dep), len(events), timeout_s=180)
        assert service.store.event_id_checksum() == _checksum(events)
    assert counts["lt_events"] == len(events)
    assert counts["lt_outbox"] == _expected_receipts(events)


def _described_lag(kafka: LocalKafka, group: str) -> dict[int, tuple[int, int]]:
    """Return partition -> (current offset, lag) as `kafka-consumer-groups --describe` prints."""
    result = kafka.run(
        "run-class",
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        "--bootstrap-server",
        kafka.bootstrap,
        "--command-config",
        str(kafka.admin_properties),
        "--describe",
        "--group",
        group,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows: dict[int, tuple[int, int]] = {}
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[0] == group and fields[3].isdigit():
            rows[int(fields[2])] = (int(fields[3]), int(fields[5]))
    return rows


def test_kafka_consumer_groups_describe_shows_the_consumers_lag(
    kafka: LocalKafka, tmp_path: Path
) -> None:
    dep = with_store(deploy(kafka.admin_settings()), f"sqlite:///{tmp_path / 'store.sqlite'}")
    group = f"{dep.settings.consumer.group_prefix}-{ENDPOINT}"
    events = delivered_events(900)
    deliver(dep, events)
    with running_consumer(dep) as service:
        wait_for_events(_url(dep), len(events))
        # Advisory commits follow the database's: the tool sees the consumer caught up.
        _wait_until(
            lambda: (
                (rows := _described_lag(kafka, group)) != {}
                and sum(current for current, _ in rows.values()) == len(events)
            ),
            "kafka-consumer-groups to show every stored position",
            120,
        )
        committed = service.registry.get_sample_value(
            "lienthong_consumer_kafka_commits_total", {"outcome": "committed"}
        )
        assert committed is not None
        assert committed > 0
    assert sum(lag for _, lag in _described_lag(kafka, group).values()) == 0
    deliver(dep, delivered_events(300))  # the consumer is stopped: its lag is visible
    assert sum(lag for _, lag in _described_lag(kafka, group).values()) == 300
