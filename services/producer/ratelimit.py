"""Fair use of the API: a token bucket of events per endpoint, so no endpoint can flood the axis.

Each endpoint may send `rate` events a second on average and `burst` at once; a batch takes as
many tokens as it has events. A request over the limit is refused whole (429) with the seconds
after which it would pass. Each API process keeps its own buckets: with N replicas behind a
load balancer an endpoint gets up to N times the rate (docs/api.md#fair-use).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Per-endpoint token buckets; a rate of 0 turns the limit off."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        """Tell whether any limit applies."""
        return self.rate > 0

    def take(self, endpoint: str, events: int) -> int:
        """Take tokens for `events`; return 0 if allowed, else whole seconds to wait.

        A request larger than the burst waits for a full bucket and then passes alone.
        """
        if not self.enabled:
            return 0
        now = self._clock()
        bucket = self._buckets.get(endpoint)
        if bucket is None:
            bucket = self._buckets[endpoint] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        need = float(min(events, self.burst))
        if bucket.tokens >= need:
            bucket.tokens -= need
            return 0
        return max(1, math.ceil((need - bucket.tokens) / self.rate))
