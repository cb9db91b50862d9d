"""Readiness probes that talk to a dependency, cached so a probe storm cannot hammer it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from lienthong.plumbing.health import OK, Check, run_check


class CachedCheck:
    """Answer from the last probe at once; refresh it in the background when it is stale.

    Nobody waits on the dependency: /readyz and the scrape of `lienthong_<service>_ready` get
    the last answer immediately (at first "not checked yet", i.e. not ready), and a stale
    answer starts one probe in a thread, at most once per interval however many ask.
    """

    def __init__(
        self,
        probe: Check,
        interval_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._interval = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._last = "not checked yet"
        self._next = float("-inf")

    def __call__(self) -> str:
        """Return the last answer; start a refresh if it is older than the interval."""
        with self._lock:
            last = self._last
            stale = self._idle.is_set() and self._clock() >= self._next
            if stale:
                self._idle.clear()
        if stale:
            threading.Thread(target=self._refresh, name="readiness-probe", daemon=True).start()
        return last

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no refresh is running (for tests); False on timeout."""
        return self._idle.wait(timeout_s)

    def _refresh(self) -> None:
        answer = run_check(self._probe)
        with self._lock:
            self._last = answer
            self._next = self._clock() + self._interval
            self._idle.set()


class HasMetadata(Protocol):
    """A confluent-kafka client: Producer, Consumer and AdminClient all answer list_topics."""

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        """Return cluster metadata (for `topic` only, when given)."""
        ...


def topic_probe(connect: Callable[[], HasMetadata], topic: str, timeout_s: float = 2.0) -> Check:
    """Return a check that the broker answers metadata for `topic` and the topic exists.

    The probe has a client of its own, made by `connect` on first use (an AdminClient): a
    confluent-kafka Consumer asked for metadata from another thread while its loop sits in
    `consume()` blocks, past its timeout, until the loop lets go (measured: minutes).
    """
    clients: list[HasMetadata] = []

    def probe() -> str:
        try:
            if not clients:
                clients.append(connect())
            metadata = clients[0].list_topics(topic, timeout=timeout_s)
        except RuntimeError as exc:  # the client is closed: the service is stopping
            return f"Kafka client unusable: {exc}"
        except Exception as exc:  # noqa: BLE001 - KafkaException carries the reason
            reason = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else exc
            return f"broker unreachable: {reason}"
        found = metadata.topics.get(topic)
        if found is None:
            return f"topic {topic} missing from the broker's metadata"
        if found.error is not None:
            return f"topic {topic}: {found.error.str()}"
        return OK

    return probe
