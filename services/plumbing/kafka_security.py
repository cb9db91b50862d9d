"""The security part of every Kafka client's configuration, from one KafkaSettings.

librdkafka (the services), kafka-python (the agency client) and the Java tools name the same
things differently; this module is the one place that maps TLS and SASL settings to each, and
the one place that says what is missing before a client tries to connect and fails obscurely.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lienthong.plumbing.settings import KafkaSettings

_ENV = "LIENTHONG_KAFKA_"


class KafkaSecurityError(ValueError):
    """The settings cannot authenticate: which setting is missing or unreadable, and why."""


@dataclass(frozen=True)
class Credentials:
    """What a client presents to the broker, resolved (the password read from its file)."""

    protocol: str
    mechanism: str | None
    username: str | None
    password: str | None
    ca: Path | None
    certificate: Path | None
    key: Path | None
    key_password: str | None
    check_hostname: bool

    @property
    def sasl(self) -> bool:
        """Tell whether the client authenticates with SASL."""
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        """Tell whether the connection is encrypted."""
        return self.protocol in ("SSL", "SASL_SSL")


def credentials(kafka: KafkaSettings) -> Credentials:
    """Resolve the settings into what a client presents; raise KafkaSecurityError if unusable."""
    username = password = None
    if kafka.security_protocol.startswith("SASL_"):
        username = kafka.sasl_username
        if not username:
            raise KafkaSecurityError(
                f"{_ENV}SASL_USERNAME is not set: the broker takes {kafka.security_protocol}"
                f" ({kafka.sasl_mechanism}) clients only; set the principal this process runs"
                " as (docs/security.md lists them)"
            )
        password = _password(kafka)
    for name, path in (
        ("SSL_CA_LOCATION", kafka.ssl_ca_location),
        ("SSL_CERTIFICATE_LOCATION", kafka.ssl_certificate_location),
        ("SSL_KEY_LOCATION", kafka.ssl_key_location),
    ):
        if path is not None and not path.is_file():
            raise KafkaSecurityError(f"{_ENV}{name} is {path}, which is not a readable file")
    return Credentials(
        protocol=kafka.security_protocol,
        mechanism=kafka.sasl_mechanism,
        username=username,
        password=password,
        ca=kafka.ssl_ca_location,
        certificate=kafka.ssl_certificate_location,
        key=kafka.ssl_key_location,
        key_password=None
        if kafka.ssl_key_password is None
        else kafka.ssl_key_password.get_secret_value(),
        check_hostname=kafka.ssl_check_hostname,
    )


def _password(kafka: KafkaSettings) -> str:
    if kafka.sasl_password is not None:
        return kafka.sasl_password.get_secret_value()
    path = kafka.sasl_password_file
    if path is None:
        raise KafkaSecurityError(
            f"no password for {kafka.sasl_username}: set {_ENV}SASL_PASSWORD_FILE (a file"
            f" holding it) or {_ENV}SASL_PASSWORD"
        )
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise KafkaSecurityError(
            f"{_ENV}SASL_PASSWORD_FILE {path} cannot be read: {exc.strerror}"
        ) from exc
    if not secret:
        raise KafkaSecurityError(f"{_ENV}SASL_PASSWORD_FILE {path} is empty")
    return secret


def librdkafka_config(kafka: KafkaSettings) -> dict[str, str]:
    """Return librdkafka's security properties (confluent-kafka)."""
    creds = credentials(kafka)
    config = {"security.protocol": creds.protocol}
    if creds.sasl:
        config["sasl.mechanism"] = str(creds.mechanism)
        config["sasl.username"] = str(creds.username)
        config["sasl.password"] = str(creds.password)
    if creds.tls:
        check = "https" if creds.check_hostname else "none"
        config["ssl.endpoint.identification.algorithm"] = check
        if creds.ca is not None:
            config["ssl.ca.location"] = str(creds.ca)
        if creds.certificate is not None and creds.key is not None:
            config["ssl.certificate.location"] = str(creds.certificate)
            config["ssl.key.location"] = str(creds.key)
        if creds.key_password is not None:
            config["ssl.key.password"] = creds.key_password
    return config


def kafka_python_config(kafka: KafkaSettings) -> dict[str, object]:
    """Return kafka-python's security options (the pure-Python agency client)."""
    creds = credentials(kafka)
    config: dict[str, object] = {"security_protocol": creds.protocol}
    if creds.sasl:
        config["sasl_mechanism"] = creds.mechanism
        config["sasl_plain_username"] = creds.username
        config["sasl_plain_password"] = creds.password
    if creds.tls:
        config["ssl_check_hostname"] = creds.check_hostname
        if creds.ca is not None:
            config["ssl_cafile"] = str(creds.ca)
        if creds.certificate is not None and creds.key is not None:
            config["ssl_certfile"] = str(creds.certificate)
            config["ssl_keyfile"] = str(creds.key)
        if creds.key_password is not None:
            config["ssl_password"] = creds.key_password
    return config


def java_properties(kafka: KafkaSettings) -> str:
    """Return a Java client properties file's text (the tools' --command-config)."""
    creds = credentials(kafka)
    lines = [f"security.protocol={creds.protocol}"]
    if creds.sasl:
        module = (
            "org.apache.kafka.common.security.plain.PlainLoginModule"
            if creds.mechanism == "PLAIN"
            else "org.apache.kafka.common.security.scram.ScramLoginModule"
        )
        lines += [
            f"sasl.mechanism={creds.mechanism}",
            (
                f'sasl.jaas.config={module} required username="{creds.username}"'
                f' password="{creds.password}";'
            ),
        ]
    if creds.tls:
        if not creds.check_hostname:
            lines.append("ssl.endpoint.identification.algorithm=")
        if creds.ca is not None:
            lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={creds.ca}"]
    return "\n".join(lines) + "\n"


def environment(kafka: KafkaSettings) -> dict[str, str]:
    """Return the LIENTHONG_KAFKA_* variables that give a child process these credentials.

    The password travels as a file when the settings name one, else as the variable.
    """
    env = {
        f"{_ENV}BOOTSTRAP": kafka.bootstrap,
        f"{_ENV}SECURITY_PROTOCOL": kafka.security_protocol,
        f"{_ENV}SSL_CHECK_HOSTNAME": "true" if kafka.ssl_check_hostname else "false",
    }
    secret = {"SASL_PASSWORD": kafka.sasl_password, "SSL_KEY_PASSWORD": kafka.ssl_key_password}
    optional: dict[str, object] = {
        "SASL_MECHANISM": kafka.sasl_mechanism,
        "SASL_USERNAME": kafka.sasl_username,
        "SASL_PASSWORD_FILE": kafka.sasl_password_file,
        "SSL_CA_LOCATION": kafka.ssl_ca_location,
        "SSL_CERTIFICATE_LOCATION": kafka.ssl_certificate_location,
        "SSL_KEY_LOCATION": kafka.ssl_key_location,
        **{k: None if v is None else v.get_secret_value() for k, v in secret.items()},
    }
    env.update({f"{_ENV}{k}": str(v) for k, v in optional.items() if v is not None})
    return env
