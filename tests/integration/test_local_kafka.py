"""deploy/local/kafka.sh runs a real broker that clients can use, and manages it cleanly."""

from __future__ import annotations

import os
import re
import socket
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from lienthong.plumbing.settings import KafkaSettings
from tests.support.kafka import (
    KAFKA_SH,
    STATUS_NOT_RUNNING,
    LocalKafka,
    admin_client,
    create_topics,
    parse_fields,
    unique_name,
)
from tests.support.ports import free_port_pair, port_accepts
from tests.support.router import client_config

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


def _produce(kafka: KafkaSettings, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({**client_config(kafka), "acks": "all", "linger.ms": 0})
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            errors.append(err)

    for key, value in records:
        producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
    assert producer.flush(30) == 0, "messages still undelivered after 30 s"
    assert errors == []


def _consume(kafka: KafkaSettings, topic: str, count: int, timeout: float = 30.0) -> list[Message]:
    consumer = Consumer(
        {
            **client_config(kafka),
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
    admin = broker.admin_settings()
    assert create_topics(admin, [topic], partitions=3) == [topic]

    _produce(admin, topic, [(b"k1", b"hello from lienthong")])

    [msg] = _consume(admin, topic, 1)
    assert (msg.key(), msg.value()) == (b"k1", b"hello from lienthong")


def test_transactions_work_on_one_node(broker: LocalKafka) -> None:
    topic = unique_name("txn")
    admin = broker.admin_settings()
    create_topics(admin, topic)
    producer = Producer({**client_config(admin), "transactional.id": unique_name("txn-id")})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, key=b"k", value=b"aborted")
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, key=b"k", value=b"committed")
    producer.commit_transaction(30)

    consumer = Consumer(
        {
            **client_config(admin),
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
    consumer = Consumer({**client_config(broker.admin_settings()), "group.id": unique_name("g")})
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
        "security": "SASL_SSL",
        "ca": str(broker.ca_file),
        "admin_user": "lt-admin",
        "admin_password_file": str(broker.admin_password_file),
        "admin_properties": str(broker.admin_properties),
    }
    assert "already running" in result.stderr
    assert "INSECURE" not in result.stderr


def test_the_state_dir_keeps_its_secrets_to_its_owner(broker: LocalKafka) -> None:
    home = broker.home
    passwords = [
        (home / "secrets" / f"{user}.password").read_text(encoding="utf-8").strip().encode()
        for user in ("lt-admin", "lt-broker")
    ]
    assert all(passwords)
    holders: dict[str, int] = {}
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if b"PRIVATE KEY" in data or any(secret in data for secret in passwords):
                holders[path.relative_to(home).as_posix()] = stat.S_IMODE(path.stat().st_mode)
    expected = {"secrets/lt-admin.password", "secrets/lt-broker.password", "admin.properties"}
    expected |= {"server.properties", "tls/ca.key", "tls/broker.key", "tls/broker.pem"}
    assert expected <= holders.keys()
    assert {name: oct(mode) for name, mode in holders.items() if mode & 0o077} == {}
    for private in (home, home / "secrets"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o700, private
    # Clients must be able to read the CA certificate, which is public.
    assert stat.S_IMODE(broker.ca_file.stat().st_mode) & 0o044 == 0o044


def test_the_admin_properties_let_the_java_tools_in(broker: LocalKafka) -> None:
    printed = broker.run("client-properties", timeout=30)
    assert (printed.returncode, printed.stdout.strip()) == (0, str(broker.admin_properties))
    topic = unique_name("tools")
    create_topics(broker.admin_settings(), topic)
    tool = "org.apache.kafka.tools.TopicCommand"
    config = ["--command-config", str(broker.admin_properties)]
    listed = broker.run(
        "run-class", tool, "--bootstrap-server", broker.bootstrap, *config, "--list", timeout=120
    )
    assert listed.returncode == 0, listed.stderr
    assert topic in listed.stdout.split()


def _try_to_write(config: dict[str, Any], topic: str) -> list[KafkaError]:
    """Produce one record with this client configuration; return the errors the client saw.

    The record must not be delivered: it times out after 3 s.
    """
    errors: list[KafkaError] = []
    delivered: list[KafkaError | None] = []
    producer = Producer(
        {
            **config,
            "message.timeout.ms": 3000,
            "reconnect.backoff.ms": 200,
            "log_level": 0,  # the refusals are the expected outcome, not news for the log
            "error_cb": errors.append,
        }
    )
    producer.produce(topic, b"from a stranger", on_delivery=lambda e, _m: delivered.append(e))
    assert producer.flush(30) == 0
    [outcome] = delivered
    assert outcome is not None, "the broker took a record from a client it should refuse"
    assert outcome.code() == KafkaError._MSG_TIMED_OUT, outcome
    return errors


def _records_on(kafka: KafkaSettings, topic: str) -> int:
    consumer = Consumer({**client_config(kafka), "group.id": unique_name("watermarks")})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL"])
def test_a_client_without_credentials_is_refused(
    kafka: LocalKafka, kafka_admin: KafkaSettings, protocol: str
) -> None:
    topic = unique_name("stranger")
    create_topics(kafka_admin, topic)
    # What every client was before: a bootstrap and nothing else; or TLS, trusting the
    # broker's CA, but never saying who it is.
    stranger: dict[str, Any] = {"bootstrap.servers": kafka.bootstrap, "security.protocol": protocol}
    if protocol == "SSL":
        stranger["ssl.ca.location"] = str(kafka.ca_file)

    errors = _try_to_write(stranger, topic)

    assert errors, "the client reported no failure"
    assert {e.code() for e in errors} <= {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN}
    assert _records_on(kafka_admin, topic) == 0


def test_a_wrong_password_is_refused_with_an_authentication_error(
    kafka: LocalKafka, kafka_admin: KafkaSettings, tmp_path: Path
) -> None:
    topic = unique_name("wrong-password")
    create_topics(kafka_admin, topic)
    wrong = tmp_path / "lt-admin.password"
    wrong.write_text("not-the-password\n", encoding="utf-8")

    errors = _try_to_write(client_config(kafka.user_settings("lt-admin", wrong)), topic)

    refused = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert refused, errors
    assert "SASL authentication error" in refused[0].str()
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in refused[0].str()
    assert _records_on(kafka_admin, topic) == 0


def test_an_insecure_broker_says_so_and_its_data_dir_stays_insecure(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path / "insecure", insecure=True)
    try:
        started = broker.run("start", timeout=300)
        assert started.returncode == 0, started.stderr
        assert re.search(r"WARNING: .*INSECURE", started.stderr), started.stderr
        fields = parse_fields(started.stdout)
        assert (fields["bootstrap"], fields["security"]) == (broker.bootstrap, "PLAINTEXT")
        assert not {"ca", "admin_user", "admin_password_file", "admin_properties"} & fields.keys()
        assert not (broker.home / "secrets").exists()
        # Anyone gets in: why it is for measuring the cost of security and nothing else.
        plain = admin_client(
            KafkaSettings(bootstrap=broker.bootstrap, security_protocol="PLAINTEXT")
        )
        assert plain.list_topics(timeout=30).brokers
        broker.stop()

        # A data dir formatted without SCRAM credentials cannot come back secured.
        secured = LocalKafka(broker.home, port=broker.port, controller_port=broker.controller_port)
        refused = secured.run("start", timeout=300)
        assert refused.returncode == 1
        assert "was formatted for PLAINTEXT clients, not SASL_SSL" in refused.stderr
        assert secured.pid is None
    finally:
        broker.stop()


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
    admin = broker.admin_settings()
    create_topics(admin, topic)
    records = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(20)]
    _produce(admin, topic, records)
    old_pid = broker.pid

    assert broker.restart() == broker.bootstrap

    assert broker.pid != old_pid
    got = _consume(admin, topic, len(records))
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
