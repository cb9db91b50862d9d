"""The Subscriber as an iterator, on fakes: what counts as finished, unreadable records, revokes."""

from __future__ import annotations

from uuid import uuid4

import pytest

from lienthong.contract import examples
from lienthong.contract.errors import UnknownFingerprint
from lienthong.contract.schemas import EventType, SchemaStore, load_versions
from lienthong.contract.typed import Document, Report
from lienthong.plumbing.envelope import Envelope
from lienthong.subscriber import SubscriberError, UnreadableEvent
from tests.support.subscriber_fakes import TOPIC, FakeConsumer, delivered, fake_subscriber
from tests.unit.test_schemas import OLD

P0, P1 = (TOPIC, 0), (TOPIC, 1)


def _docs(offsets: range, partition: int = 0) -> list[Envelope]:
    return [
        delivered(
            EventType.DOCUMENT,
            examples.document(event_id=uuid4(), number=f"{partition}-{n}"),
            n,
            partition=partition,
        )
        for n in offsets
    ]


def test_iterating_yields_typed_events_with_headers_recipients_and_coordinates() -> None:
    report = delivered(EventType.REPORT, examples.report(), 7, recipients="000.00.00.G22")
    sub = fake_subscriber(FakeConsumer([[report]]))
    [event] = list(sub)
    assert isinstance(event.record, Report)
    assert event.record.indicators[0].value == 8_432.5
    assert event.event_type is EventType.REPORT
    assert event.event_id == str(examples.report()["event_id"])
    assert event.headers.sender == "000.00.00.H41"
    assert event.recipients == ("000.00.00.G22",)
    assert event.routed_at_ms == 1795681816000
    assert event.coordinates == f"{TOPIC}[0]@7"
    assert event.key == "BC-KTXH-THANG:000.00.00.H41:2026-M10"
    assert event.writer.version == 1
    assert event.data["report_id"] == event.record.report_id


def test_an_event_is_finished_when_the_loop_asks_for_the_next_one() -> None:
    consumer = FakeConsumer([_docs(range(3))])
    sub = fake_subscriber(consumer)
    for event in sub:
        if event.envelope.offset == 1:
            break  # the body of offset 1 did not finish
    sub.close()
    assert consumer.committed() == {P0: 1}
    assert consumer.closed


def test_a_completed_loop_commits_everything() -> None:
    consumer = FakeConsumer([_docs(range(2)), _docs(range(2), partition=1)])
    with fake_subscriber(consumer) as sub:
        assert len(list(sub)) == 4
    assert consumer.committed() == {P0: 2, P1: 2}


def _with_unknown_fingerprint_at(offset: int) -> tuple[Envelope, list[Envelope]]:
    events = _docs(range(3))
    good = events[offset]
    value = good.value or b""
    bad = Envelope(
        TOPIC, 0, offset, good.key, value[:2] + b"\xab" * 8 + value[10:], good.headers, 0
    )
    events[offset] = bad
    return bad, events


def test_an_unknown_fingerprint_is_raised_again_until_skipped_and_not_committed() -> None:
    bad, events = _with_unknown_fingerprint_at(1)
    consumer = FakeConsumer([events])
    sub = fake_subscriber(consumer, commit=None)
    assert next(sub).envelope.offset == 0
    with pytest.raises(UnreadableEvent) as raised:
        next(sub)
    error = raised.value
    assert isinstance(error.error, UnknownFingerprint)
    assert error.fingerprint == b"\xab" * 8
    assert error.reason == "unknown-fingerprint"
    assert error.coordinates == f"{TOPIC}[0]@1"
    assert error.envelope == bad
    with pytest.raises(UnreadableEvent) as again:
        next(sub)
    assert again.value is error
    sub.stop()  # a stop wins over the record in the way
    assert next(sub, None) is None
    assert consumer.committed() == {P0: 1}  # not past the unreadable record


def test_skipping_an_unreadable_record_moves_on_and_commits_past_it() -> None:
    _, events = _with_unknown_fingerprint_at(1)
    consumer = FakeConsumer([events])
    sub = fake_subscriber(consumer)
    got: list[int] = []
    while True:
        try:
            got.extend(e.envelope.offset for e in sub)
            break
        except UnreadableEvent as error:
            sub.skip(error)
    assert got == [0, 2]
    assert consumer.committed() == {P0: 3}


def test_skip_refuses_an_error_the_subscriber_is_not_at() -> None:
    bad, events = _with_unknown_fingerprint_at(0)
    sub = fake_subscriber(FakeConsumer([events]))
    other = UnreadableEvent(bad, UnknownFingerprint("x", raw=b"", fingerprint=b"\x00" * 8))
    with pytest.raises(SubscriberError, match="not the record"):
        sub.skip(other)


def test_revoked_partitions_commit_what_is_finished_and_are_then_forgotten() -> None:
    consumer = FakeConsumer([[*_docs(range(2)), *_docs(range(2), partition=1)]])
    consumer.batches.append(_docs(range(2, 4), partition=1))
    sub = fake_subscriber(consumer)
    polls = 0

    def revoke_p0_at_the_second_poll() -> None:
        nonlocal polls
        polls += 1
        if polls == 2:
            consumer.revoke(frozenset({P0}))

    consumer.before_poll = revoke_p0_at_the_second_poll
    assert len(list(sub)) == 6
    # P0 is committed as it is taken away (P1's events are not due yet), then never again.
    assert consumer.commits == [{P0: 2}, {P1: 4}]


def test_a_subscriber_built_against_an_older_schema_reads_newer_events() -> None:
    # Its store keeps both versions (writers by fingerprint); its reader is v0.
    both = SchemaStore([*load_versions(OLD), *SchemaStore.from_package().versions()])
    events = _docs(range(2))  # written with v1
    sub = fake_subscriber(FakeConsumer([events]), store=both, reader_version=0)
    got = list(sub)
    assert [e.writer.version for e in got] == [1, 1]
    record = got[0].record
    assert isinstance(record, Document)
    assert record.subject == examples.document()["subject"]
    assert "attachments" not in got[0].data  # v0 has no attachments ...
    assert record.attachments == ()  # ... so the typed record has the default
    assert record.content_summary is None


def test_a_subscriber_without_the_writer_schema_gets_unknown_fingerprint() -> None:
    old_only = SchemaStore(load_versions(OLD))
    sub = fake_subscriber(FakeConsumer([_docs(range(1))]), store=old_only)
    with pytest.raises(UnreadableEvent) as raised:
        next(sub)
    assert (
        raised.value.fingerprint
        == SchemaStore.from_package().current(EventType.DOCUMENT).fingerprint
    )
