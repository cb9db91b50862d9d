"""lienthong.plumbing.kafka_reach: a down broker, and a TLS problem, told apart (no broker here).

The handshake against a real broker with the wrong CA is in tests/integration/test_topics_apply.py.
"""

from __future__ import annotations

from pathlib import Path

from lienthong.plumbing.kafka_reach import reach_hint, tls_problem
from lienthong.plumbing.settings import KafkaSettings
from tests.support.ports import free_port


def test_nothing_listening_is_a_question_about_the_broker() -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    for protocol in ("SASL_SSL", "PLAINTEXT"):
        kafka = KafkaSettings(bootstrap=bootstrap, security_protocol=protocol)
        assert tls_problem(kafka) is None
        assert reach_hint(kafka) == f"(is the broker at {bootstrap} up?)"


def test_a_ca_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-ca.pem"
    kafka = KafkaSettings(bootstrap=f"127.0.0.1:{free_port()}", ssl_ca_location=missing)
    problem = tls_problem(kafka)
    assert problem is not None
    assert problem.startswith("cannot load the TLS files:")
    assert reach_hint(kafka) == f"({problem})"  # no broker was asked
