"""Hypothesis strategies generated from an Avro schema, so every schema gets round-trip tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(min_value=-(2**31), max_value=2**31 - 1),
    "long": st.integers(min_value=-(2**63), max_value=2**63 - 1),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
    "string": st.text(max_size=40),
    "bytes": st.binary(max_size=40),
}


def _millis(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


_LOGICAL: dict[str, st.SearchStrategy[Any]] = {
    "uuid": st.uuids(),
    # Within years 1900-2200: datetime cannot hold all of Avro's range.
    "timestamp-millis": st.integers(-2_208_988_800_000, 7_258_118_400_000).map(_millis),
    "date": st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
}


def from_schema(schema: Any, named: Mapping[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Return a strategy for values valid under a fastavro-parsed schema."""
    names: dict[str, Any] = dict(named or {})
    return _strategy(schema, names)


def _strategy(schema: Any, named: dict[str, Any]) -> st.SearchStrategy[Any]:  # noqa: PLR0911 - one return per Avro type
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema]
        return st.deferred(lambda: _strategy(named[schema], named))
    if isinstance(schema, list):
        return st.one_of([_strategy(branch, named) for branch in schema])
    kind = schema["type"]
    logical = schema.get("logicalType")
    if logical in _LOGICAL:
        return _LOGICAL[logical]
    if kind == "record":
        named[schema["name"]] = schema
        fields = {f["name"]: _strategy(f["type"], named) for f in schema["fields"]}
        return st.fixed_dictionaries(fields)
    if kind == "enum":
        named[schema["name"]] = schema
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(_strategy(schema["items"], named), max_size=4)
    if kind == "map":
        return st.dictionaries(st.text(max_size=10), _strategy(schema["values"], named), max_size=4)
    if kind == "fixed":
        named[schema["name"]] = schema
        return st.binary(min_size=schema["size"], max_size=schema["size"])
    return _strategy(kind, named)
