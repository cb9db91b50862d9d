from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from lienthong.contract import examples, headers
from lienthong.contract.codec import Codec
from lienthong.contract.errors import BadHeaders
from lienthong.contract.events import business_key, check_agreement, epoch_millis, headers_for
from lienthong.contract.headers import EventHeaders, header_map
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.contract.trace import TraceParent

CODEC = Codec(SchemaStore.from_package())
FP = CODEC.store.current(EventType.DOCUMENT).fingerprint_hex


def _document_headers() -> EventHeaders:
    return headers_for(EventType.DOCUMENT, examples.document(), FP)


def test_headers_round_trip_through_kafka_form() -> None:
    original = _document_headers()
    assert EventHeaders.from_kafka(original.to_kafka()) == original


def test_headers_carry_what_routing_needs() -> None:
    h = dict(_document_headers().to_kafka())
    assert h[headers.EVENT_ID] == b"6f1c1f0e-8c43-4a7e-9a55-1d2b3c4d5e6f"
    assert h[headers.EVENT_TYPE] == b"document"
    assert h[headers.SENDER] == b"000.00.00.G22"
    assert h[headers.SCHEMA_FINGERPRINT] == FP.encode()
    assert h[headers.OCCURRED_AT] == b"1795681815123"
    assert TraceParent.parse(h[headers.TRACEPARENT].decode()).flags == "01"


@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (lambda h: [(k, v) for k, v in h if k != headers.SENDER], "missing headers: lt-sender"),
        (lambda h: [*h, (headers.EVENT_ID, b"again")], "appears more than once"),
        (lambda h: [(k, b"memo" if k == headers.EVENT_TYPE else v) for k, v in h], "memo"),
        (lambda h: [(k, b"\xff" if k == headers.SENDER else v) for k, v in h], "not UTF-8"),
        (
            lambda h: [(k, b"yesterday" if k == headers.OCCURRED_AT else v) for k, v in h],
            "milliseconds",
        ),
        (
            # str.isdigit() takes "²" for a digit; int() does not.
            lambda h: [(k, "²".encode() if k == headers.OCCURRED_AT else v) for k, v in h],
            "milliseconds",
        ),
        (
            lambda h: [(k, b"9" * 14 if k == headers.OCCURRED_AT else v) for k, v in h],
            "milliseconds",
        ),
        (lambda h: [(k, b"00-abc" if k == headers.TRACEPARENT else v) for k, v in h], "W3C"),
    ],
    ids=[
        "missing",
        "repeated",
        "unknown-type",
        "not-utf8",
        "bad-time",
        "superscript-time",
        "time-past-2286",
        "bad-traceparent",
    ],
)
def test_bad_headers_are_refused_with_a_reason(mutate, says: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadHeaders, match=says):
        EventHeaders.from_kafka(mutate(_document_headers().to_kafka()))


def test_a_repeated_foreign_header_is_not_our_business() -> None:
    assert header_map([("x-app", b"1"), ("x-app", b"2")]) == {"x-app": b"2"}


def test_traceparent_child_keeps_the_trace() -> None:
    parent = TraceParent.new()
    child = parent.child()
    assert child.trace_id == parent.trace_id
    assert child.span_id != parent.span_id
    assert TraceParent.parse(str(child)) == child


def test_all_zero_trace_id_is_invalid() -> None:
    with pytest.raises(BadHeaders):
        TraceParent.parse(f"00-{'0' * 32}-{'1' * 16}-01")


def test_recipients_header_round_trip() -> None:
    name, value = headers.recipients_header(["000.00.00.H41", "001.00.10.H47"])
    assert name == headers.RECIPIENTS
    assert headers.parse_recipients(value) == ("000.00.00.H41", "001.00.10.H47")


@pytest.mark.parametrize(
    ("event_type", "record", "key"),
    [
        (EventType.DOCUMENT, examples.document(), "000.00.00.G22,2026/11/25,7816/VPCP-KSTT"),
        (EventType.REPORT, examples.report(), "BC-KTXH-THANG:000.00.00.H41:2026-M10"),
        (EventType.STATUS, examples.status(), "000.00.00.G22,2026/11/25,7816/VPCP-KSTT"),
    ],
)
def test_business_key(event_type: EventType, record: dict[str, object], key: str) -> None:
    assert business_key(event_type, record) == key


def test_agreeing_headers_pass() -> None:
    value = CODEC.encode(EventType.DOCUMENT, examples.document())
    key = business_key(EventType.DOCUMENT, examples.document()).encode()
    check_agreement(_document_headers(), key, CODEC.decode(value))


def test_disagreeing_headers_name_every_difference() -> None:
    value = CODEC.encode(EventType.DOCUMENT, examples.document())
    lying = headers_for(EventType.DOCUMENT, examples.document(sender="000.00.00.H41"), FP)
    with pytest.raises(BadHeaders) as caught:
        check_agreement(lying, b"another-key", CODEC.decode(value))
    assert "sender '000.00.00.H41' (body says '000.00.00.G22')" in str(caught.value)
    assert "key 'another-key'" in str(caught.value)


def test_headers_that_lie_about_the_time_disagree() -> None:
    value = CODEC.encode(EventType.DOCUMENT, examples.document())
    key = business_key(EventType.DOCUMENT, examples.document()).encode()
    lying = replace(_document_headers(), occurred_at_ms=0)
    with pytest.raises(BadHeaders, match="occurred at 0"):
        check_agreement(lying, key, CODEC.decode(value))


def test_recipients_that_are_not_utf8_are_bad_headers() -> None:
    with pytest.raises(BadHeaders, match="not UTF-8"):
        headers.parse_recipients(b"000.00.00.H41,\xff")


@pytest.mark.parametrize(
    ("raw", "millis"),
    [(b"1795681815123", 1795681815123), (None, None), (b"", None), ("²".encode(), None)],
)
def test_parse_millis_reads_only_plain_numbers(raw: bytes | None, millis: int | None) -> None:
    assert headers.parse_millis(raw) == millis


def test_epoch_millis_takes_naive_as_utc() -> None:
    assert epoch_millis(datetime(1970, 1, 1, 0, 0, 1)) == 1000  # noqa: DTZ001
    assert epoch_millis(42) == 42
