"""Points in time as operators type them: ISO 8601, or back from now (`2h`, `30m`, `1d`). Pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
HINT = "ISO 8601 (2026-11-26T08:30:00Z, 2026-11-26) or back from now (45s, 30m, 2h, 1d, 1w)"


def parse_when(text: str, now: datetime) -> datetime:
    """Return the UTC time `text` names; a relative form counts back from `now`."""
    cleaned = text.strip()
    if cleaned.lower() == "now":
        return now.astimezone(UTC)
    relative = _RELATIVE.fullmatch(cleaned.lower())
    if relative is not None:
        amount, unit = int(relative[1]), relative[2]
        return (now - timedelta(seconds=amount * _SECONDS[unit])).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is not a time: use {HINT}") from None
    if parsed.tzinfo is None:
        # Naive means UTC: every table these tools print is in UTC, so what an operator copies
        # from one back into a command means the same instant.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_ms(when: datetime) -> int:
    """Return milliseconds since the epoch, the unit of Kafka timestamps and lt-dlq-at."""
    return int(when.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """Return the UTC time of milliseconds since the epoch."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def format_ms(ms: int | None) -> str:
    """Render milliseconds since the epoch as `2026-11-26 08:30:16.123` (UTC), or `-`."""
    if ms is None or ms < 0:
        return "-"
    return from_ms(ms).strftime("%Y-%m-%d %H:%M:%S.%f")[:23]


def iso_ms(ms: int | None) -> str | None:
    """Render milliseconds since the epoch as RFC 3339 UTC for JSON output, or None."""
    if ms is None or ms < 0:
        return None
    return from_ms(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")
