from __future__ import annotations

from uuid import uuid4

from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType
from lienthong.operations.deadletters import read_dead_letter
from lienthong.operations.inspect_record import record_json, record_lines
from lienthong.operations.redeliver import PartitionRedelivery, Tally, plan_ranges, select_copies
from lienthong.operations.render import (
    dead_letter_json,
    list_lines,
    redelivery_lines,
    replay_lines,
    summary_line,
)
from lienthong.operations.replay_log import ReplayLog, plan_replay
from lienthong.plumbing.deadletter import dead_letter
from lienthong.plumbing.envelope import Envelope
from tests.support.router import CODEC

OUT = prepare(CODEC, EventType.DOCUMENT, examples.document(event_id=uuid4()))


def dlq(offset: int, value: bytes, reason: str) -> Envelope:
    source = Envelope("lt.inbound", 2, 40 + offset, OUT.key, value, tuple(OUT.headers), 0)
    made = dead_letter(
        source,
        topic="lt.dlq",
        reason=reason,
        error="E",
        detail="d",
        stage="router",
        at_ms=1795681817123,
    )
    return Envelope("lt.dlq", 0, offset, made.key, made.value, tuple(made.headers), 1)


def test_show_decodes_a_good_body_and_lists_every_header_in_order() -> None:
    env = dlq(0, OUT.value, "unknown-recipient")
    data = record_json(env, CODEC)
    assert [h["name"] for h in data["headers"]] == [name for name, _ in env.headers]
    assert data["key"] == OUT.key.decode()
    body = data["body"]
    assert body["decoded"] is True
    assert (body["event_type"], body["schema_version"]) == ("document", 1)
    assert body["record"]["event_id"] == OUT.event_id
    text = "\n".join(record_lines(data))
    assert "record     lt.dlq[0]@0" in text
    assert "lt-dlq-at" in text
    assert "(2026-11-26 08:30:17.123 UTC)" in text
    assert f'"event_id": "{OUT.event_id}"' in text


def test_show_gives_the_hex_head_and_the_error_of_a_body_that_does_not_decode() -> None:
    data = record_json(dlq(1, b"{'not': 'avro'}", "bad-magic"), CODEC)
    body = data["body"]
    assert body["decoded"] is False
    assert body["reason"] == "bad-magic"
    assert body["head_hex"].startswith("7b 27 6e 6f 74")
    text = "\n".join(record_lines(data))
    assert "body       does not decode (bad-magic): not an Avro single-object value" in text
    assert "first 15 of 15 bytes: 7b 27" in text


def test_list_prints_a_row_per_record_marks_replayed_ones_and_counts_reasons() -> None:
    records = [read_dead_letter(dlq(0, OUT.value, "unknown-recipient"))]
    lines = list_lines(records, {"lt.dlq[0]@0"}, total=5, matching=3)
    assert lines[0].split() == [
        "P:OFFSET",
        "DLQ",
        "AT",
        "(UTC)",
        "REASON",
        "STAGE",
        "EVENT",
        "ID",
        "SENDER",
        "SOURCE",
    ]
    assert lines[1].split()[:5] == [
        "0:0",
        "2026-11-26",
        "08:30:17.123",
        "unknown-recipient",
        "router",
    ]
    assert lines[1].endswith("lt.inbound[2]@40  (replayed)")
    assert lines[-1] == "3 of 5 DLQ records match; 1 shown of 3 matching"
    assert summary_line({"unknown-recipient": 2, "bad-magic": 1}) == (
        "by reason: unknown-recipient 2, bad-magic 1"
    )
    data = dead_letter_json(records[0], replayed=True)
    assert data["source"] == "lt.inbound[2]@40"
    assert data["dlq_at"] == "2026-11-26T08:30:17.123Z"


def test_replay_lines_say_what_was_published_and_what_was_skipped() -> None:
    records = [
        read_dead_letter(dlq(0, OUT.value, "unknown-recipient")),
        read_dead_letter(dlq(1, b"", "empty-value")),
    ]
    plan = plan_replay(records, ReplayLog(), inbound="lt.inbound", endpoint_of=lambda _: "vpcp")
    lines = replay_lines(plan, dry_run=True)
    assert lines[0] == f"would replay 0:0  unknown-recipient  {OUT.event_id}  -> lt.inbound"
    assert lines[1] == "skipped      0:1  empty value: nothing to publish again"
    assert (
        lines[2] == "1 would replay, 0 already replayed, 1 skipped; dry run: nothing was published"
    )


def test_redelivery_ranges_start_at_the_time_and_end_at_the_captured_end() -> None:
    ranges = plan_ranges({0: 10, 1: -1, 2: 99}, {0: 50, 1: 30, 2: 40})
    assert ranges == {0: (10, 50), 1: (30, 30), 2: (40, 40)}
    parts = [PartitionRedelivery(0, 10, 50, 37, 2, 1), PartitionRedelivery(1, 30, 30, 0)]
    assert redelivery_lines(parts, dry_run=False) == [
        (
            "partition 0: offsets 10 to 50 (end), 37 re-delivered;"
            " left out: 2 after --until, 1 repeated event ids"
        ),
        "partition 1: no record since then",
        "37 records re-delivered",
    ]


def test_copies_stop_at_until_and_carry_each_event_once() -> None:
    def env(partition: int, offset: int, event: bytes | None, stamped: int) -> Envelope:
        headers = ((h.EVENT_ID, event),) if event is not None else ()
        return Envelope("lt.deliver.x", partition, offset, None, b"v", headers, stamped)

    records = [
        env(0, 0, b"e1", 100),
        env(0, 1, b"e2", 300),  # after --until
        env(0, 2, b"e3", 150),  # stamped earlier than the record before it: still copied
        env(1, 0, b"e1", 160),  # an earlier replay's copy of e1
        env(1, 1, None, 170),  # not ours: no event id, copied as it is
        env(1, 2, None, 180),
    ]
    tally = Tally()
    copied = [(e.partition, e.offset) for e in select_copies(records, 200, tally)]
    assert copied == [(0, 0), (0, 2), (1, 1), (1, 2)]
    assert (tally.late, tally.repeated) == ({0: 1}, {1: 1})
