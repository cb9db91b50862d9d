"""The typed dataclasses stay in step with the current schemas and hold any valid record."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lienthong.contract import examples, typed
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import EventType, SchemaLoadError, SchemaStore, load_versions
from lienthong.contract.typed import Document, typed_record
from lienthong.subscriber import ReaderStore
from tests.support.avro_strategies import from_schema
from tests.unit.test_schemas import OLD

STORE = SchemaStore.from_package()
CODEC = Codec(STORE)


def _records(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, list):
        for branch in schema:
            yield from _records(branch)
    elif isinstance(schema, dict):
        if schema.get("type") == "record":
            yield schema
            for field in schema["fields"]:
                yield from _records(field["type"])
        yield from _records(schema.get("items"))


def _schema_records() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for event_type in EventType:
        for record in _records(STORE.current(event_type).parsed):
            found.setdefault(record["name"].rsplit(".", 1)[-1], record)
    return found


@pytest.mark.parametrize("name", sorted(_schema_records()))
def test_each_schema_record_has_a_dataclass_with_its_fields_and_defaults(name: str) -> None:
    schema = _schema_records()[name]
    cls = getattr(typed, name)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert list(fields) == [f["name"] for f in schema["fields"]]
    for field in schema["fields"]:
        default = fields[field["name"]].default
        if "default" not in field:
            assert default is dataclasses.MISSING, field["name"]
        else:
            expected = field["default"]
            assert default == (tuple(expected) if isinstance(expected, list) else expected)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("event_type", list(EventType))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_valid_record_becomes_its_dataclass_unchanged(
    event_type: EventType, data: st.DataObject
) -> None:
    record = data.draw(from_schema(STORE.current(event_type).parsed))
    decoded = CODEC.decode(CODEC.encode(event_type, record))
    built = typed_record(event_type, decoded.record)
    assert type(built) is typed.RECORD_TYPES[event_type]
    assert _plain(built) == decoded.record


def test_a_record_of_an_older_reader_schema_gets_the_defaults_it_lacks() -> None:
    both = SchemaStore([*load_versions(OLD), *STORE.versions()])
    reader = ReaderStore(both, 0)
    assert reader.current(EventType.DOCUMENT).version == 0
    assert (
        reader.current(EventType.STATUS).fingerprint == STORE.current(EventType.STATUS).fingerprint
    )
    decoded = Codec(reader).decode(CODEC.encode(EventType.DOCUMENT, examples.document()))
    assert decoded.writer.version == 1
    document = typed_record(EventType.DOCUMENT, decoded.record)
    assert isinstance(document, Document)
    assert (document.to_places, document.attachments, document.other_info.appendixes) == (
        (),
        (),
        (),
    )
    assert document.other_info.priority == "URGENT"


def test_a_reader_version_no_schema_reaches_is_refused() -> None:
    with pytest.raises(SchemaLoadError, match="at or below v0"):
        ReaderStore(STORE, 0)
