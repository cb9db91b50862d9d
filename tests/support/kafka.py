"""Kafka helpers for the tests: unique names, topics; the broker itself is lienthong.devtools."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import confluent_kafka
from confluent_kafka.admin import AdminClient, NewTopic

from lienthong.devtools.kafka import (
    KAFKA_SH,
    REPO_ROOT,
    STATUS_NOT_RUNNING,
    KafkaScriptError,
    LocalKafka,
    parse_fields,
)
from lienthong.plumbing.kafka_confluent import common_config
from lienthong.plumbing.kafka_security import credentials
from lienthong.plumbing.settings import KafkaSettings

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "KAFKA_SH",
    "REPO_ROOT",
    "STATUS_NOT_RUNNING",
    "KafkaScriptError",
    "LocalKafka",
    "admin_client",
    "create_topics",
    "describe_broker",
    "kcat_environment",
    "kcat_librdkafka_version",
    "kcat_security",
    "parse_fields",
    "unique_name",
    "wait_for_topics",
]

_TOPIC_CHARS = re.compile(r"[A-Za-z0-9._-]+")


def unique_name(prefix: str = "test") -> str:
    """Return a topic or group name unique to this call, e.g. `orders-1f3a9c0e2b7d`."""
    if not _TOPIC_CHARS.fullmatch(prefix):
        raise ValueError(f"a topic name may only hold letters, digits, '.', '_', '-': {prefix!r}")
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def describe_broker(broker: LocalKafka, lines: int = 25) -> str:
    """Return what a broker says of itself: `kafka.sh status`, its warnings, its log's tail.

    For a failure report; it never raises (a broker that does not answer is what it reports).
    """
    try:
        status = broker.status()
        said = f"kafka.sh status: exit {status.returncode}: {status.stdout.strip()}"
    except (OSError, subprocess.SubprocessError) as exc:
        said = f"kafka.sh status failed: {exc}"
    try:
        log = broker.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return f"{said}\n(no log: {exc})"
    warnings = [line for line in log if " WARN " in line or " ERROR " in line][-lines:]
    return "\n".join(
        [
            said,
            f"--- last {len(warnings)} warnings and errors of {broker.log_path} ---",
            *warnings,
            f"--- last {lines} lines ---",
            *log[-lines:],
        ]
    )


def admin_client(kafka: KafkaSettings) -> Any:
    """Return a confluent-kafka AdminClient with these settings' credentials."""
    return AdminClient(common_config(kafka, statistics=False))


def kcat_security(kafka: KafkaSettings) -> list[str]:
    """Return kcat's -X options for these settings' credentials."""
    creds = credentials(kafka)
    args = ["-X", f"security.protocol={creds.protocol}"]
    if creds.sasl:
        args += [
            "-X",
            f"sasl.mechanisms={creds.mechanism}",
            "-X",
            f"sasl.username={creds.username}",
        ]
        args += ["-X", f"sasl.password={creds.password}"]
    if creds.tls:
        if not creds.check_hostname:
            args += ["-X", "ssl.endpoint.identification.algorithm=none"]
        if creds.ca is not None:
            args += ["-X", f"ssl.ca.location={creds.ca}"]
    return args


# librdkafka before 2.6.1 repeats the client nonce in SCRAM's client-final message, which
# Kafka 4 refuses as invalid credentials (confluentinc/librdkafka#4895). Debian 12's kcat
# 1.7.1 runs on its librdkafka 2.0.2, so it cannot authenticate to the local broker.
_SCRAM_WITH_KAFKA_4 = (2, 6, 1)


def kcat_librdkafka_version() -> tuple[int, ...]:
    """Return the version of the librdkafka that `kcat` on PATH runs on."""
    kcat = shutil.which("kcat")
    if kcat is None:
        raise FileNotFoundError("kcat not found: deploy/local/system-deps.sh install")
    out = subprocess.run([kcat, "-V"], capture_output=True, text=True, timeout=30, check=True)
    found = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", out.stdout)
    if found is None:
        raise RuntimeError(f"kcat -V names no librdkafka version: {out.stdout!r}")
    return tuple(int(n) for n in found.groups())


def kcat_environment(workdir: Path) -> dict[str, str]:
    """Return variables that let `kcat` authenticate with SCRAM to the local (Kafka 4) broker.

    Nothing if kcat's own librdkafka can; else LD_LIBRARY_PATH to a directory (in `workdir`)
    that offers confluent-kafka's bundled, newer librdkafka under kcat's soname. kcat is still
    the independent client it was: only the library under it is newer.
    """
    if kcat_librdkafka_version() >= _SCRAM_WITH_KAFKA_4:
        return {}
    libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    bundled = sorted(libs.glob("librdkafka*.so.1"))
    if not bundled:
        raise RuntimeError(
            f"kcat runs on librdkafka < {'.'.join(map(str, _SCRAM_WITH_KAFKA_4))}, which cannot"
            f" authenticate to Kafka 4 with SCRAM, and {libs} holds no newer one"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    link = workdir / "librdkafka.so.1"
    link.unlink(missing_ok=True)
    link.symlink_to(bundled[0])
    return {"LD_LIBRARY_PATH": str(workdir)}


def create_topics(
    kafka: KafkaSettings,
    names: str | Iterable[str],
    partitions: int = 1,
    *,
    replication_factor: int = 1,
    config: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create topics and wait until every partition has a leader; return their names.

    Raises the broker's error (a KafkaException) if one cannot be created, e.g. because it
    exists, and TimeoutError if the partitions have no leader by the deadline.
    """
    topics = [names] if isinstance(names, str) else list(names)
    if not topics:
        return topics
    admin = admin_client(kafka)
    new_topics = [
        NewTopic(
            topic,
            num_partitions=partitions,
            replication_factor=replication_factor,
            config=dict(config or {}),
        )
        for topic in topics
    ]
    futures = admin.create_topics(new_topics, operation_timeout=timeout, request_timeout=timeout)
    for future in futures.values():
        future.result(timeout=timeout)
    wait_for_topics(admin, topics, partitions, timeout=timeout)
    return topics


def wait_for_topics(
    admin: Any,  # confluent_kafka's AdminClient ships no type information
    topics: list[str],
    partitions: int,
    *,
    timeout: float = 30.0,
) -> None:
    """Wait until the broker's metadata shows every topic with all partitions led."""
    deadline = time.monotonic() + timeout
    missing = list(topics)
    while True:
        metadata = admin.list_topics(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
        missing = [topic for topic in topics if not _led(metadata, topic, partitions)]
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"topics without a leader after {timeout} s: {missing}")
        time.sleep(0.05)


def _led(metadata: Any, topic: str, partitions: int) -> bool:
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or len(found.partitions) < partitions:
        return False
    return all(p.leader >= 0 and p.error is None for p in found.partitions.values())
