"""The Quix Streams peer: its own virtual environment, and its router timed as ours is.

Installing quixstreams into .venv would downgrade packages the services run on (quixstreams
3.28 pins confluent-kafka < 2.13 and an older pydantic; `pip install --dry-run quixstreams`
shows it), so the peer lives in build/bench-quix-venv, made on first use: quixstreams, then
this checkout (`pip install -e`, which keeps what quixstreams installed when it satisfies our
requirements), then `pip check`. The peer router (bench/quix_router.py) runs there as a
process of its own, and is timed from outside like `lienthong router run`: from its partitions'
assignment (its log line) to the moment its group's committed offsets reach the input's end.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from bench.fanout import World
from bench.ingest import Meter
from bench.router import Figure, _committed, _end_offsets
from bench.services import REPO_ROOT, CpuWatch, PidSource, Service, one, wait_for_log
from lienthong.devtools.kafka import settings_for
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import Settings
from tests.support.environ import inherited_env
from tests.support.kafka import unique_name

VENV = REPO_ROOT / "build" / "bench-quix-venv"
PYTHON = VENV / "bin" / "python"
PACKAGE = "quixstreams"
_CHECK = "import quixstreams, lienthong.router.decide; print(quixstreams.__version__)"


class PeerUnavailable(RuntimeError):
    """The Quix venv could not be made; the message says what failed."""


def _run(args: list[str], what: str, timeout_s: float = 900) -> str:
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout_s, check=False, cwd=REPO_ROOT
    )
    if result.returncode != 0:
        raise PeerUnavailable(f"{what} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout.strip()


def quix_version() -> str | None:
    """Return the peer venv's quixstreams version, or None if the venv is not usable."""
    if not PYTHON.exists():
        return None
    try:
        return _run([str(PYTHON), "-c", _CHECK], "importing quixstreams", timeout_s=120)
    except PeerUnavailable:
        return None


def ensure_venv(say: Meter | None = None) -> str:
    """Make the peer venv if it is missing or broken; return its quixstreams version."""
    found = quix_version()
    if found is not None:
        return found
    if say is not None:
        say.begin(f"making {VENV.relative_to(REPO_ROOT)} (once): {PACKAGE} and this checkout")
    _run([sys.executable, "-m", "venv", "--clear", str(VENV)], "python -m venv")
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, PACKAGE], f"pip install {PACKAGE}")
    _run([*pip, "-e", str(REPO_ROOT)], "pip install -e . into the Quix venv")
    _run([str(PYTHON), "-m", "pip", "check"], "pip check in the Quix venv")
    found = quix_version()
    if found is None:
        raise PeerUnavailable(f"{VENV} was made but cannot import quixstreams and lienthong")
    return found


def measure_quix(
    bootstrap: str,
    world: World,
    fanout: int,
    workdir: Path,
    *,
    meter: Meter,
    cpu: Mapping[str, PidSource] | None = None,
) -> Figure:
    """Route the fan-out's input with the Quix router; time it as measure_router times ours."""
    version = ensure_venv()
    settings = Settings.from_env()
    group = unique_name("bench-quix")
    commit_interval = settings.router.batch_max_ms / 1000
    command = [
        str(PYTHON),
        *("-m", "bench.quix_router", "--bootstrap", bootstrap),
        *("--inbound", world.inbound[fanout], "--group", group),
        *("--directory", str(world.directory_path)),
        *("--delivery-prefix", world.topics.delivery_prefix, "--dlq", world.topics.dlq),
        *("--commit-interval", str(commit_interval)),
        *("--commit-every", str(settings.router.batch_max_records)),
        *(
            "--linger-ms",
            str(settings.kafka.linger_ms),
            "--compression",
            settings.kafka.compression,
        ),
    ]
    watcher, ends = _end_offsets(bootstrap, world.inbound[fanout], group)
    expected = sum(tp.offset for tp in ends)
    written_before = high_watermarks(watcher, world.delivery_topics(fanout))
    log = workdir / f"quix-router-fanout-{fanout}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={
                **inherited_env(),
                **environment(settings_for(bootstrap)),
                "PYTHONPATH": str(REPO_ROOT),
            },
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        peer = Service(process, log, "")
        watch = CpuWatch({"router": one(process.pid), **(cpu or {})})
        started = wait_for_log(peer, "quix_assigned", timeout_s=120)
        watch.start()
        meter.begin(meter.label)
        deadline = time.monotonic() + 900
        while (done := _committed(watcher, ends)) < expected:
            meter.done = done
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Quix router stopped at {done}/{expected}:\n{peer.tail()}")
            time.sleep(0.02)
        finished = time.time()
        shares = watch.stop()
        written = high_watermarks(watcher, world.delivery_topics(fanout)) - written_before
    finally:
        watcher.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # Transaction markers take offsets too, so fewer offsets than copies means lost copies.
    if written < expected * fanout:
        raise RuntimeError(
            f"the Quix router wrote {written} offsets for {expected * fanout} copies"
        )
    how = (
        f"Quix Streams {version} (build/bench-quix-venv), processing_guarantee='exactly-once',"
        f" a checkpoint (one Kafka transaction) every {commit_interval:g} s or"
        f" {settings.router.batch_max_records} records as ours; the same decision code"
        " (lienthong.router.decide) and records; timed from its assignment to the last"
        " committed offset"
    )
    return Figure(
        f"peer: Quix Streams router, fan-out {fanout}",
        "peer",
        fanout,
        expected,
        expected * fanout,
        finished - started,
        how,
        shares,
        {"delivery_offsets_written": float(written)},
    )


def high_watermarks(client: Consumer, topics: Sequence[str]) -> int:
    """Return the sum of the topics' partitions' end offsets."""
    found = 0
    metadata = client.list_topics(timeout=10).topics
    for topic in topics:
        for partition in metadata[topic].partitions:
            _, high = client.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            found += high
    return found
