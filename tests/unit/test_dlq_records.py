from __future__ import annotations

from uuid import uuid4

from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType
from lienthong.operations.deadletters import (
    Source,
    count_by_reason,
    original_headers,
    read_dead_letter,
    select,
)
from lienthong.plumbing.deadletter import dead_letter
from lienthong.plumbing.envelope import Envelope
from tests.support.router import CODEC

OUT = prepare(CODEC, EventType.DOCUMENT, examples.document(event_id=uuid4()))
ROUTING = [h.recipients_header(["000.00.00.H41"]), (h.ROUTED_AT, b"1795681816000")]


def dlq_envelope(
    *,
    stage: str = "router",
    reason: str = "unknown-recipient",
    extra: list[tuple[str, bytes]] | None = None,
    offset: int = 7,
    at_ms: int = 1795681817000,
) -> Envelope:
    """Return a DLQ record exactly as the router or the consumer writes one."""
    original = Envelope(
        "lt.inbound", 3, 42, OUT.key, OUT.value, (*OUT.headers, *(extra or [])), 1795681815000
    )
    letter = dead_letter(
        original,
        topic="lt.dlq",
        reason=reason,
        error="Unroutable",
        detail="unknown agencies or groups: 000.00.00.H99",
        stage=stage,
        at_ms=at_ms,
    )
    return Envelope("lt.dlq", 0, offset, letter.key, letter.value, tuple(letter.headers), at_ms)


def test_a_dead_letter_reads_back_its_reason_stage_event_and_source() -> None:
    record = read_dead_letter(dlq_envelope())
    assert record.reason == "unknown-recipient"
    assert record.stage == "router"
    assert record.error == "Unroutable"
    assert record.detail == "unknown agencies or groups: 000.00.00.H99"
    assert record.at_ms == 1795681817000
    assert record.event_id == OUT.event_id
    assert record.event_type == "document"
    assert record.sender == "000.00.00.G22"
    assert record.source == Source("lt.inbound", 3, 42)
    assert str(record.source) == "lt.inbound[3]@42"
    assert record.coordinates == "lt.dlq[0]@7"


def test_a_record_without_our_headers_reads_as_unknown_never_guessed() -> None:
    record = read_dead_letter(Envelope("lt.dlq", 0, 1, None, b"x", (), 1795681817000))
    assert (record.reason, record.stage) == ("unknown", "unknown")
    assert record.event_id is None
    assert record.sender is None
    assert record.source is None
    assert record.at_ms == 1795681817000  # no lt-dlq-at: the record's own timestamp


def test_original_headers_drop_what_dead_lettering_added_and_keep_the_rest_in_order() -> None:
    foreign = ("x-agency-ref", b"CV-2026-001")
    env = dlq_envelope(extra=[foreign, *ROUTING])
    for_router = original_headers(env.headers, keep_routing=False)
    assert list(for_router) == [*OUT.headers, foreign]
    for_consumer = original_headers(env.headers, keep_routing=True)
    assert list(for_consumer) == [*OUT.headers, foreign, *ROUTING]
    later_version = [*env.headers, ("lt-dlq-attempt", b"2"), ("lt-source-cluster", b"a")]
    assert list(original_headers(later_version, keep_routing=False)) == [*OUT.headers, foreign]


def test_select_filters_by_reason_and_time_and_the_summary_counts_by_reason() -> None:
    records = [
        read_dead_letter(dlq_envelope(reason="unknown-recipient", offset=0, at_ms=1000)),
        read_dead_letter(dlq_envelope(reason="bad-magic", offset=1, at_ms=2000)),
        read_dead_letter(dlq_envelope(reason="unknown-recipient", offset=2, at_ms=3000)),
    ]
    assert [r.offset for r in select(records, reasons=["unknown-recipient"])] == [0, 2]
    assert [r.offset for r in select(records, since_ms=2000)] == [1, 2]
    assert [r.offset for r in select(records, reasons=["bad-magic"], since_ms=2500)] == []
    assert select(records) == records
    assert count_by_reason(records) == {"unknown-recipient": 2, "bad-magic": 1}
    assert list(count_by_reason(records)) == ["unknown-recipient", "bad-magic"]
