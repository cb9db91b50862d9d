"""Run a Lienthong service as its own process for a benchmark, and watch it from outside.

The benchmarks time the services as deployed: `lienthong router run` or `lienthong consumer
run` in a process of its own, its start of consumption read from its own log line (the
rebalance that assigned its partitions), its CPU time from /proc, its counters from /metrics.
With `profile`, py-spy samples the process for its whole life (py-spy must be installed; it
is not a project dependency).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

import lienthong

_TICK = os.sysconf("SC_CLK_TCK")
REPO_ROOT = Path(__file__).resolve().parents[1]
SELF = "bench"


@dataclass(frozen=True, slots=True)
class Service:
    """A running service process: its log, its /metrics URL, and its profiler if any."""

    process: subprocess.Popen[bytes]
    log: Path
    metrics_url: str

    @property
    def pid(self) -> int:
        """Return the process id."""
        return self.process.pid

    def tail(self, chars: int = 3000) -> str:
        """Return the end of the service's log, for error messages."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]


@contextmanager
def run_service(
    args: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    metrics_port: int,
    *,
    profile: Path | None = None,
) -> Iterator[Service]:
    """Run `lienthong ARGS...` until the block ends, then stop it with SIGTERM."""
    command = [sys.executable, "-m", "lienthong", *args]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    spy = _start_py_spy(process.pid, profile) if profile is not None else None
    try:
        yield Service(process, log, f"http://127.0.0.1:{metrics_port}/metrics")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if spy is not None:  # it writes its output when its target exits
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()


def _start_py_spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install -e '.[bench]'")
    kind = {".svg": "flamegraph", ".json": "speedscope"}.get(output.suffix, "raw")
    command = [exe, "record", "--pid", str(pid), "--rate", "100", "--format", kind]
    command += ["--output", str(output)]
    log = output.with_suffix(output.suffix + ".log").open("wb")
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)


def wait_for_log(service: Service, event: str, *, timeout_s: float = 90, **fields: str) -> float:
    """Wait for a JSON log line with this event (and fields); return its time, epoch seconds."""
    deadline = time.monotonic() + timeout_s
    seen = 0
    while time.monotonic() < deadline:
        text = service.log.read_text(encoding="utf-8", errors="replace")
        complete = text[: text.rfind("\n") + 1]
        for line in complete[seen:].splitlines():
            entry = _json_line(line)
            if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items()):
                return datetime.fromisoformat(str(entry["timestamp"])).timestamp()
        seen = len(complete)
        if service.process.poll() is not None:
            raise RuntimeError(
                f"the service exited ({service.process.returncode}):\n{service.tail()}"
            )
        time.sleep(0.01)
    raise TimeoutError(
        f"no {event} {fields} in {service.log} after {timeout_s} s:\n{service.tail()}"
    )


def _json_line(line: str) -> dict[str, Any]:
    try:
        entry = json.loads(line)
    except ValueError:
        return {}
    return entry if isinstance(entry, dict) else {}


def scrape(url: str, *, timeout_s: float = 10) -> dict[str, float]:
    """Return every sample of a /metrics page, named `name{label="value",...}`; {} if none."""
    try:
        text = httpx.get(url, timeout=timeout_s).text
    except httpx.HTTPError:
        return {}
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def total(samples: Mapping[str, float], name: str, **labels: str) -> float:
    """Sum the samples of `name` whose labels include `labels`."""
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    found = 0.0
    for key, value in samples.items():
        base, _, rest = key.partition("{")
        if base == name and all(w in rest for w in wanted):
            found += value
    return found


PidSource = Callable[[], Iterable[int]]


class CpuWatch:
    """CPU time of named groups of processes over a window, in % of one core.

    Each group is a function returning its pids now (a server forks a backend per
    connection), so a process born in the window counts from zero. The bench process itself
    is always measured, as "bench".
    """

    def __init__(self, groups: Mapping[str, PidSource]) -> None:
        self._groups = dict(groups)
        self._start: dict[str, dict[int, float]] = {}
        self._self = 0.0
        self._at = 0.0

    def start(self) -> None:
        """Take the first reading."""
        self._start = {name: _times(pids()) for name, pids in self._groups.items()}
        self._self, self._at = _self_seconds(), time.perf_counter()

    def stop(self) -> dict[str, float]:
        """Return each group's share of one core since `start`."""
        elapsed = time.perf_counter() - self._at
        if elapsed <= 0:
            return {}
        shares = {SELF: round(100 * (_self_seconds() - self._self) / elapsed, 1)}
        for name, pids in self._groups.items():
            before = self._start.get(name, {})
            now = _times(pids())
            used = sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())
            if now:
                shares[name] = round(100 * used / elapsed, 1)
        return shares


def _self_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _times(pids: Iterable[int]) -> dict[int, float]:
    found: dict[int, float] = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # utime, stime: fields 14, 15 of stat
        found[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return found


def one(pid: int | None) -> PidSource:
    """Return a pid source for one process (none if `pid` is None)."""
    return lambda: [] if pid is None else [pid]


def with_children(pid: int | None) -> PidSource:
    """Return a pid source for a process and its children (a PostgreSQL server's backends)."""

    def pids() -> list[int]:
        if pid is None:
            return []
        found = [pid]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text(encoding="ascii")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4: the parent's pid
                found.append(int(entry.name))
        return found

    return pids


def machine(load: Sequence[float]) -> dict[str, Any]:
    """Describe the machine, the code measured and the load average before and after the run."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1m_before_after": [round(x, 2) for x in load],
        "code": code(),
    }


def code() -> dict[str, Any]:
    """Say which lienthong was measured: its directory, the checkout's commit, local changes."""
    package = Path(lienthong.__file__).resolve().parent
    found: dict[str, Any] = {"lienthong": str(package)}
    try:
        found["commit"] = _git("rev-parse", "--short", "HEAD")
        if package == (REPO_ROOT / "services").resolve():
            found["uncommitted_changes"] = bool(
                _git("status", "--porcelain", "services", "schemas")
            )
    except (OSError, subprocess.CalledProcessError):
        pass
    return found


def _git(*args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.strip()


def headline(command: str, info: Mapping[str, Any]) -> list[str]:
    """Return the first lines of a report: the command, the machine with its load, the code."""
    load = " -> ".join(f"{x:.2f}" for x in info["load_average_1m_before_after"])
    measured = info["code"]
    where = f"lienthong from {measured['lienthong']}"
    if "commit" in measured:
        where += f", checkout at {measured['commit']}"
    if measured.get("uncommitted_changes"):
        where += " with uncommitted changes in services/ or schemas/"
    return [
        command,
        f"{info['cores']} cores, Python {info['python']}, load average (1 min) {load}; {where}",
    ]
