"""`lienthong topics apply` against a real broker: creates everything once, then nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner
from pydantic import SecretStr

from lienthong.cli import main
from lienthong.plumbing.kafka_reach import tls_problem
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import KafkaSettings
from tests.support.kafka import admin_client, unique_name

EXAMPLE = Path(__file__).parents[2] / "deploy" / "directory.example.yaml"


def _env(kafka: KafkaSettings, prefix: str) -> dict[str, str]:
    return {
        **environment(kafka),
        "LIENTHONG_DIRECTORY_PATH": str(EXAMPLE),
        "LIENTHONG_TOPICS_INBOUND": f"{prefix}.inbound",
        "LIENTHONG_TOPICS_DLQ": f"{prefix}.dlq",
        "LIENTHONG_TOPICS_DELIVERY_PREFIX": f"{prefix}.deliver.",
        "LIENTHONG_TOPICS_INBOUND_PARTITIONS": "4",
        "LIENTHONG_LOG_FORMAT": "json",
    }


def test_apply_creates_every_topic_then_has_nothing_to_do(kafka_admin: KafkaSettings) -> None:
    prefix = unique_name("topics")
    env = _env(kafka_admin, prefix)
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

    topics = admin_client(kafka_admin).list_topics(timeout=10).topics
    assert len(topics[f"{prefix}.inbound"].partitions) == 4
    assert names <= set(topics)

    second = runner.invoke(main, ["topics", "apply"], env=env)
    assert second.exit_code == 0, second.output
    assert f"nothing to do: all {len(names)} topics exist" in second.stderr
    assert "created" not in second.stdout


def test_apply_reports_a_topic_that_differs_and_leaves_it(kafka_admin: KafkaSettings) -> None:
    prefix = unique_name("topics")
    env = _env(kafka_admin, prefix)
    runner = CliRunner()
    assert runner.invoke(main, ["topics", "apply"], env=env).exit_code == 0

    wider = {**env, "LIENTHONG_TOPICS_INBOUND_PARTITIONS": "8"}
    result = runner.invoke(main, ["topics", "apply"], env=wider)
    assert result.exit_code == 0, result.output
    assert f"differs      {prefix}.inbound  4 partitions, plan says 8" in result.stdout
    assert "1 topics differ from the plan" in result.stderr


def test_dry_run_creates_nothing(kafka_admin: KafkaSettings) -> None:
    prefix = unique_name("topics")
    result = CliRunner().invoke(
        main, ["topics", "apply", "--dry-run"], env=_env(kafka_admin, prefix)
    )
    assert result.exit_code == 0, result.output
    assert f"would-create {prefix}.inbound" in result.stdout
    topics = admin_client(kafka_admin).list_topics(timeout=10).topics
    assert not any(name.startswith(prefix) for name in topics)


def test_unreachable_broker_fails_with_one_line() -> None:
    nowhere = KafkaSettings(
        bootstrap="127.0.0.1:1", sasl_username="lt-admin", sasl_password=SecretStr("x")
    )
    env = {**_env(nowhere, "nowhere"), "LIENTHONG_LOG_LEVEL": "error"}
    result = CliRunner().invoke(main, ["topics", "apply", "--timeout", "3"], env=env)
    assert result.exit_code == 1
    assert "cannot list topics" in result.stderr
    assert "is the broker at 127.0.0.1:1 up?" in result.stderr


def test_a_bare_bootstrap_fails_with_the_missing_setting_named() -> None:
    # What every caller of the PLAINTEXT days passed: a bootstrap and nothing else.
    env: dict[str, str | None] = {**_env(KafkaSettings(bootstrap="127.0.0.1:1"), "nowhere")}
    env["LIENTHONG_KAFKA_SASL_USERNAME"] = None  # unset, whatever the caller's environment says
    result = CliRunner().invoke(main, ["topics", "apply", "--timeout", "3"], env=env)
    assert result.exit_code == 1
    assert "LIENTHONG_KAFKA_SASL_USERNAME is not set" in result.stderr


def test_a_broker_certificate_the_ca_does_not_sign_is_named_as_such(
    kafka_admin: KafkaSettings, tmp_path: Path
) -> None:
    # Another CA than the broker's: what a client gets with the wrong file or a new cluster.
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(tmp_path / "other-ca.key"), "-out", str(other_ca),
         "-days", "1", "-subj", "/CN=Another CA"],
        check=True, capture_output=True,
    )  # fmt: skip
    assert tls_problem(kafka_admin) is None  # the broker's own CA: the handshake succeeds
    wrong = kafka_admin.model_copy(update={"ssl_ca_location": other_ca})
    # The broker sends its CA in the chain: OpenSSL names that one, self-signed and unknown.
    assert tls_problem(wrong) == (
        f"its TLS certificate is not trusted by the CA in {other_ca}"
        " (self-signed certificate in certificate chain)"
    )

    env = {**_env(wrong, unique_name("topics")), "LIENTHONG_LOG_LEVEL": "error"}
    result = CliRunner().invoke(main, ["topics", "apply", "--timeout", "3"], env=env)
    assert result.exit_code == 1
    assert f"(the broker at {kafka_admin.bootstrap} answers, but its TLS certificate" in (
        result.stderr
    )
