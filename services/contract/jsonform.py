"""The JSON form of a record: what the HTTP API accepts and `--json` outputs print."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID


def to_json(value: Any) -> Any:
    """Return `value` with UUIDs, timestamps and dates as strings (RFC 3339 / ISO 8601)."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value
