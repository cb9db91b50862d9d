"""A throw-away PostgreSQL server for tests, on a free loopback port.

`initdb` refuses to run as root, and CI runs as root: then the cluster lives in a directory
owned by the `postgres` system user and every server command runs as that user through
`runuser -u postgres --`. As any other user the commands run directly.

The server binaries are found in /usr/lib/postgresql/<version>/bin (Debian), then on PATH;
`LIENTHONG_LOCAL_PG_BIN=/path/to/bin` picks others.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import psycopg
from psycopg import sql

from tests.support.ports import free_port

if TYPE_CHECKING:
    from types import TracebackType

FIX = "run `deploy/local/system-deps.sh install` (as root) or `apt-get install postgresql`"
PG_BIN_VARIABLE = "LIENTHONG_LOCAL_PG_BIN"
SERVER_USER = "postgres"
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

StopMode = Literal["smart", "fast", "immediate"]


class PostgresError(RuntimeError):
    """The local PostgreSQL server could not be set up, started or stopped."""


def find_bin_dir() -> Path:
    """Return the newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl.

    LIENTHONG_LOCAL_PG_BIN (a bin directory) overrides it; PATH is the last resort (non-Debian
    systems). The LIENTHONG_LOCAL_ prefix keeps it out of the services' settings, which refuse
    any other unknown LIENTHONG_* variable.
    """
    override = os.environ.get(PG_BIN_VARIABLE)
    candidates: list[Path] = [Path(override)] if override else []
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=_version_key, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PostgresError(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found: {FIX},"
        f" or set {PG_BIN_VARIABLE} to the directory that holds them"
    )


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


class LocalPostgres:
    """A PostgreSQL cluster in its own temporary directory, listening on 127.0.0.1 only.

    fsync is off (tests need no durability against power loss), but synchronous_commit stays
    on: a committed transaction is in the kernel's page cache before the commit returns, so
    it survives `stop("immediate")`, the crash that outage tests simulate.
    """

    def __init__(
        self,
        base: Path | None = None,
        *,
        port: int | None = None,
        bin_dir: Path | None = None,
    ) -> None:
        self._bin = bin_dir or find_bin_dir()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            try:
                pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresError(
                    f"running as root, but there is no {SERVER_USER!r} user to run "
                    f"PostgreSQL as: {FIX}"
                ) from None
        self._owned_base = base is None
        # Under /tmp rather than pytest's tmp_path: the postgres user must reach it.
        self._base = Path(tempfile.mkdtemp(prefix="lienthong-pg-")) if base is None else base
        self._base.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            shutil.chown(self._base, user=SERVER_USER, group=SERVER_USER)
        self._port = port or free_port()

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (also where the unix socket is)."""
        return self._base / "data"

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self._base / "postgres.log"

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1."""
        return self._port

    @property
    def url(self) -> str:
        """The URL of the `postgres` database as the superuser `postgres` (trust auth)."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        """Return the URL of database `name` on this server."""
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self._port}/{name}"

    @property
    def initialized(self) -> bool:
        """Tell whether initdb has made the cluster."""
        return (self.data_dir / "PG_VERSION").is_file()

    @property
    def running(self) -> bool:
        """Tell whether the server runs (pg_ctl status)."""
        if not self.initialized:
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def start(self) -> str:
        """Start the server (initdb first if needed) and wait until it accepts connections.

        Starting a stopped server again reuses its data directory: after `stop("immediate")`
        it runs crash recovery. Returns `url`.
        """
        if not self.initialized:
            self._initdb()
        if self.running:
            return self.url
        self._run(
            "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_path),
            "-w", "-t", "60",
        )  # fmt: skip
        return self.url

    def stop(self, mode: StopMode = "fast") -> None:
        """Stop the server: "fast" (roll back, clean shut down) or "immediate" (a crash)."""
        if not self.running:
            return
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60")

    def create_database(self, name: str) -> str:
        """Create database `name` and return its URL."""
        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"use a lower-case identifier for a test database: {name!r}")
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def close(self) -> None:
        """Stop the server and remove its directory if this object created it."""
        try:
            self.stop("immediate")
        finally:
            if self._owned_base:
                shutil.rmtree(self._base, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
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
        return f"LocalPostgres(url={self.url!r}, data_dir={str(self.data_dir)!r})"

    def _initdb(self) -> None:
        self._run(
            "initdb", "-D", str(self.data_dir), "-A", "trust", "-U", SERVER_USER,
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        settings = (
            "\n# lienthong tests (tests/support/postgres.py)\n"
            f"port = {self._port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.data_dir}'\n"
            "fsync = off\n"
            "max_connections = 200\n"
        )
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(settings)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(
            command,
            cwd=self._base,  # the server user may not be able to enter the caller's cwd
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            log = _tail(self.log_path)
            raise PostgresError(
                f"{tool} {' '.join(args)} exited with {result.returncode}\n"
                f"--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
                f"--- {self.log_path} ---\n{log}"
            )
        return result


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
