"""The router on a real broker: fan-out, ordering, dead letters, rebalances, SIGKILL."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from prometheus_client import CollectorRegistry

from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.codec import MAGIC
from lienthong.contract.headers import EventHeaders
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType
from lienthong.directory.model import Directory
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_confluent import make_producer
from lienthong.plumbing.settings import KafkaSettings
from lienthong.router.bootstrap import RouterService, build_router
from tests.support.api import example_directory
from tests.support.router import (
    CODEC,
    Deployment,
    client_config,
    deploy,
    event_ids,
    publish,
    publish_raw,
    read_committed,
    running_router,
    start_router_process,
)

DIRECTORY = example_directory()


@pytest.fixture
def dep(kafka_admin: KafkaSettings) -> Deployment:
    return deploy(kafka_admin)


def _expected_copies(
    directory: Directory, recipients: list[str], sender: str
) -> dict[str, set[str]]:
    """Endpoint -> recipient agencies, computed independently of the router's resolver."""
    agencies: set[str] = set()
    for name in recipients:
        agencies |= directory.group_members(name) if directory.is_group(name) else {name}
    if sender not in recipients:
        agencies.discard(sender)
    out: dict[str, set[str]] = defaultdict(set)
    for code in agencies:
        out[directory.agencies[code].endpoint].add(code)
    return out


def test_broadcast_reaches_every_member_endpoint_once_byte_identical(dep: Deployment) -> None:
    record = examples.document(event_id=uuid4(), recipients=("ministries-and-provinces",))
    out = prepare(CODEC, EventType.DOCUMENT, record)
    publish_raw(dep.kafka, dep.settings.topics.inbound, [(out.key, out.value, out.headers)])
    expected = _expected_copies(DIRECTORY, ["ministries-and-provinces"], "000.00.00.G22")
    topics = dep.delivery_topics()
    with running_router(dep):
        copies = read_committed(dep.kafka, list(topics.values()), len(expected))
    by_topic = {c.topic: c for c in copies}
    assert len(copies) == len(expected)
    for endpoint, agencies in expected.items():
        copy = by_topic[topics[endpoint]]
        assert copy.value == out.value  # the original bytes, unchanged
        assert copy.key == out.key
        assert set(h.parse_recipients(dict(copy.headers)[h.RECIPIENTS])) == agencies
        assert list(copy.headers[: len(out.headers)]) == out.headers


def test_order_per_key_is_kept_on_every_delivery_topic(dep: Deployment) -> None:
    events: list[tuple[EventType, dict[str, Any]]] = []
    for n in range(30):
        doc = examples.document(event_id=uuid4(), number=str(n), recipients=("all-provinces",))
        events.append((EventType.DOCUMENT, doc))
        events.extend(  # statuses travel back to vpcp on the document's key
            (
                EventType.STATUS,
                examples.status(event_id=uuid4(), document_id=doc["document_id"], code=code),
            )
            for code in ("03", "04", "05", "06")
        )
    revokes = [
        (
            EventType.DOCUMENT,
            {
                **doc,
                "event_id": uuid4(),
                "business": {
                    "action": "REVOKE",
                    "reason": "ban hành nhầm",
                    "staff": None,
                    "replacements": [],
                },
            },
        )
        for _, doc in events[::5]
    ]
    events += revokes
    publish(dep.kafka, dep.settings.topics.inbound, events)
    sent_order: dict[bytes, list[str]] = defaultdict(list)
    for event_type, record in events:
        out = prepare(CODEC, event_type, record)
        sent_order[out.key].append(str(record["event_id"]))
    topics = dep.delivery_topics()
    expected = 30 * 3 + 30 * 4 + 30 * 3  # docs to 3 province endpoints, statuses, revokes
    with running_router(dep):
        copies = read_committed(dep.kafka, list(topics.values()), expected)
    assert len(copies) == expected
    per_topic_key: dict[tuple[str, bytes], list[Envelope]] = defaultdict(list)
    for c in copies:
        per_topic_key[(c.topic, c.key or b"")].append(c)
    for (_, key), seen in per_topic_key.items():
        seen.sort(key=lambda e: (e.partition, e.offset))
        assert len({e.partition for e in seen}) == 1  # one key, one partition
        order = [EventHeaders.from_kafka(e.headers).event_id for e in seen]
        assert order == [i for i in sent_order[key] if i in set(order)]


def _bad_records(n: int) -> list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]:
    good = prepare(CODEC, EventType.DOCUMENT, examples.document(event_id=uuid4()))
    kinds = [
        (b"k", b'{"not": "avro"}', []),
        (b"k", MAGIC + b"\x00" * 8 + b"\x01", list(good.headers)),
        (good.key, (good.value or b"")[:-5], list(good.headers)),
        (good.key, good.value, []),
        (b"k", None, []),
    ]
    return [kinds[i % len(kinds)] for i in range(n)]


