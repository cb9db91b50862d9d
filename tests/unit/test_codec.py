from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lienthong.contract import examples
from lienthong.contract.codec import HEADER_LEN, MAGIC, Codec, peek_fingerprint
from lienthong.contract.errors import (
    BadMagic,
    CorruptBody,
    DecodeError,
    SchemaViolation,
    UnknownFingerprint,
)
from lienthong.contract.schemas import EventType, SchemaStore
from tests.support.avro_strategies import from_schema

GOLDEN = Path(__file__).parent / "golden"
STORE = SchemaStore.from_package()
CODEC = Codec(STORE)

EXAMPLES: dict[EventType, Callable[[], dict[str, Any]]] = {
    EventType.DOCUMENT: examples.document,
    EventType.REPORT: examples.report,
    EventType.STATUS: examples.status,
}


@pytest.mark.parametrize("event_type", list(EventType))
def test_golden_vector_is_what_we_encode(event_type: EventType) -> None:
    # A change to a schema, the fingerprint or the encoding fails here: the bytes on the wire
    # are the contract. Regenerate only for a deliberate new schema version.
    golden = bytes.fromhex((GOLDEN / f"{event_type.value}.v1.hex").read_text().strip())
    assert CODEC.encode(event_type, EXAMPLES[event_type]()) == golden


@pytest.mark.parametrize("event_type", list(EventType))
def test_golden_vector_decodes_to_the_example(event_type: EventType) -> None:
    golden = bytes.fromhex((GOLDEN / f"{event_type.value}.v1.hex").read_text().strip())
    decoded = CODEC.decode(golden)
    assert decoded.event_type is event_type
    assert decoded.writer.version == 1
    assert decoded.record == EXAMPLES[event_type]()


def test_value_starts_with_marker_and_little_endian_fingerprint() -> None:
    value = CODEC.encode(EventType.STATUS, examples.status())
    assert value[:2] == MAGIC
    assert value[2:HEADER_LEN] == STORE.current(EventType.STATUS).fingerprint
    assert peek_fingerprint(value) == STORE.current(EventType.STATUS).fingerprint


@pytest.mark.parametrize("event_type", list(EventType))
def test_round_trip_any_valid_record(event_type: EventType) -> None:
    schema = STORE.current(event_type).parsed

    @settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(record=from_schema(schema))
    def check(record: dict[str, Any]) -> None:
        decoded = CODEC.decode(CODEC.encode(event_type, record))
        assert decoded.event_type is event_type
        assert decoded.record == record

    check()


_DOC = CODEC.encode(EventType.DOCUMENT, examples.document())
_UNKNOWN_FP = MAGIC + b"\x01\x02\x03\x04\x05\x06\x07\x08" + _DOC[HEADER_LEN:]


@pytest.mark.parametrize(
    ("value", "error", "reason", "says"),
    [
        (b"", BadMagic, "bad-magic", "starts with empty"),
        (b'{"subject": "json, not avro"}', BadMagic, "bad-magic", "starts with 7b22"),
        (b"\x00\x00\x00\x00\x01" + _DOC[HEADER_LEN:], BadMagic, "bad-magic", "expected c301"),
        (MAGIC + b"\x01\x02", BadMagic, "bad-magic", "4 bytes in all"),
        (_UNKNOWN_FP, UnknownFingerprint, "unknown-fingerprint", "0102030405060708"),
        (_DOC[:HEADER_LEN], CorruptBody, "corrupt-body", "truncated or corrupt"),
        (_DOC[:-7], CorruptBody, "corrupt-body", "truncated or corrupt"),
        (_DOC + b"\x00", CorruptBody, "corrupt-body", "1 trailing bytes"),
        (_DOC[:HEADER_LEN] + b"\xff" * 40, CorruptBody, "corrupt-body", "document body"),
    ],
    ids=[
        "empty",
        "json",
        "confluent-framing",
        "short-header",
        "unknown-fingerprint",
        "header-only",
        "truncated",
        "trailing-byte",
        "garbage-body",
    ],
)
def test_bad_bytes_raise_a_typed_error_that_keeps_them(
    value: bytes, error: type[DecodeError], reason: str, says: str
) -> None:
    with pytest.raises(error) as caught:
        CODEC.decode(value)
    assert caught.value.raw == value
    assert caught.value.reason == reason
    assert says in str(caught.value)


def test_unknown_fingerprint_names_it() -> None:
    with pytest.raises(UnknownFingerprint) as caught:
        CODEC.decode(_UNKNOWN_FP)
    assert caught.value.fingerprint == bytes.fromhex("0102030405060708")


@settings(max_examples=400, deadline=None)
@given(body=st.binary(max_size=300), event_type=st.sampled_from(list(EventType)))
def test_any_body_after_a_known_header_is_decoded_or_refused_with_a_decode_error(
    body: bytes, event_type: EventType
) -> None:
    value = MAGIC + STORE.current(event_type).fingerprint + body
    caught: DecodeError | None = None
    try:
        decoded = CODEC.decode(value)
    except DecodeError as exc:
        caught = exc
    if caught is None:
        assert decoded.event_type is event_type
    else:
        assert caught.raw == value


@pytest.mark.parametrize(
    ("event_type", "change", "problem"),
    [
        (EventType.STATUS, {"status_code": 3}, "status_code"),
        (EventType.DOCUMENT, {"subject": None}, "subject"),
        (EventType.REPORT, {"period": {"kind": "WEEK", "year": 2026, "number": 1}}, "kind"),
        (EventType.DOCUMENT, {"surprise": "field"}, "surprise"),
    ],
    ids=["wrong-type", "required-null", "bad-enum", "unknown-field"],
)
def test_encoding_a_record_that_breaks_the_schema_names_the_field(
    event_type: EventType, change: dict[str, Any], problem: str
) -> None:
    record = {**EXAMPLES[event_type](), **change}
    with pytest.raises(SchemaViolation) as caught:
        CODEC.encode(event_type, record)
    assert caught.value.reason == "schema-violation"
    assert any(problem in p for p in caught.value.problems) or problem in str(caught.value)


def test_missing_field_with_a_default_is_filled_in() -> None:
    record = examples.document()
    del record["attachments"]
    decoded = CODEC.decode(CODEC.encode(EventType.DOCUMENT, record))
    assert decoded.record["attachments"] == []


@pytest.mark.parametrize("event_type", list(EventType))
def test_plain_codec_reads_ids_and_times_raw_and_writes_the_same_bytes(
    event_type: EventType,
) -> None:
    value = CODEC.encode(event_type, EXAMPLES[event_type]())
    plain = CODEC.plain().decode(value)
    assert isinstance(plain.record["event_id"], str)
    assert isinstance(plain.record["occurred_at"], int)
    assert plain.record["event_id"] == str(EXAMPLES[event_type]()["event_id"])
    assert CODEC.plain().encode(event_type, plain.record) == value
