"""A real Kafka broker driven through deploy/local/kafka.sh: for tests, benchmarks and the demo.

Each `LocalKafka` has its own state directory (data, log, pid file) and its own ports, so
several brokers can run at once without touching a developer's broker on 9092. It needs the
source checkout (the script is not part of an installed wheel).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from lienthong.devtools.ports import free_port_pair
from lienthong.plumbing.settings import KafkaSettings, Settings

if TYPE_CHECKING:
    from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]  # services/devtools/ -> the checkout
KAFKA_SH = REPO_ROOT / "deploy" / "local" / "kafka.sh"

# The super user kafka.sh creates (with the broker's own lt-broker) when it formats a data dir.
ADMIN_USER = "lt-admin"

# The brokers this process started, by bootstrap: benchmarks pass bootstrap strings around
# and look up the administrator's credentials here (settings_for).
_STARTED: dict[str, KafkaSettings] = {}

# Exit status of `kafka.sh status` when no broker runs.
STATUS_NOT_RUNNING = 3


class KafkaScriptError(RuntimeError):
    """deploy/local/kafka.sh failed; the message carries its output (and the log's tail)."""


class LocalKafka:
    """A single-node KRaft broker on 127.0.0.1 with its own state dir and ports."""

    def __init__(
        self,
        home: Path | None = None,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        heap: str | None = None,
        start_timeout: int = 90,
        script: Path = KAFKA_SH,
        insecure: bool = False,
    ) -> None:
        self._owned_home = home is None
        self._home = Path(tempfile.mkdtemp(prefix="lienthong-kafka-")) if home is None else home
        if port is None:
            port, default_controller = free_port_pair()
            controller_port = controller_port or default_controller
        self._port = port
        self._controller_port = controller_port or port + 1
        self._heap = heap
        self._start_timeout = start_timeout
        self._script = script
        self._insecure = insecure

    @property
    def home(self) -> Path:
        """The state directory: server.properties, data/, kafka.log, kafka.pid."""
        return self._home

    @property
    def port(self) -> int:
        """The client (PLAINTEXT) port."""
        return self._port

    @property
    def controller_port(self) -> int:
        """The KRaft controller port."""
        return self._controller_port

    @property
    def secured(self) -> bool:
        """Tell whether clients must authenticate (SASL_SSL): always, but for benchmarks."""
        return not self._insecure

    @property
    def ca_file(self) -> Path:
        """The local CA's certificate (PEM) that clients trust; made at the first start."""
        return self._home / "tls" / "ca.pem"

    @property
    def admin_password_file(self) -> Path:
        """The file holding the super user lt-admin's password."""
        return self._home / "secrets" / f"{ADMIN_USER}.password"

    @property
    def admin_properties(self) -> Path:
        """A Java client properties file for lt-admin (the tools' --command-config)."""
        return self._home / "admin.properties"

    def admin_settings(self) -> KafkaSettings:
        """Return client settings for the super user lt-admin (administration, tests' setup)."""
        if self._insecure:
            return KafkaSettings(bootstrap=self.bootstrap, security_protocol="PLAINTEXT")
        return KafkaSettings(
            bootstrap=self.bootstrap,
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=ADMIN_USER,
            sasl_password_file=self.admin_password_file,
            ssl_ca_location=self.ca_file,
        )

    def user_settings(self, username: str, password_file: Path) -> KafkaSettings:
        """Return client settings for another principal of this broker."""
        return self.admin_settings().model_copy(
            update={"sasl_username": username, "sasl_password_file": password_file}
        )

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers string for clients, e.g. 127.0.0.1:21234."""
        return f"127.0.0.1:{self._port}"

    @property
    def log_path(self) -> Path:
        """The broker's log file (the previous run's is kafka.log.1 beside it)."""
        return self._home / "kafka.log"

    @property
    def pid(self) -> int | None:
        """The pid in the pid file, if there is one (the process may have died since)."""
        try:
            return int((self._home / "kafka.pid").read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None

    def env(self) -> dict[str, str]:
        """Return the environment that points kafka.sh at this broker."""
        env = dict(os.environ)
        env["LIENTHONG_LOCAL_KAFKA_HOME"] = str(self._home)
        env["LIENTHONG_LOCAL_KAFKA_PORT"] = str(self._port)
        env["LIENTHONG_LOCAL_KAFKA_CONTROLLER_PORT"] = str(self._controller_port)
        env["LIENTHONG_LOCAL_KAFKA_START_TIMEOUT"] = str(self._start_timeout)
        env["LIENTHONG_LOCAL_KAFKA_INSECURE"] = "1" if self._insecure else "0"
        if self._heap is not None:
            env["LIENTHONG_LOCAL_KAFKA_HEAP"] = self._heap
        return env

    def run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """Run `kafka.sh ARGS...` for this broker and return its result, whatever its status."""
        # S603/S607: our own script with our own arguments; bash is found on PATH on purpose.
        return subprocess.run(  # noqa: S603
            ["bash", str(self._script), *args],  # noqa: S607
            env=self.env(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )

    def start(self) -> str:
        """Start the broker (a no-op when it runs) and return its bootstrap string.

        Raises KafkaScriptError with the script's output, which ends with the broker log's
        last lines, when the broker does not come up: a test must fail then, never skip.
        """
        # The first start may resolve the jars with Maven (minutes on a cold ~/.m2).
        result = self.run("start", timeout=self._start_timeout + 900)
        if result.returncode != 0:
            raise KafkaScriptError(_describe("start", result))
        fields = parse_fields(result.stdout)
        if fields.get("bootstrap") != self.bootstrap:
            raise KafkaScriptError(f"unexpected output of kafka.sh start: {result.stdout!r}")
        _STARTED[self.bootstrap] = self.admin_settings()
        return self.bootstrap

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL); a no-op when it does not run."""
        result = self.run("stop", timeout=120)
        if result.returncode != 0:
            raise KafkaScriptError(_describe("stop", result))

    def restart(self) -> str:
        """Stop, then start again on the same data dir and ports (an outage)."""
        self.stop()
        return self.start()

    def status(self) -> subprocess.CompletedProcess[str]:
        """Run `kafka.sh status`: exit 0 when running, 3 when not."""
        return self.run("status", timeout=30)

    def is_running(self) -> bool:
        """Tell whether the broker runs and accepts connections."""
        return self.status().returncode == 0

    def close(self) -> None:
        """Stop the broker and remove the state dir if this object created it."""
        try:
            self.stop()
        finally:
            if self._owned_home:
                shutil.rmtree(self._home, ignore_errors=True)

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalKafka(bootstrap={self.bootstrap!r}, home={str(self._home)!r})"


def settings_for(bootstrap: str) -> KafkaSettings:
    """Return the administrator's settings of a broker this process started (benchmarks).

    A broker started elsewhere is reached with the LIENTHONG_KAFKA_* settings instead.
    """
    known = _STARTED.get(bootstrap)
    if known is not None:
        return known
    return Settings.from_env().kafka.model_copy(update={"bootstrap": bootstrap})


def parse_fields(stdout: str) -> dict[str, str]:
    """Parse the key=value lines that kafka.sh start/status print."""
    fields: dict[str, str] = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _describe(command: str, result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"kafka.sh {command} exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
    )
