from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from lienthong.plumbing import kafka_confluent, kafka_python
from lienthong.plumbing.kafka_security import (
    KafkaSecurityError,
    environment,
    java_properties,
)
from lienthong.plumbing.settings import KafkaSettings, Settings

ROUTER = KafkaSettings(sasl_username="lt-router", sasl_password=SecretStr("s3cret"))


def test_confluent_producer_is_idempotent_with_the_java_partitioner() -> None:
    config = kafka_confluent.producer_config(ROUTER, transactional_id="router-0")
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["partitioner"] == "murmur2_random"
    assert config["transactional.id"] == "router-0"
    assert config["bootstrap.servers"] == "127.0.0.1:9092"


def test_confluent_consumer_reads_committed_and_never_commits_by_itself() -> None:
    config = kafka_confluent.consumer_config(ROUTER, "g1")
    assert config["isolation.level"] == "read_committed"
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False


def test_kafka_python_producer_is_idempotent() -> None:
    config = kafka_python.producer_config(ROUTER.model_copy(update={"compression": "none"}))
    assert config["acks"] == "all"
    assert config["enable_idempotence"] is True
    assert config["compression_type"] is None
    assert "partitioner" not in config  # kafka-python's default is already Java's murmur2


def test_kafka_python_consumer_reads_committed() -> None:
    config = kafka_python.consumer_config(ROUTER.model_copy(update={"bootstrap": "a:1,b:2"}), "g1")
    assert config["isolation_level"] == "read_committed"
    assert config["enable_auto_commit"] is False
    assert config["bootstrap_servers"] == ["a:1", "b:2"]


def test_the_default_is_tls_with_scram_and_a_checked_host_name() -> None:
    confluent = kafka_confluent.common_config(ROUTER)
    assert confluent["security.protocol"] == "SASL_SSL"
    assert confluent["sasl.mechanism"] == "SCRAM-SHA-512"
    assert confluent["ssl.endpoint.identification.algorithm"] == "https"
    python = kafka_python.common_config(ROUTER)
    assert python["security_protocol"] == "SASL_SSL"
    assert python["ssl_check_hostname"] is True


def test_sasl_credentials_reach_both_clients() -> None:
    assert kafka_confluent.common_config(ROUTER)["sasl.password"] == "s3cret"
    assert kafka_confluent.common_config(ROUTER)["sasl.username"] == "lt-router"
    assert kafka_python.common_config(ROUTER)["sasl_plain_password"] == "s3cret"


def test_the_password_is_read_from_its_file(tmp_path: Path) -> None:
    secret = tmp_path / "lt-router.password"
    secret.write_text("from-a-file\n", encoding="utf-8")
    secret.chmod(stat.S_IRUSR | stat.S_IWUSR)
    kafka = KafkaSettings(sasl_username="lt-router", sasl_password_file=secret)
    assert kafka_confluent.common_config(kafka)["sasl.password"] == "from-a-file"
    assert kafka_python.common_config(kafka)["sasl_plain_password"] == "from-a-file"


def test_tls_files_reach_both_clients(tmp_path: Path) -> None:
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("-----BEGIN-----\n", encoding="utf-8")
    kafka = ROUTER.model_copy(
        update={
            "ssl_ca_location": tmp_path / "ca.pem",
            "ssl_certificate_location": tmp_path / "client.pem",
            "ssl_key_location": tmp_path / "client.key",
        }
    )
    confluent = kafka_confluent.common_config(kafka)
    assert confluent["ssl.ca.location"] == str(tmp_path / "ca.pem")
    assert confluent["ssl.certificate.location"] == str(tmp_path / "client.pem")
    assert confluent["ssl.key.location"] == str(tmp_path / "client.key")
    python = kafka_python.common_config(kafka)
    assert python["ssl_cafile"] == str(tmp_path / "ca.pem")
    assert python["ssl_certfile"] == str(tmp_path / "client.pem")


@pytest.mark.parametrize(
    ("kafka", "message"),
    [
        (KafkaSettings(), "LIENTHONG_KAFKA_SASL_USERNAME is not set"),
        (KafkaSettings(sasl_username="lt-api"), "no password for lt-api"),
        (
            KafkaSettings(sasl_username="lt-api", sasl_password_file=Path("/nonexistent/pw")),
            "LIENTHONG_KAFKA_SASL_PASSWORD_FILE /nonexistent/pw cannot be read",
        ),
        (
            ROUTER.model_copy(update={"ssl_ca_location": Path("/nonexistent/ca.pem")}),
            "LIENTHONG_KAFKA_SSL_CA_LOCATION is /nonexistent/ca.pem, which is not a readable file",
        ),
    ],
)
def test_settings_that_cannot_authenticate_say_what_is_missing(
    kafka: KafkaSettings, message: str
) -> None:
    with pytest.raises(KafkaSecurityError, match="^" + message):
        kafka_confluent.common_config(kafka)
    with pytest.raises(KafkaSecurityError, match="^" + message):
        kafka_python.common_config(kafka)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"sasl_password": "a", "sasl_password_file": "/p"},
            "sasl_password or sasl_password_file, not both",
        ),
        ({"ssl_key_location": "/k"}, "a client certificate needs its key"),
        ({"sasl_mechanism": None}, "security_protocol SASL_SSL needs a sasl_mechanism"),
    ],
)
def test_incoherent_security_settings_are_refused_when_read(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        KafkaSettings.model_validate(fields)


def test_plaintext_needs_no_credentials() -> None:
    kafka = KafkaSettings(security_protocol="PLAINTEXT")
    assert kafka_confluent.common_config(kafka)["security.protocol"] == "PLAINTEXT"
    assert "sasl.username" not in kafka_confluent.common_config(kafka)


def test_a_child_process_gets_the_same_settings_from_its_environment(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("x", encoding="utf-8")
    kafka = KafkaSettings(
        bootstrap="127.0.0.1:1234",
        sasl_username="lt-endpoint-vpcp",
        sasl_password_file=secret,
        ssl_ca_location=secret,
    )
    assert Settings.from_env(environment(kafka)).kafka == kafka


def test_java_tools_get_a_scram_login_and_the_pem_trust_store(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x", encoding="utf-8")
    text = java_properties(ROUTER.model_copy(update={"ssl_ca_location": ca}))
    assert "security.protocol=SASL_SSL\n" in text
    assert "sasl.mechanism=SCRAM-SHA-512\n" in text
    assert 'ScramLoginModule required username="lt-router" password="s3cret";' in text
    assert f"ssl.truststore.location={ca}\n" in text
