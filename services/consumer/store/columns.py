"""Column types that read back the same on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, DateTime, Dialect, any_, bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored in UTC, always read back as an aware UTC datetime.

    PostgreSQL stores `timestamptz`. SQLite has no time zone: it stores naive UTC as fixed-width
    text ("2026-11-26 08:30:15.123000"), which sorts chronologically, so ORDER BY and max()
    work in SQL; the zone is added back on reading. Naive datetimes are refused on writing:
    their zone is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; drop the zone where the database keeps none."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give it a time zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """Format SQLite's text in C (isoformat): SQLAlchemy's formatter costs 5x more."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            utc = self.process_bind_param(value, dialect)
            # The text SQLAlchemy's SQLite DATETIME writes and parses back, byte for byte.
            return None if utc is None else utc.isoformat(sep=" ", timespec="microseconds")

        return process

    def process_result_value(
        self,
        value: Any,
        dialect: Dialect,  # noqa: ARG002 (the signature is TypeDecorator's)
    ) -> datetime | None:
        """Return an aware UTC datetime whatever the database gave back."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def chunks(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Split a long IN list: SQLite caps the number of bound parameters per statement."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def one_of(
    column: ColumnElement[Any], values: Sequence[Any], dialect: Dialect
) -> ColumnElement[bool]:
    """Return `column IN values`: one array parameter on PostgreSQL, a list on SQLite.

    One parameter keeps a 500-key statement short for the driver to send and parse.
    """
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def encode_headers(headers: tuple[tuple[str, bytes], ...]) -> str:
    """Encode Kafka headers as JSON text: a list of [name, base64 value], order kept."""
    return json.dumps(
        [[name, base64.b64encode(value).decode("ascii")] for name, value in headers],
        separators=(",", ":"),
    )


def decode_headers(text: str) -> tuple[tuple[str, bytes], ...]:
    """Decode what encode_headers wrote."""
    pairs = json.loads(text)
    return tuple((str(name), base64.b64decode(value)) for name, value in pairs)


def join_codes(codes: tuple[str, ...]) -> str:
    """Join agency codes into the comma-separated text the event log keeps."""
    return ",".join(codes)


def split_codes(text: str) -> tuple[str, ...]:
    """Split what join_codes wrote; the empty text is no codes."""
    return tuple(text.split(",")) if text else ()


def params(row: Any) -> dict[str, Any]:
    """Return a row dataclass's fields as statement parameters (asdict without deep copies)."""
    getter = _GETTERS.get(type(row))
    if getter is None:
        names = tuple(f.name for f in fields(row))
        getter = _GETTERS[type(row)] = (names, attrgetter(*names))
    return dict(zip(getter[0], getter[1](row), strict=True))


# Per row class: its field names, and one C-level getter of all of them.
_GETTERS: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}
