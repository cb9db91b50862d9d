"""Kafka's own performance tools, from the cached jars, through deploy/local/kafka.sh run-class.

They take any bootstrap, so they measure the benchmark's broker; with `home`, kafka.sh is
pointed at that broker's state dir too (LIENTHONG_LOCAL_KAFKA_HOME). The JVM runs with full
JIT (-XX:TieredStopAtLevel=4) rather than kafka.sh's quick-start default: these runs last
seconds. Each tool reports its own elapsed time, which leaves out the JVM's start.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lienthong.devtools.kafka import settings_for
from lienthong.plumbing.kafka_security import java_properties
from tests.support.environ import inherited_env
from tests.support.kafka import KAFKA_SH

TOOL_OPTS = "-XX:TieredStopAtLevel=4 -Xmx512m"
_SENT = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)")


@dataclass(frozen=True, slots=True)
class ToolRun:
    """What one run of a Kafka tool reported."""

    tool: str
    records: int
    seconds: float
    mb_per_s: float
    how: str

    @property
    def rate(self) -> float:
        """Return records per second."""
        return self.records / self.seconds if self.seconds > 0 else 0.0


def run_class(
    cls: str, args: Sequence[str], *, home: Path | None = None, timeout_s: float = 600
) -> str:
    """Run a Java class on the broker's classpath; return its stdout, raise with its output."""
    env = {**inherited_env(), "LIENTHONG_LOCAL_KAFKA_TOOL_OPTS": TOOL_OPTS}
    if home is not None:
        env["LIENTHONG_LOCAL_KAFKA_HOME"] = str(home)
    result = subprocess.run(
        ["bash", str(KAFKA_SH), "run-class", cls, *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout_s,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{cls} exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-3000:]}--- stderr ---\n{result.stderr[-3000:]}"
        )
    return result.stdout


def producer_performance(
    bootstrap: str,
    topic: str,
    records: int,
    payloads: Sequence[bytes],
    *,
    home: Path | None = None,
) -> ToolRun:
    """Produce `records` records of the payloads' size with ProducerPerformance.

    The payloads are text lines (the tool reads its payload file as UTF-8 lines), as long as
    our encoded values and as repetitive, so compression treats them alike. The producer is
    set like ours where both clients have the setting: acks=all, idempotent, lz4, linger 1 ms,
    1 MB batches (librdkafka's default batch.size).
    """
    with tempfile.NamedTemporaryFile("wb", suffix=".payloads", delete=False) as file:
        file.write(b"\n".join(payloads) + b"\n")
    security = tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False)  # noqa: SIM115
    with security:
        security.write(java_properties(settings_for(bootstrap)))
    props = [
        f"bootstrap.servers={bootstrap}",
        "acks=all",
        "enable.idempotence=true",
        "compression.type=lz4",
        "linger.ms=1",
        "batch.size=1048576",
    ]
    try:
        out = run_class(
            "org.apache.kafka.tools.ProducerPerformance",
            [
                *("--topic", topic, "--num-records", str(records), "--throughput", "-1"),
                *("--payload-file", file.name, "--producer-props", *props),
                *("--producer.config", security.name),
            ],
            home=home,
        )
    finally:
        Path(file.name).unlink(missing_ok=True)
        Path(security.name).unlink(missing_ok=True)
    found = _SENT.findall(out)
    if not found:
        raise RuntimeError(f"no summary in ProducerPerformance's output:\n{out[-2000:]}")
    sent, rate, mb = found[-1]
    size = len(payloads[0])
    how = (
        f"ProducerPerformance, {size}-byte text payloads, no key or headers, one topic of"
        " its own; acks=all, idempotent, lz4, linger.ms=1, batch.size=1 MB"
    )
    return ToolRun("ProducerPerformance", int(sent), int(sent) / float(rate), float(mb), how)


def consumer_performance(
    bootstrap: str, topic: str, records: int, *, home: Path | None = None
) -> ToolRun:
    """Consume `records` records of `topic` from the start with ConsumerPerformance.

    The rate is the tool's fetch rate, which leaves out the group join, as our figures do.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as config:
        config.write("isolation.level=read_committed\nauto.offset.reset=earliest\n")
        config.write(java_properties(settings_for(bootstrap)))
    try:
        out = run_class(
            "org.apache.kafka.tools.ConsumerPerformance",
            [
                *("--bootstrap-server", bootstrap, "--topic", topic, "--messages", str(records)),
                *("--consumer.config", config.name, "--timeout", "30000"),
            ],
            home=home,
        )
    finally:
        Path(config.name).unlink(missing_ok=True)
    lines = [line for line in out.splitlines() if line.strip()]
    header = next(i for i, line in enumerate(lines) if line.startswith("start.time"))
    values = dict(
        zip(
            (k.strip() for k in lines[header].split(",")),
            (v.strip() for v in lines[header + 1].split(",")),
            strict=True,
        )
    )
    consumed = int(values["data.consumed.in.nMsg"])
    seconds = float(values["fetch.time.ms"]) / 1000
    how = "ConsumerPerformance, read_committed, from the earliest offset; fetch time"
    return ToolRun("ConsumerPerformance", consumed, seconds, float(values["fetch.MB.sec"]), how)
