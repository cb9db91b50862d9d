"""The one retry schedule every loop uses: doubling from a base, capped. Pure."""

from __future__ import annotations

# 2**10 times any base in use already passes every cap; clamping the exponent keeps a long
# outage from growing the number without end (or overflowing a float).
_MAX_DOUBLINGS = 10


def capped_backoff(attempt: int, *, base_s: float, cap_s: float) -> float:
    """Return the wait before retry `attempt`: base_s * 2**attempt, at most cap_s (no jitter)."""
    return min(cap_s, base_s * 2.0 ** min(attempt, _MAX_DOUBLINGS))
