"""Remember each event id's answer so a retry gets the same answer and never publishes twice.

Kept in process memory, bounded by count and age: a retry that reaches another replica, or
arrives after a restart, publishes again with the same event id, and every consumer downstream
is idempotent by event id, so such a duplicate is harmless.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Entry(Generic[T]):
    fingerprint: str
    stored_at: float
    answer: asyncio.Future[T]


class Conflict(Exception):
    """The event id was used before with a different body."""


class IdempotencyCache(Generic[T]):
    """Answers by (caller, event id), with the body fingerprint that produced them."""

    def __init__(
        self, max_entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[tuple[str, str], _Entry[T]] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl_s
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def claim(self, key: tuple[str, str], fingerprint: str) -> asyncio.Future[T] | None:
        """Return the answer (maybe still pending) of an earlier identical request, or None.

        None means this request is the first: it must `settle` or `release` the key.
        """
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and now - entry.stored_at > self._ttl:
            del self._entries[key]
            entry = None
        if entry is not None:
            if entry.fingerprint != fingerprint:
                raise Conflict(key[1])
            self._entries.move_to_end(key)
            return entry.answer
        if self._max == 0:
            return None
        self._entries[key] = _Entry(fingerprint, now, asyncio.get_running_loop().create_future())
        self._evict()
        return None

    def _evict(self) -> None:
        """Drop the oldest answered entries beyond the bound, in O(1) each.

        An entry still being answered has waiters that `settle` or `release` must find: the
        bound yields to it rather than losing it, and eviction resumes once it is answered.
        """
        now = self._clock()
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            stale = now - entry.stored_at > self._ttl
            if not (stale or len(self._entries) > self._max) or not entry.answer.done():
                return
            del self._entries[key]

    def settle(self, key: tuple[str, str], answer: T) -> None:
        """Record the final answer for requests that claimed or will claim `key`."""
        entry = self._entries.get(key)
        if entry is not None and not entry.answer.done():
            entry.answer.set_result(answer)

    def release(self, key: tuple[str, str], answer: T) -> None:
        """Forget `key` (the attempt failed and may be retried), answering anyone waiting."""
        entry = self._entries.pop(key, None)
        if entry is not None and not entry.answer.done():
            entry.answer.set_result(answer)