def test_ten_thousand_good_and_bad_records_all_accounted_for(dep: Deployment) -> None:
    rng = random.Random(7)
    good: list[tuple[EventType, dict[str, Any]]] = []
    for _ in range(9_000):
        choice = rng.random()
        if choice < 0.6:
            good.append(
                (
                    EventType.DOCUMENT,
                    examples.document(
                        event_id=uuid4(),
                        recipients=(
                            rng.choice(["000.00.00.H41", "all-ministries", "000.00.00.G06"]),
                        ),
                    ),
                )
            )
        elif choice < 0.8:
            good.append((EventType.REPORT, examples.report(event_id=uuid4())))
        else:
            good.append((EventType.STATUS, examples.status(event_id=uuid4())))
    unroutable = [
        (EventType.DOCUMENT, examples.document(event_id=uuid4(), recipients=("nowhere",)))
        for _ in range(500)
    ]
    publish(dep.kafka, dep.settings.topics.inbound, good[:4500])
    publish_raw(dep.kafka, dep.settings.topics.inbound, _bad_records(500))
    publish(dep.kafka, dep.settings.topics.inbound, unroutable + good[4500:])

    expected_copies = Counter[str]()
    for event_type, record in good:
        sender = record["from_organ"]["organ_id"]
        if event_type is EventType.STATUS:
            expected_copies[str(record["event_id"])] = 1
        else:
            copies = _expected_copies(DIRECTORY, list(record["recipients"]), sender)
            expected_copies[str(record["event_id"])] = len(copies)
    total_copies = sum(expected_copies.values()) + len(unroutable)  # + one Status 02 each
    topics = list(dep.delivery_topics().values())
    with running_router(dep):
        delivered = read_committed(dep.kafka, topics, total_copies, timeout_s=180)
        dead = read_committed(dep.kafka, [dep.settings.topics.dlq], 1000)

    axis = dep.settings.router.axis_organ_id.encode()  # who sends the router's statuses 02
    rejections = [
        e
        for e in delivered
        if dict(e.headers).get(h.SENDER) == axis
        and dict(e.headers).get(h.EVENT_TYPE) == b"status"
        and CODEC.decode(e.value or b"").record["status_code"] == "02"
    ]
    delivered_ids = event_ids(e for e in delivered if e not in rejections)
    assert delivered_ids == expected_copies  # each good event: exactly its endpoints, once each
    assert len(rejections) == len(unroutable)
    assert len(dead) == 1000  # 500 bad bytes + 500 unroutable, each once
    reasons = Counter(dict(d.headers)[h.DLQ_REASON].decode() for d in dead)
    assert reasons == {
        "bad-magic": 100,
        "unknown-fingerprint": 100,
        "corrupt-body": 100,
        "bad-headers": 100,
        "empty-value": 100,
        "unknown-recipient": 500,
    }
    # inputs = routed sources + dead letters
    sources = {
        (int(dict(d.headers)[h.SOURCE_PARTITION]), int(dict(d.headers)[h.SOURCE_OFFSET]))
        for d in dead
    }
    assert len(sources) == 1000
    assert len(delivered_ids) + len(dead) == len(good) + 1000


def _stream(n: int) -> list[tuple[EventType, dict[str, Any]]]:
    return [
        (
            EventType.DOCUMENT,
            examples.document(
                event_id=uuid4(), number=str(i), recipients=("000.00.00.H41", "000.00.00.G06")
            ),
        )
        for i in range(n)
    ]


def _assert_each_exactly_once(
    dep: Deployment, events: list[tuple[EventType, dict[str, Any]]]
) -> None:
    topics = [dep.delivery_topics()["tinh-nghe-an"], dep.delivery_topics()["bo-tai-chinh"]]
    delivered = read_committed(dep.kafka, topics, 2 * len(events), timeout_s=180)
    counts = event_ids(delivered)
    assert len(counts) == len(events)
    assert set(counts.values()) == {2}


def _sample(router: RouterService, name: str, labels: dict[str, str] | None = None) -> float:
    return router.registry.get_sample_value(name, labels or {}) or 0.0


def _wait_until(done: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.2)


_ROUTED = ("lienthong_router_records_total", {"event_type": "document", "outcome": "routed"})
_ASSIGNED = "lienthong_router_assigned_partitions"


