"""Hand events to their handlers: retry a failing one with capped backoff, then dead-letter it."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from lienthong.contract.schemas import EventType
from lienthong.contract.typed import Record
from lienthong.plumbing.backoff import capped_backoff
from lienthong.plumbing.deadletter import dead_letter
from lienthong.plumbing.envelope import Envelope
from lienthong.subscriber.events import DeadLetterFailed, Event, UnreadableEvent
from lienthong.subscriber.kafka import DeadLetterPort

log = structlog.get_logger("lienthong.subscriber")

STAGE = "subscriber"
HANDLER_FAILED = "handler-failed"
"""The dead-letter reason of an event whose handler kept raising."""

Handler = Callable[[Event[Any]], object]
R = TypeVar("R", bound=Record)
Register = Callable[[Callable[[Event[R]], object]], Callable[[Event[R]], object]]
"""What `Subscriber.on` returns: a decorator registering a handler of `Event[R]`."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a failing handler is retried, and how long to wait between tries."""

    max_retries: int = 3
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 10.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Return the wait before retry `attempt` (0-based): doubling, capped, jittered."""
        ceiling = capped_backoff(attempt, base_s=self.initial_backoff_s, cap_s=self.max_backoff_s)
        return ceiling * (0.5 + rand() / 2)


class Dispatcher:
    """Run the handler of each event; tell the caller whether the event is finished.

    An event is finished when its handler returned, when no handler wants its type, or when it
    is safely in the dead-letter topic. It is not finished when `stopping` was set first: then
    its offset stays uncommitted and the event is read again after a restart.
    """

    def __init__(
        self,
        handlers: Mapping[EventType, Handler],
        *,
        retry: RetryPolicy,
        dead_letters: Callable[[], DeadLetterPort],
        dead_letter_topic: str | None,
        stopping: threading.Event,
    ) -> None:
        self._handlers = handlers
        self._retry = retry
        self._dead_letters = dead_letters
        self._topic = dead_letter_topic
        self._stopping = stopping

    def process(self, item: Event[Record] | UnreadableEvent) -> bool:
        """Handle an event, or dead-letter an unreadable record; tell whether it is finished."""
        return self.reject(item) if isinstance(item, UnreadableEvent) else self.handle(item)

    def handle(self, event: Event[Record]) -> bool:
        """Run the event's handler, retrying it; dead-letter the event if it keeps failing."""
        handler = self._handlers.get(event.event_type)
        if handler is None:
            return True
        attempt = 0
        while True:
            try:
                handler(event)
            except Exception as exc:  # noqa: BLE001 - a handler's failure belongs to its event
                if attempt >= self._retry.max_retries:
                    return self._park(event.envelope, HANDLER_FAILED, exc, event.event_id)
                delay = self._retry.delay(attempt)
                attempt += 1
                log.warning(
                    "subscriber_handler_failed",
                    event_id=event.event_id,
                    at=event.coordinates,
                    attempt=attempt,
                    retry_in_s=round(delay, 3),
                    error=f"{type(exc).__name__}: {exc}",
                )
                if self._stopping.wait(delay):
                    return False
            else:
                return True

    def reject(self, unreadable: UnreadableEvent) -> bool:
        """Dead-letter a record that is no event this subscriber can read."""
        return self._park(unreadable.envelope, unreadable.reason, unreadable.error, None)

    def _park(self, envelope: Envelope, reason: str, exc: Exception, event_id: str | None) -> bool:
        fields = {"at": envelope.coordinates, "reason": reason, "event_id": event_id}
        if self._topic is None:
            log.error("subscriber_event_skipped", error=str(exc), **fields)
            return True
        letter = dead_letter(
            envelope,
            topic=self._topic,
            reason=reason,
            error=type(exc).__name__,
            detail=str(exc),
            stage=STAGE,
            at_ms=int(time.time() * 1000),
        )
        attempt = 0
        while True:
            try:
                self._dead_letters().send(letter)
            except DeadLetterFailed as failed:
                # Never drop the record: wait for the broker (or a stop) and try again.
                delay = self._retry.delay(attempt)
                attempt += 1
                log.error(  # noqa: TRY400 - the broker's message says it all; no traceback
                    "subscriber_dead_letter_failed", error=str(failed), retry_in_s=delay, **fields
                )
                if self._stopping.wait(delay):
                    return False
            else:
                log.warning("subscriber_dead_lettered", topic=self._topic, **fields)
                return True
