from __future__ import annotations

from pydantic import SecretStr

from lienthong.plumbing import kafka_confluent, kafka_python
from lienthong.plumbing.settings import KafkaSettings


def test_confluent_producer_is_idempotent_with_the_java_partitioner() -> None:
    config = kafka_confluent.producer_config(KafkaSettings(), transactional_id="router-0")
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["partitioner"] == "murmur2_random"
    assert config["transactional.id"] == "router-0"
    assert config["bootstrap.servers"] == "127.0.0.1:9092"


def test_confluent_consumer_reads_committed_and_never_commits_by_itself() -> None:
    config = kafka_confluent.consumer_config(KafkaSettings(), "g1")
    assert config["isolation.level"] == "read_committed"
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False


def test_kafka_python_producer_is_idempotent() -> None:
    config = kafka_python.producer_config(KafkaSettings(compression="none"))
    assert config["acks"] == "all"
    assert config["enable_idempotence"] is True
    assert config["compression_type"] is None
    assert "partitioner" not in config  # kafka-python's default is already Java's murmur2


def test_kafka_python_consumer_reads_committed() -> None:
    config = kafka_python.consumer_config(KafkaSettings(bootstrap="a:1,b:2"), "g1")
    assert config["isolation_level"] == "read_committed"
    assert config["enable_auto_commit"] is False
    assert config["bootstrap_servers"] == ["a:1", "b:2"]


def test_sasl_credentials_reach_both_clients() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="router",
        sasl_password=SecretStr("s3cret"),
    )
    assert kafka_confluent.common_config(kafka)["sasl.password"] == "s3cret"
    assert kafka_python.common_config(kafka)["sasl_plain_password"] == "s3cret"
