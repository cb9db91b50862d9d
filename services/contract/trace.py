"""W3C Trace Context `traceparent` values: created by the first hop, carried by every record."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from lienthong.contract.errors import BadHeaders

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_INVALID_TRACE_ID = "0" * 32
_INVALID_SPAN_ID = "0" * 16


@dataclass(frozen=True, slots=True)
class TraceParent:
    """A parsed `traceparent`: version 00, trace id, parent span id, flags."""

    trace_id: str
    span_id: str
    flags: str = "01"

    @classmethod
    def new(cls) -> TraceParent:
        """Start a new sampled trace."""
        return cls(_random_hex(128), _random_hex(64))

    @classmethod
    def parse(cls, value: str) -> TraceParent:
        """Parse a header value, raising BadHeaders if it is not a version-00 traceparent."""
        match = _TRACEPARENT.match(value)
        if (
            match is None
            or match.group(1) == _INVALID_TRACE_ID
            or match.group(2) == _INVALID_SPAN_ID
        ):
            raise BadHeaders(f"traceparent {value!r} is not a W3C version-00 trace context")
        return cls(match.group(1), match.group(2), match.group(3))

    def child(self) -> TraceParent:
        """Return the context a next hop sends: same trace, a new span id."""
        return TraceParent(self.trace_id, _random_hex(64), self.flags)

    def __str__(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def _random_hex(bits: int) -> str:
    # Trace ids need uniqueness, not secrecy: the Mersenne Twister (seeded from the OS at start)
    # avoids a getrandom() call per event, which showed in the consumer's profile.
    value = random.getrandbits(bits) or 1  # all zeros is the W3C "invalid" id
    return f"{value:0{bits // 4}x}"
