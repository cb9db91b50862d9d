"""deploy/local/kafka.sh runs a real broker that clients can use, and manages it cleanly."""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer

from tests.support.kafka import (
    KAFKA_SH,
    STATUS_NOT_RUNNING,
    LocalKafka,
    create_topics,
    parse_fields,
    unique_name,
)
from tests.support.ports import free_port_pair, port_accepts

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def own_broker() -> Iterator[LocalKafka]:
    """A broker of this module's own, which its tests may stop and restart."""
    broker = LocalKafka()
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture
def broker(own_broker: LocalKafka) -> LocalKafka:
    """The module's broker, running (an earlier test may have stopped it)."""
    own_broker.start()
    return own_broker


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            errors.append(err)

    for key, value in records:
        producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
    assert producer.flush(30) == 0, "messages still undelivered after 30 s"
    assert errors == []


def _consume(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Message]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique_name("group"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    got: list[Message] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got.append(msg)
    finally:
        consumer.close()
    return got


def test_clients_create_produce_and_consume(broker: LocalKafka) -> None:
    topic = unique_name("local-kafka")
    assert create_topics(broker.bootstrap, [topic], partitions=3) == [topic]

    _produce(broker.bootstrap, topic, [(b"k1", b"hello from lienthong")])

    [msg] = _consume(broker.bootstrap, topic, 1)
    assert (msg.key(), msg.value()) == (b"k1", b"hello from lienthong")


def test_transactions_work_on_one_node(broker: LocalKafka) -> None:
    topic = unique_name("txn")
    create_topics(broker.bootstrap, topic)
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "transactional.id": unique_name("txn-id")}
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, key=b"k", value=b"aborted")
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, key=b"k", value=b"committed")
    producer.commit_transaction(30)

    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": unique_name("g"),
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    values: list[bytes | None] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            error = msg.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                break
            assert error is None, error
            values.append(msg.value())
    finally:
        consumer.close()
    assert values == [b"committed"]


def test_topics_are_not_created_automatically(broker: LocalKafka) -> None:
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique_name("g")})
    try:
        topic = unique_name("never-created")
        metadata = consumer.list_topics(topic, timeout=10)
        assert metadata.topics[topic].error is not None
    finally:
        consumer.close()


def test_start_while_running_is_a_no_op(broker: LocalKafka) -> None:
    pid = broker.pid
    result = broker.run("start", timeout=120)
    assert result.returncode == 0, result.stderr
    fields = parse_fields(result.stdout)
    assert fields == {
        "bootstrap": broker.bootstrap,
        "log": str(broker.log_path),
        "pid": str(pid),
    }
    assert "already running" in result.stderr


def test_status_exit_codes(broker: LocalKafka) -> None:
    running = broker.status()
    assert running.returncode == 0
    assert parse_fields(running.stdout)["bootstrap"] == broker.bootstrap

    broker.stop()
    stopped = broker.status()
    assert stopped.returncode == STATUS_NOT_RUNNING
    assert stopped.stdout.strip() == "not running"


def test_stop_leaves_no_process_behind(broker: LocalKafka) -> None:
    pid = broker.pid
    assert pid is not None

    result = broker.run("stop", timeout=120)

    assert result.returncode == 0, result.stderr
    assert not _process_exists(pid)
    assert not (broker.home / "kafka.pid").exists()
    assert not port_accepts(broker.port)
    assert not port_accepts(broker.controller_port)
    again = broker.run("stop", timeout=60)
    assert (again.returncode, again.stdout.strip()) == (0, "not running")


def test_restart_keeps_the_data(broker: LocalKafka) -> None:
    topic = unique_name("survives-restart")
    create_topics(broker.bootstrap, topic)
    records = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(20)]
    _produce(broker.bootstrap, topic, records)
    old_pid = broker.pid

    assert broker.restart() == broker.bootstrap

    assert broker.pid != old_pid
    got = _consume(broker.bootstrap, topic, len(records))
    assert [(m.key(), m.value()) for m in got] == records


def test_start_refuses_a_port_taken_by_another_process(tmp_path: Path) -> None:
    port, controller_port = free_port_pair()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        other = LocalKafka(tmp_path / "other", port=port, controller_port=controller_port)
        result = other.run("start", timeout=120)
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert other.pid is None


def test_fetch_again_is_a_no_op(own_broker: LocalKafka) -> None:
    own_broker.start()  # the jars are in the cache by now
    result = own_broker.run("fetch", timeout=60)
    assert result.returncode == 0
    assert "nothing to fetch" in result.stderr


def test_help_names_every_variable_the_script_reads() -> None:
    script = KAFKA_SH.read_text(encoding="utf-8")
    variables = set(re.findall(r"\$\{(LIENTHONG_LOCAL_[A-Z_]+)", script))
    result = LocalKafka(Path("/nonexistent")).run("--help", timeout=30)
    assert result.returncode == 0
    assert variables
    assert {v for v in variables if v not in result.stdout} == set()


def _process_exists(pid: int) -> bool:
    """Tell whether a process with this pid exists and has not exited (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text(encoding="ascii")
    except FileNotFoundError:
        return False
