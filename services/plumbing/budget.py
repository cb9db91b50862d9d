"""How many times a loop may rebuild its clients in a window before giving up is the answer."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RebuildBudget:
    """At most `limit` rebuilds within any `window_s`; `spend` says whether one more fits."""

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._spent: deque[float] = deque()

    def spend(self) -> bool:
        """Count one rebuild now; False when that makes more than `limit` in the window."""
        now = self._clock()
        self._spent.append(now)
        while self._spent and self._spent[0] < now - self.window_s:
            self._spent.popleft()
        return len(self._spent) <= self.limit

    def used(self) -> int:
        """Return the rebuilds counted within the window (as of the last `spend`)."""
        return len(self._spent)
