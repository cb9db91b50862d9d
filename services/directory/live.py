"""The directory in use, replaced on SIGHUP or when its file changes (router and API alike)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import structlog

from lienthong.directory.model import Directory

log = structlog.get_logger("lienthong.directory")


class DirectoryHolder:
    """Hold the current directory; `maybe_reload` swaps in a new one only if it is valid."""

    def __init__(
        self,
        path: Path,
        load: Callable[[Path], Directory],
        *,
        check_interval_s: float,
        on_reload: Callable[[str], None] = lambda _outcome: None,
        clock: Callable[[], float] = time.monotonic,
        initial: Directory | None = None,
    ) -> None:
        self._path = path
        self._load = load
        self._interval = check_interval_s
        self._on_reload = on_reload
        self._clock = clock
        self._requested = False
        self._stamp = self._file_stamp()
        self._next_check = clock() + check_interval_s
        # `initial`: the caller has just loaded and checked the file (not read twice).
        self.current = load(path) if initial is None else initial

    def request(self) -> None:
        """Ask for a reload at the next check (the SIGHUP handler calls this)."""
        self._requested = True

    def maybe_reload(self) -> bool:
        """Reload if asked or the file changed; return whether a new directory is in use."""
        now = self._clock()
        if not self._requested and now < self._next_check:
            return False
        self._next_check = now + self._interval
        stamp = self._file_stamp()
        if not self._requested and stamp == self._stamp:
            return False
        self._requested = False
        self._stamp = stamp
        try:
            fresh = self._load(self._path)
        except Exception as exc:  # noqa: BLE001 - whatever the file holds, keep routing
            log.error(  # noqa: TRY400 - the problems are the message; a traceback adds nothing
                "directory_reload_refused",
                path=str(self._path),
                error=str(exc),
                kept=repr(self.current),
            )
            self._on_reload("refused")
            return False
        log.info(
            "directory_reloaded",
            path=str(self._path),
            directory=repr(fresh),
            previous=repr(self.current),
        )
        self.current = fresh
        self._on_reload("applied")
        return True

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self._path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size