def test_two_routers_with_a_rebalance_mid_stream_deliver_exactly_once(dep: Deployment) -> None:
    events = _stream(4000)
    inbound = dep.settings.topics.inbound
    publish(dep.kafka, inbound, events[:1500])
    with running_router(dep, "a") as a:
        _wait_until(lambda: _sample(a, *_ROUTED) > 0, "router a to route")
        with running_router(dep, "b") as b:  # joins: partitions move mid-stream
            publish(dep.kafka, inbound, events[1500:2250])
            # b really joined: it owns partitions while a runs, and routes records of them.
            _wait_until(lambda: _sample(b, _ASSIGNED) > 0, "router b to get partitions")
            publish(dep.kafka, inbound, events[2250:3000])
            _wait_until(lambda: _sample(b, *_ROUTED) > 0, "router b to route")
        publish(dep.kafka, inbound, events[3000:])  # b left: a takes everything back
        _assert_each_exactly_once(dep, events)


def _committed(group: Consumer, partitions: list[TopicPartition]) -> int:
    """Return how many inbound records the router group committed, over all partitions."""
    # A transaction with offsets still open (a killed router's) holds an offset fetch until it
    # ends: aborted by the restart, or timed out after the deployment's 20 s. Wait longer.
    return sum(max(0, tp.offset) for tp in group.committed(partitions, timeout=45))


def _wait_for_commits(
    group: Consumer,
    partitions: list[TopicPartition],
    process: subprocess.Popen[bytes],
    log: Path,
    *,
    beyond: int,
    total: int,
) -> None:
    """Wait until the router process committed more than `beyond` records (or all `total`)."""
    deadline = time.monotonic() + 60
    while (done := _committed(group, partitions)) <= beyond and done < total:
        assert process.poll() is None, log.read_text(encoding="utf-8")[-3000:]
        assert time.monotonic() < deadline, f"nothing committed beyond {beyond} in 60 s"
        time.sleep(0.2)


# Its waits: three runs of up to 60 s (and one last 45 s offset fetch) to commit, 10 s to die
# and 45 s to read the offsets, then 180 s to read every copy and 60 s to stop: 722 s, and the
# publishing. Over the suite's 300 s.
@pytest.mark.timeout(780)
def test_router_killed_mid_batch_and_restarted_delivers_exactly_once(
    dep: Deployment, tmp_path: Path
) -> None:
    events = _stream(20_000)
    inbound = dep.settings.topics.inbound
    publish(dep.kafka, inbound, events)
    log = tmp_path / "router.log"
    group = Consumer({**client_config(dep.kafka), "group.id": dep.settings.router.group_id})
    partitions = [TopicPartition(inbound, p) for p in range(4)]
    progress: list[int] = []
    for _ in range(3):  # kill it three times while it works
        process = start_router_process(dep, "killed", log)
        # However slow its start on a loaded machine: once it committed a batch more, a random
        # moment later.
        beyond = progress[-1] if progress else 0
        _wait_for_commits(group, partitions, process, log, beyond=beyond, total=len(events))
        time.sleep(random.uniform(0.1, 0.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        progress.append(_committed(group, partitions))
    group.close()
    # The kills really landed mid-stream (the test would prove nothing otherwise).
    assert any(0 < done < len(events) for done in progress), progress
    process = start_router_process(dep, "killed", log)  # same instance id: aborts the open txn
    try:
        _assert_each_exactly_once(dep, events)
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]


class _HangsOnce:
    """A real transactional producer whose first send_offsets_to_transaction never returns.

    The librdkafka hang of a broker restart, on demand: records of the open transaction are
    already produced (uncommitted) when the call blocks, as in the real case.
    """

    def __init__(self, real: Producer, release: threading.Event) -> None:
        self._real = real
        self._release = release

    def send_offsets_to_transaction(self, *_args: Any) -> None:
        self._release.wait()
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "released by the test"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_a_transactional_call_that_never_returns_is_abandoned_and_nothing_is_lost_or_doubled(
    dep: Deployment,
) -> None:
    events = _stream(3000)
    publish(dep.kafka, dep.settings.topics.inbound, events)
    release = threading.Event()
    made: list[Producer] = []

    def producer_factory(*args: Any, **kwargs: Any) -> Any:
        made.append(make_producer(*args, **kwargs))
        return _HangsOnce(made[-1], release) if len(made) == 1 else made[-1]

    router = dep.settings.router.model_copy(update={"instance_id": "hangs", "call_timeout_s": 2.0})
    service = build_router(
        dep.settings.model_copy(update={"router": router}),
        registry=CollectorRegistry(),
        producer_factory=producer_factory,
    )
    stop = threading.Event()
    thread = threading.Thread(target=service.loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        _assert_each_exactly_once(dep, events)
        assert _sample(service, _REBUILDS, {"reason": "stuck-call"}) == 1
        assert _sample(service, _ABANDONED) == 1  # its thread is still blocked in the call
        assert len(made) == 2
    finally:
        release.set()
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
    _wait_until(lambda: _sample(service, _ABANDONED) == 0, "the abandoned call to return")


_REBUILDS = "lienthong_router_client_rebuilds_total"
_ABANDONED = "lienthong_router_abandoned_clients"
