"""Run the producer, the router and consumers as separate processes, and stop them all.

Used by `lienthong demo` and the end-to-end tests: the services run exactly as deployed,
through the `lienthong` console entry point, each with its own log file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lienthong.devtools.ports import port_accepts

Progress = Callable[[str], None]


class StackError(RuntimeError):
    """A service did not start; the message names it and quotes its log."""


@dataclass
class Service:
    """One running service process."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    ready_port: int
    ready_path: str | None = None  # an HTTP path answering 200 when ready; else the port opens
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Return the service's base URL on loopback."""
        return f"http://127.0.0.1:{self.ready_port}"

    def ready(self) -> bool:
        """Tell whether the service answers its readiness check."""
        if self.ready_path is None:
            return port_accepts(self.ready_port)
        try:
            with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as answer:  # noqa: S310 - loopback only
                return bool(answer.status == 200)  # noqa: PLR2004
        except (urllib.error.URLError, OSError):
            return False

    def tail(self, lines: int = 25) -> str:
        """Return the last lines of the service's log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Stack:
    """Start services in order, wait until each is ready, stop them all (SIGTERM, then KILL)."""

    def __init__(self, base_env: Mapping[str, str], log_dir: Path) -> None:
        self._env = dict(base_env)
        self._logs = log_dir
        self.services: list[Service] = []

    def add(
        self,
        name: str,
        args: list[str],
        env: Mapping[str, str],
        *,
        ready_port: int,
        ready_path: str | None = None,
    ) -> Service:
        """Declare a service: `lienthong ARGS` with extra environment."""
        service = Service(
            name, args, {**self._env, **env}, self._logs / f"{name}.log", ready_port, ready_path
        )
        self.services.append(service)
        return service

    def start(self, progress: Progress, timeout_s: float = 60.0) -> None:
        """Start every declared service and wait until all are ready."""
        self._logs.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            progress(f"starting {service.name}")
            _launch(service)
        deadline = time.monotonic() + timeout_s
        for service in self.services:
            _wait_ready(service, deadline, timeout_s)
            progress(f"{service.name} ready ({service.url})")

    def service(self, name: str) -> Service:
        """Return the declared service called `name`."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def kill(self, name: str) -> None:
        """SIGKILL a service's process group (a crash: nothing runs its shutdown)."""
        process = self.service(name).process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def restart(self, name: str, *, wait_ready_s: float | None = None) -> None:
        """Start a service's process again (after it died or was killed); wait if asked."""
        service = self.service(name)
        if service.process is not None and service.process.poll() is None:
            raise StackError(f"{name} is still running (pid {service.process.pid})")
        _launch(service)
        if wait_ready_s is not None:
            _wait_ready(service, time.monotonic() + wait_ready_s, wait_ready_s)

    def stop(self, timeout_s: float = 30.0) -> dict[str, int | None]:
        """Stop every service, newest first; return each exit status (None if it was killed)."""
        codes: dict[str, int | None] = {}
        for service in reversed(self.services):
            process = service.process
            if process is None:
                continue
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
                    codes[service.name] = None
                    continue
            codes[service.name] = process.returncode
        return codes


def _launch(service: Service) -> None:
    """Start the service's process in a session of its own, appending to its log."""
    service.log.parent.mkdir(parents=True, exist_ok=True)
    with service.log.open("ab") as handle:
        service.process = subprocess.Popen(  # noqa: S603 - our own entry point and arguments
            [sys.executable, "-m", "lienthong", *service.args],
            env=service.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _wait_ready(service: Service, deadline: float, timeout_s: float) -> None:
    while not service.ready():
        assert service.process is not None
        if service.process.poll() is not None:
            raise StackError(
                f"{service.name} exited with {service.process.returncode}:\n{service.tail()}"
            )
        if time.monotonic() > deadline:
            raise StackError(f"{service.name} not ready after {timeout_s:.0f} s:\n{service.tail()}")
        time.sleep(0.2)
