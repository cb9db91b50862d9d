"""The router replaces clients that hang or fail fatally, and tells the truth while it waits."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

import pytest
from confluent_kafka import KafkaError
from prometheus_client import CollectorRegistry

from lienthong.contract import examples
from lienthong.contract.codec import Codec
from lienthong.contract.headers import EventHeaders
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.directory.live import DirectoryHolder
from lienthong.directory.loader import load_directory
from lienthong.plumbing.bounded import Abandoned, CallAbandoned, CallThread
from lienthong.plumbing.health import OK, Heartbeat
from lienthong.plumbing.settings import RouterSettings, TopicSettings
from lienthong.router.clients import RebuildLimits, RouterGaveUp
from lienthong.router.decide import Router
from lienthong.router.loop import RouterLoop
from lienthong.router.metrics import RouterMetrics
from tests.support.api import EXAMPLE_DIRECTORY
from tests.support.router_fakes import INBOUND, FakeBroker, FakeInboundConsumer, FakeTxnProducer

CODEC = Codec(SchemaStore.from_package())
TOPICS = TopicSettings(inbound=INBOUND, dlq="fake.dlq", delivery_prefix="fake.deliver.")
FAST = RebuildLimits(call_timeout_s=0.2, produce_timeout_s=0.2, grace_s=0.3)


def _broker(documents: int) -> FakeBroker:
    directory = load_directory(EXAMPLE_DIRECTORY)
    records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []
    for _ in range(documents):
        out = prepare(CODEC, EventType.DOCUMENT, examples.document(event_id=uuid4()))
        records.append((out.key, out.value, list(out.headers)))
    topics = {e.delivery_topic(TOPICS.delivery_prefix) for e in directory.endpoints.values()}
    return FakeBroker(records, topics | {TOPICS.dlq, TOPICS.inbound})


def _loop(
    broker: FakeBroker,
    producers: list[FakeTxnProducer],
    limits: RebuildLimits = FAST,
    registry: CollectorRegistry | None = None,
) -> tuple[RouterLoop, list[FakeInboundConsumer]]:
    made = iter(producers)
    consumers: list[FakeInboundConsumer] = []

    def new_consumer() -> FakeInboundConsumer:
        consumers.append(FakeInboundConsumer(broker))
        return consumers[-1]

    loop = RouterLoop(
        new_consumer=new_consumer,  # type: ignore[arg-type]
        new_producer=lambda: next(made),  # type: ignore[arg-type, return-value]
        router=Router(CODEC, TOPICS.delivery_prefix),
        directory=DirectoryHolder(EXAMPLE_DIRECTORY, load_directory, check_interval_s=60),
        codec=CODEC,
        settings=RouterSettings(batch_max_records=50, batch_max_ms=5),
        topics=TOPICS,
        metrics=RouterMetrics(registry or CollectorRegistry()),
        limits=limits,
    )
    return loop, consumers


@contextmanager
def _running(loop: RouterLoop) -> Iterator[list[BaseException]]:
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            loop.run(stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()


def _wait(condition: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def _delivered_once(broker: FakeBroker, documents: int) -> bool:
    with broker.lock:
        ids = Counter(EventHeaders.from_kafka(r.headers).event_id for r in broker.visible)
    return len(ids) == documents and set(ids.values()) == {len(broker.visible) // documents}


def test_a_transactional_call_that_never_returns_is_abandoned_and_the_clients_rebuilt() -> None:
    broker = _broker(120)
    stuck = FakeTxnProducer(broker, hang="send_offsets_to_transaction")
    registry = CollectorRegistry()
    loop, consumers = _loop(broker, [stuck, FakeTxnProducer(broker)], registry=registry)
    try:
        with _running(loop) as errors:
            _wait(lambda: broker.committed == 120)
            assert not errors
        assert _delivered_once(broker, 120)
        assert (
            registry.get_sample_value(
                "lienthong_router_client_rebuilds_total", {"reason": "stuck-call"}
            )
            == 1
        )
        # The stuck producer is still blocked in its call, and counted as such.
        assert registry.get_sample_value("lienthong_router_abandoned_clients") == 1
        assert consumers[0].closed  # the first generation's consumer was given up
    finally:
        stuck.released.set()
    _wait(lambda: registry.get_sample_value("lienthong_router_abandoned_clients") == 0)


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ("commit_transaction", "fatal-error"),
        ("send_offsets_to_transaction", "fatal-error"),
        ("begin_transaction", "fatal-error"),
    ],
)
def test_a_fatal_error_rebuilds_the_clients_and_nothing_is_lost_or_doubled(
    call: str, reason: str
) -> None:
    broker = _broker(80)
    fenced = KafkaError(KafkaError._FENCED, "fenced by a newer instance", fatal=True)
    registry = CollectorRegistry()
    loop, _ = _loop(
        broker,
        [FakeTxnProducer(broker, fail=(call, fenced)), FakeTxnProducer(broker)],
        registry=registry,
    )
    with _running(loop) as errors:
        _wait(lambda: broker.committed == 80)
        assert not errors
    assert _delivered_once(broker, 80)
    assert (
        registry.get_sample_value("lienthong_router_client_rebuilds_total", {"reason": reason}) == 1
    )


def test_an_abortable_error_aborts_and_routes_the_batch_again_without_a_rebuild() -> None:
    broker = _broker(30)
    abortable = KafkaError(KafkaError._INCONSISTENT, "failed delivery", txn_requires_abort=True)
    first = FakeTxnProducer(broker, fail=("commit_transaction", abortable))
    registry = CollectorRegistry()
    loop, _ = _loop(broker, [first, FakeTxnProducer(broker)], registry=registry)
    with _running(loop) as errors:
        _wait(lambda: "abort_transaction" in first.calls)
        assert not errors
    aborted = registry.get_sample_value(
        "lienthong_router_transactions_total", {"outcome": "aborted"}
    )
    assert aborted is not None
    assert aborted >= 1
    assert (
        registry.get_sample_value(
            "lienthong_router_client_rebuilds_total", {"reason": "stuck-call"}
        )
        == 0
    )


def test_a_router_whose_clients_keep_hanging_gives_up_past_its_limit() -> None:
    broker = _broker(10)
    producers = [FakeTxnProducer(broker, hang="init_transactions") for _ in range(4)]
    limits = RebuildLimits(
        call_timeout_s=0.05, produce_timeout_s=0.05, grace_s=0.05, max_abandoned=2
    )
    loop, _ = _loop(broker, producers, limits=limits)
    try:
        with _running(loop) as errors:
            _wait(lambda: bool(errors))
        assert isinstance(errors[0], RouterGaveUp)
        assert "abandoned Kafka clients are still blocked" in str(errors[0])
    finally:
        for p in producers:
            p.released.set()


def test_readiness_and_the_blocked_gauge_say_when_routing_makes_no_progress() -> None:
    now = [1000.0]
    registry = CollectorRegistry()
    loop, _ = _loop(_broker(0), [], registry=registry)
    loop.progress = Heartbeat(clock=lambda: now[0])
    assert loop.routing_check() == OK
    assert registry.get_sample_value("lienthong_router_blocked") == 0
    now[0] += 16
    assert loop.routing_check() == (
        "stalled: no batch committed and no idle poll for 16 s (limit 15 s)"
    )
    assert registry.get_sample_value("lienthong_router_blocked") == 1
    assert registry.get_sample_value("lienthong_router_progress_age_seconds") == 16


def test_a_call_thread_returns_results_raises_errors_and_abandons_past_its_deadline() -> None:
    thread: CallThread[list[int]] = CallThread([1, 2], "t")
    assert thread.call(sum, deadline_s=1, what="sum") == 3
    with pytest.raises(ZeroDivisionError):
        thread.call(lambda _: 1 / 0, deadline_s=1, what="divide")
    gate = threading.Event()
    abandoned = Abandoned()
    with pytest.raises(CallAbandoned, match=r"wait did not return within 0\.1 s"):
        thread.call(lambda _: gate.wait(), deadline_s=0.1, what="wait")
    abandoned.add(thread)
    assert thread.stuck
    assert abandoned.count() == 1
    with pytest.raises(CallAbandoned, match="given up earlier"):
        thread.call(sum, deadline_s=1, what="sum")
    gate.set()
    assert thread.join(5)
    assert abandoned.count() == 0
