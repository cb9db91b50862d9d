"""Run a client's blocking calls on a thread of their own, each under a deadline the caller keeps.

librdkafka has calls that can block far past the timeout they are given (the router's
`send_offsets_to_transaction` when its transaction coordinator goes away: minutes, measured).
A loop that must not depend on such a call returning hands it to a `CallThread` and waits at
most its deadline; past it the call is *abandoned*: the thread stays blocked in the library,
the caller gets `CallAbandoned` at once and builds a new client. A librdkafka handle cannot be
destroyed while a call is in flight on it, so the thread keeps the only reference to its
client: when the call returns at last (or never, until the process exits) the handle goes with
it. `Abandoned` counts those threads still stuck, so a process can bound them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Generic, TypeVar

C = TypeVar("C")
T = TypeVar("T")


class CallAbandoned(Exception):
    """A call did not return by its deadline; its thread and client are given up."""

    def __init__(self, what: str, deadline_s: float) -> None:
        super().__init__(f"{what} did not return within {deadline_s:.1f} s: abandoned")
        self.what = what
        self.deadline_s = deadline_s


class CallThread(Generic[C]):
    """One daemon thread that owns a client and runs calls on it, one at a time."""

    def __init__(self, client: C, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[C], object], Future[object]] | None] = (
            queue.SimpleQueue()
        )
        self._client: C | None = client
        self.abandoned = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[[C], T], *, deadline_s: float, what: str) -> T:
        """Run `fn(client)` on the thread; raise CallAbandoned if it has not returned in time.

        Exceptions of `fn` are raised here, unchanged. After an abandoned call every later
        call is refused at once: the client is in an unknown state.
        """
        if self.abandoned:
            raise CallAbandoned(f"{what} (on a client given up earlier)", 0.0)
        future: Future[object] = Future()
        self._jobs.put((fn, future))
        try:
            result = future.result(timeout=deadline_s)
        except FutureTimeout:
            self.abandon()
            raise CallAbandoned(what, deadline_s) from None
        return result  # type: ignore[return-value]  # the future holds fn's own result

    def abandon(self) -> None:
        """Give the client up: the thread drops it once the call in flight (if any) returns."""
        self.abandoned = True
        self._jobs.put(None)

    @property
    def stuck(self) -> bool:
        """Tell whether the thread was abandoned and is still blocked in a call."""
        return self.abandoned and self._thread.is_alive()

    def join(self, timeout_s: float) -> bool:
        """Wait for the thread to end (after `abandon`); False if it is still running."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self.abandoned:
                break
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(self._client))  # type: ignore[arg-type]  # set until the end
            except BaseException as exc:  # noqa: BLE001 - handed to the caller as is
                future.set_exception(exc)
        # The last reference: the library handle is destroyed here, off the caller's thread.
        self._client = None


class Abandoned:
    """The call threads given up and still stuck, so a process can bound how many it keeps."""

    def __init__(self) -> None:
        self._threads: list[CallThread[object]] = []
        self._lock = threading.Lock()

    def add(self, thread: CallThread[C]) -> None:
        """Keep track of an abandoned thread."""
        with self._lock:
            self._threads.append(thread)  # type: ignore[arg-type]  # only .stuck is read

    def count(self) -> int:
        """Return how many abandoned threads are still blocked in a call."""
        with self._lock:
            self._threads = [t for t in self._threads if t.stuck]
            return len(self._threads)
