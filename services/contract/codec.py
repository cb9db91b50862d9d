"""Avro single-object encoding: C3 01, the writer schema's CRC-64-AVRO fingerprint, the body."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import fastavro
from fastavro.validation import ValidationError, validate

from lienthong.contract.errors import (
    BadMagic,
    CorruptBody,
    IncompatibleRecord,
    SchemaViolation,
    UnknownFingerprint,
)
from lienthong.contract.schemas import EventType, ParsedSchema, SchemaStore, SchemaVersion

MAGIC = b"\xc3\x01"
FINGERPRINT_LEN = 8
HEADER_LEN = len(MAGIC) + FINGERPRINT_LEN


@dataclass(frozen=True, slots=True)
class Decoded:
    """A record read from the wire into the current reader schema of its event type."""

    event_type: EventType
    writer: SchemaVersion
    record: dict[str, Any]


def peek_fingerprint(data: bytes) -> bytes:
    """Return the writer fingerprint of a single-object encoded value without decoding it."""
    if len(data) < HEADER_LEN or data[:2] != MAGIC:
        shown = data[:2].hex() or "empty"
        raise BadMagic(
            f"not an Avro single-object value: starts with {shown}, expected c301 and a"
            f" {FINGERPRINT_LEN}-byte fingerprint ({len(data)} bytes in all)",
            raw=data,
        )
    return data[2:HEADER_LEN]


class Codec:
    """Encode records with the current schemas; decode any kept version into the current one."""

    def __init__(self, store: SchemaStore, *, logical_types: bool = True) -> None:
        self._store = store
        self._logical = logical_types
        self._prefix = {t: MAGIC + store.current(t).fingerprint for t in EventType}
        self._plain: Codec | None = None if logical_types else self

    def plain(self) -> Codec:
        """Return a codec on the same schemas that skips logical types (ids and times raw).

        For hot paths that only route or re-encode: UUIDs stay strings, timestamps and dates
        stay integers, and the bytes on the wire are the same either way.
        """
        if self._plain is None:
            self._plain = Codec(self._store, logical_types=False)
        return self._plain

    def _schema(self, version: SchemaVersion) -> ParsedSchema:
        return version.parsed if self._logical else version.plain

    @property
    def store(self) -> SchemaStore:
        """Return the schema store this codec resolves fingerprints with."""
        return self._store

    def encode(self, event_type: EventType, record: Mapping[str, Any]) -> bytes:
        """Encode `record` with the current schema of `event_type`."""
        schema = self._schema(self._store.current(event_type))
        buf = io.BytesIO()
        buf.write(self._prefix[event_type])
        try:
            # strict_allow_default: a key the schema does not know is an error, not silently lost.
            fastavro.schemaless_writer(
                buf, schema, record, strict_allow_default=True, disable_tuple_notation=True
            )
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            raise SchemaViolation(
                f"{event_type.value} record breaks its schema: {exc}",
                problems=_problems(record, schema, exc),
            ) from exc
        return buf.getvalue()

    def decode(self, data: bytes) -> Decoded:
        """Decode a single-object value, resolving its writer schema by fingerprint."""
        fingerprint = peek_fingerprint(data)
        writer = self._store.get(fingerprint)
        if writer is None:
            raise UnknownFingerprint(
                f"unknown writer schema fingerprint {fingerprint.hex()}:"
                " no kept schema version has it",
                raw=data,
                fingerprint=fingerprint,
            )
        current = self._store.current(writer.event_type)
        # Same schema: skip resolution, the common case and the fast one.
        reader = None if current is writer else self._schema(current)
        body = io.BytesIO(data)
        body.seek(HEADER_LEN)
        try:
            record = fastavro.schemaless_reader(body, self._schema(writer), reader)
        except fastavro.read.SchemaResolutionError as exc:
            raise IncompatibleRecord(
                f"{writer.event_type.value} v{writer.version} cannot be read as"
                f" v{current.version}: {exc}",
                raw=data,
            ) from exc
        except Exception as exc:
            raise CorruptBody(
                f"{writer.event_type.value} body ({len(data) - HEADER_LEN} bytes) is"
                f" truncated or corrupt: {type(exc).__name__}: {exc}",
                raw=data,
            ) from exc
        if body.tell() != len(data):
            raise CorruptBody(
                f"{writer.event_type.value} body has {len(data) - body.tell()} trailing bytes",
                raw=data,
            )
        if not isinstance(record, dict):
            raise CorruptBody("body did not decode to a record", raw=data)
        return Decoded(writer.event_type, writer, record)


def _problems(record: Mapping[str, Any], schema: ParsedSchema, exc: Exception) -> tuple[str, ...]:
    """Name the offending fields, falling back to the writer's message."""
    try:
        validate(record, schema, raise_errors=True)
    except ValidationError as verr:
        return tuple(f"{e.field}: {e.datum!r} is not a valid {e.schema}" for e in verr.errors)
    except Exception:  # noqa: BLE001 - the validator is a best-effort explainer only
        return (str(exc),)
    return (str(exc),)
