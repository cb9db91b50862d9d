"""Why a client cannot reach the broker, in one phrase: down, or a TLS handshake that fails.

The Kafka clients report a certificate the CA file does not verify as a broker that does not
answer (librdkafka's "all brokers down", kafka-python's "unable to bootstrap"), after their
whole timeout. When a command has failed that way, one TLS handshake of our own with the same
CA, certificate and hostname check says which it is.
"""

from __future__ import annotations

import socket
import ssl

from lienthong.plumbing.settings import KafkaSettings

_HANDSHAKE_TIMEOUT_S = 3.0
_TLS = frozenset({"SSL", "SASL_SSL"})
_UNLOADABLE = "cannot load the TLS files"


def tls_problem(kafka: KafkaSettings, timeout_s: float = _HANDSHAKE_TIMEOUT_S) -> str | None:
    """Return why a TLS handshake with the first bootstrap server fails; None if it succeeds.

    None too when the settings use no TLS or nothing answers on the port: then the
    broker is down or unreachable, which the caller's message already says.
    """
    if kafka.security_protocol not in _TLS:
        return None
    host, _, port = kafka.bootstrap.split(",")[0].strip().rpartition(":")
    ca = kafka.ssl_ca_location
    try:
        context = ssl.create_default_context(cafile=None if ca is None else str(ca))
        context.check_hostname = kafka.ssl_check_hostname
        if kafka.ssl_certificate_location is not None:
            password = kafka.ssl_key_password
            context.load_cert_chain(
                str(kafka.ssl_certificate_location),
                None if kafka.ssl_key_location is None else str(kafka.ssl_key_location),
                None if password is None else password.get_secret_value(),
            )
    except (OSError, ssl.SSLError) as exc:
        return f"{_UNLOADABLE}: {exc}"
    try:
        with (
            socket.create_connection((host, int(port)), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return None
    except ssl.SSLCertVerificationError as exc:
        trusted = f"the CA in {ca}" if ca is not None else "the system's CAs"
        return f"its TLS certificate is not trusted by {trusted} ({exc.verify_message})"
    except ssl.SSLError as exc:
        return f"the TLS handshake failed ({exc.reason or exc})"
    except (OSError, ValueError):
        return None


def reach_hint(kafka: KafkaSettings) -> str:
    """Return what to append to a failure to reach the broker: the TLS problem, or a question."""
    problem = tls_problem(kafka)
    if problem is None:
        return f"(is the broker at {kafka.bootstrap} up?)"
    if problem.startswith(_UNLOADABLE):
        return f"({problem})"
    return f"(the broker at {kafka.bootstrap} answers, but {problem})"
