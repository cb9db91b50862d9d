"""The Avro schemas of the contract: every kept version, indexed by fingerprint."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import fastavro
from fastavro.schema import fingerprint as _fingerprint
from fastavro.schema import to_parsing_canonical_form

from lienthong.contract.errors import ContractError

NAMESPACE = "gov.lienthong"
ParsedSchema = dict[str, Any]
"""A schema as fastavro.parse_schema returns it."""
_VERSION_DIR = re.compile(r"^v([0-9]+)$")


class EventType(StrEnum):
    """The three kinds of event the axis carries."""

    DOCUMENT = "document"
    REPORT = "report"
    STATUS = "status"

    @property
    def schema_name(self) -> str:
        """Return the Avro full name of this type's record, e.g. gov.lienthong.Document."""
        return f"{NAMESPACE}.{self.value.capitalize()}"


_BY_SCHEMA_NAME = {t.schema_name: t for t in EventType}


class SchemaLoadError(ContractError):
    """A schema file on disk is missing, unreadable or not valid Avro."""

    reason = "schema-load"


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One kept version of one event type's schema."""

    event_type: EventType
    version: int
    fingerprint: bytes
    """CRC-64-AVRO of the parsing canonical form, 8 bytes little-endian, as on the wire."""
    parsed: ParsedSchema
    """The schema as fastavro.parse_schema returned it."""
    canonical_form: str
    plain: ParsedSchema
    """The same schema without logical types: UUIDs stay strings, timestamps integers, which
    decodes ~1.5x faster when only identifiers and routing fields are needed."""

    @property
    def fingerprint_hex(self) -> str:
        """Return the fingerprint as 16 lowercase hex digits, the form headers and logs use."""
        return self.fingerprint.hex()


def fingerprint_of(schema: ParsedSchema | str) -> tuple[bytes, str]:
    """Return the single-object fingerprint (8 bytes, LE) and parsing canonical form of a schema."""
    canonical = to_parsing_canonical_form(schema)
    # fastavro renders CRC-64-AVRO as the hex of the little-endian bytes, exactly the wire order.
    return bytes.fromhex(_fingerprint(canonical, "CRC-64-AVRO")), canonical


def _parse(raw: ParsedSchema, origin: str) -> tuple[EventType, ParsedSchema]:
    try:
        parsed = fastavro.parse_schema(raw, named_schemas={})
    except Exception as exc:
        raise SchemaLoadError(f"{origin}: not a valid Avro schema: {exc}") from exc
    name = parsed.get("name") if isinstance(parsed, dict) else None
    if not isinstance(parsed, dict) or name not in _BY_SCHEMA_NAME:
        known = ", ".join(sorted(_BY_SCHEMA_NAME))
        raise SchemaLoadError(f"{origin}: record {name!r} is not one of {known}")
    return _BY_SCHEMA_NAME[name], parsed


class SchemaStore:
    """Every kept schema version, resolvable by wire fingerprint, with the newest as reader."""

    def __init__(self, versions: Iterable[SchemaVersion]) -> None:
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        self._current: dict[EventType, SchemaVersion] = {}
        for sv in versions:
            if sv.fingerprint in self._by_fingerprint:
                # Identical schemas across versions are fine (a type unchanged in a new release).
                continue
            self._by_fingerprint[sv.fingerprint] = sv
            current = self._current.get(sv.event_type)
            if current is None or sv.version > current.version:
                self._current[sv.event_type] = sv
        missing = [t.value for t in EventType if t not in self._current]
        if missing:
            raise SchemaLoadError(f"no schema for event types: {', '.join(missing)}")

    @classmethod
    def from_package(cls) -> SchemaStore:
        """Load every version shipped in the lienthong.schemas package data."""
        return cls.from_traversable(resources.files("lienthong.schemas") / "avro")

    @classmethod
    def from_traversable(cls, root: Traversable) -> SchemaStore:
        """Load every `v<N>/<Type>.avsc` under `root` (a directory or package resource)."""
        return cls(load_versions(root))

    def get(self, fingerprint: bytes) -> SchemaVersion | None:
        """Return the kept schema with this fingerprint, or None."""
        return self._by_fingerprint.get(fingerprint)

    def current(self, event_type: EventType) -> SchemaVersion:
        """Return the newest version of an event type's schema: what we write and read into."""
        return self._current[event_type]

    def versions(self) -> tuple[SchemaVersion, ...]:
        """Return every kept version, oldest first."""
        return tuple(sorted(self._by_fingerprint.values(), key=lambda s: (s.event_type, s.version)))


def load_versions(root: Traversable) -> list[SchemaVersion]:
    """Read and parse every schema file under `root`, checking each names a known type."""
    found: list[SchemaVersion] = []
    if not root.is_dir():
        raise SchemaLoadError(f"schema directory {root} does not exist")
    for vdir in root.iterdir():
        match = _VERSION_DIR.match(vdir.name)
        if not vdir.is_dir() or match is None:
            continue
        for file in vdir.iterdir():
            if not file.name.endswith(".avsc"):
                continue
            origin = f"{vdir.name}/{file.name}"
            try:
                raw = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SchemaLoadError(f"{origin}: cannot read schema: {exc}") from exc
            event_type, parsed = _parse(raw, origin)
            fp, canonical = fingerprint_of(parsed)
            _, plain = _parse(_without_logical_types(raw), origin)
            found.append(
                SchemaVersion(event_type, int(match.group(1)), fp, parsed, canonical, plain)
            )
    if not found:
        raise SchemaLoadError(f"no v<N>/*.avsc schema files under {root}")
    # Oldest first: a schema unchanged across releases is known by the version that introduced it.
    found.sort(key=lambda s: (s.version, s.event_type))
    return found


def _without_logical_types(schema: Any) -> Any:
    """Return a copy of a raw schema with every logicalType removed (same binary encoding)."""
    if isinstance(schema, dict):
        return {k: _without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [_without_logical_types(v) for v in schema]
    return schema
