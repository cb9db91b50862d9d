from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from lienthong.contract import examples
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import (
    EventType,
    SchemaLoadError,
    SchemaStore,
    fingerprint_of,
    load_versions,
)

SCHEMA_ROOT = Path(__file__).parents[2] / "schemas" / "avro"
OLD = Path(__file__).parent / "fixtures" / "avro_v0"

# CRC-64-AVRO exactly as the Avro specification writes it, independent of fastavro.
_EMPTY = 0xC15D213AA4D7A795


def _table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _table()


def spec_fingerprint64(data: bytes) -> int:
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def test_null_schema_fingerprint_matches_the_java_implementation() -> None:
    # SchemaNormalization.parsingFingerprint64(Schema.create(NULL)) in the Java library.
    fingerprint, canonical = fingerprint_of("null")
    assert canonical == '"null"'
    assert int.from_bytes(fingerprint, "little") == 0x63DD24E7CC258F8A


def test_every_kept_schema_fingerprint_matches_the_spec_algorithm() -> None:
    for version in SchemaStore.from_package().versions():
        expected = spec_fingerprint64(version.canonical_form.encode())
        assert version.fingerprint == expected.to_bytes(8, "little"), version


def test_package_data_is_the_schemas_directory() -> None:
    packaged = resources.files("lienthong.schemas") / "avro" / "v1" / "Document.avsc"
    assert packaged.read_text(encoding="utf-8") == (SCHEMA_ROOT / "v1" / "Document.avsc").read_text(
        encoding="utf-8"
    )


def test_store_has_one_current_schema_per_event_type() -> None:
    store = SchemaStore.from_package()
    assert {store.current(t).event_type for t in EventType} == set(EventType)
    for version in store.versions():
        assert store.get(version.fingerprint) is version


def _named_types(schema: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(schema, list):
        for branch in schema:
            yield from _named_types(branch)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum", "fixed"):
            yield schema["name"], schema
        for field in schema.get("fields", []):
            yield from _named_types(field["type"])
        yield from _named_types(schema.get("items"))


def test_a_type_shared_by_several_files_is_defined_identically() -> None:
    # Each .avsc is self-contained (readable alone in any language), so shared types are
    # repeated; this keeps the copies from drifting apart.
    seen: dict[str, tuple[str, Any]] = {}
    for file in sorted(SCHEMA_ROOT.glob("v*/*.avsc")):
        for name, definition in _named_types(json.loads(file.read_text(encoding="utf-8"))):
            key = f"{file.parent.name}:{name}"
            if key in seen:
                assert definition == seen[key][1], f"{name} differs in {file} and {seen[key][0]}"
            seen[key] = (str(file), definition)


def test_old_writer_version_is_read_into_the_current_reader_schema() -> None:
    # A v0 Document had no content_summary, to_places or attachments and no OtherInfo.appendixes;
    # a v1 reader sees their defaults.
    old_codec = Codec(SchemaStore(load_versions(OLD)))
    record = examples.document()
    for dropped in ("content_summary", "to_places", "attachments"):
        del record[dropped]
    del record["other_info"]["appendixes"]
    old_bytes = old_codec.encode(EventType.DOCUMENT, record)

    both = SchemaStore([*load_versions(OLD), *SchemaStore.from_package().versions()])
    decoded = Codec(both).decode(old_bytes)

    assert decoded.writer.version == 0
    assert decoded.record["content_summary"] is None
    assert decoded.record["to_places"] == []
    assert decoded.record["attachments"] == []
    assert decoded.record["other_info"]["appendixes"] == []
    assert decoded.record["subject"] == record["subject"]


def test_current_codec_refuses_the_old_version_it_does_not_keep() -> None:
    old_codec = Codec(SchemaStore(load_versions(OLD)))
    record = examples.status()
    value = old_codec.encode(EventType.STATUS, record)
    decoded = Codec(SchemaStore.from_package()).decode(value)  # Status is unchanged since v0
    assert decoded.record == record


BAD_TYPE = (
    '{"type": "record", "name": "gov.lienthong.Document",'
    ' "fields": [{"name": "x", "type": "nope"}]}'
)


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({}, "no v<N>/"),
        ({"v1/Document.avsc": "{not json"}, "cannot read schema"),
        ({"v1/Document.avsc": '{"type": "record", "name": "X", "fields": []}'}, "is not one of"),
        ({"v1/Document.avsc": BAD_TYPE}, "not a valid"),
    ],
    ids=["empty", "not-json", "unknown-record", "invalid-avro"],
)
def test_bad_schema_directory_is_refused_with_the_file_named(
    tmp_path: Path, files: dict[str, str], says: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(SchemaLoadError, match=says):
        load_versions(tmp_path)


def test_store_without_every_event_type_is_refused() -> None:
    document_only = [v for v in SchemaStore.from_package().versions() if v.event_type == "document"]
    with pytest.raises(SchemaLoadError, match="report, status"):
        SchemaStore(document_only)
