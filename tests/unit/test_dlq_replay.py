from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import uuid4

import pytest

from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType
from lienthong.operations.deadletters import DeadLetterRecord, read_dead_letter
from lienthong.operations.errors import NotFound, ReplayFailed
from lienthong.operations.replay import Selection, replay_dead_letters
from lienthong.operations.replay_log import Marker, Republish
from lienthong.plumbing.deadletter import dead_letter
from lienthong.plumbing.envelope import Envelope
from tests.support.router import CODEC

INBOUND = "lt.inbound"
DELIVERY = "lt.deliver.tinh-nghe-an"
EVERYTHING = Selection()
ROUTING = (h.recipients_header(["000.00.00.H41"]), (h.ROUTED_AT, b"1795681816000"))


def letter(
    offset: int,
    *,
    stage: str = "router",
    reason: str = "unknown-recipient",
    source: tuple[str, int, int] | None = None,
    value: bytes | None = None,
) -> DeadLetterRecord:
    """Return the DLQ record at `offset` of partition 0, as a stage writes it."""
    out = prepare(CODEC, EventType.DOCUMENT, examples.document(event_id=uuid4()))
    topic, partition, src_offset = source or (INBOUND, 1, 100 + offset)
    routing = ROUTING if stage == "consumer" else ()
    original = Envelope(
        topic,
        partition,
        src_offset,
        out.key,
        out.value if value is None else value,
        (*out.headers, *routing),
        0,
    )
    made = dead_letter(
        original, topic="lt.dlq", reason=reason, error="E", detail="d", stage=stage, at_ms=5
    )
    return read_dead_letter(
        Envelope("lt.dlq", 0, offset, made.key, made.value, tuple(made.headers), 5)
    )


@dataclass
class FakeCluster:
    """The DLQ, the replay log and the transactional publisher, sharing one event order."""

    dlq: list[DeadLetterRecord]
    log: list[Marker] = field(default_factory=list)
    published: list[Republish] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    fail_next_publish: bool = False

    def snapshot(self) -> Sequence[DeadLetterRecord]:
        self.calls.append("snapshot")
        return list(self.dlq)

    def markers(self) -> Sequence[Marker]:
        self.calls.append("markers")
        return list(self.log)

    def fence(self) -> None:
        self.calls.append("fence")

    def publish(self, copies: Sequence[Republish], markers: Sequence[Marker]) -> None:
        self.calls.append("publish")
        if self.fail_next_publish:  # an aborted transaction: neither copies nor markers
            self.fail_next_publish = False
            raise ReplayFailed("transaction aborted, nothing was published")
        self.published.extend(copies)
        self.log.extend(markers)

    def replay(
        self, selection: Selection = EVERYTHING, *, dry_run: bool = False
    ) -> tuple[list[Republish], list[str]]:
        before = len(self.published)
        plan = replay_dead_letters(
            selection,
            dead_letters=self,
            replay_log=self,
            publisher=self,
            inbound=INBOUND,
            endpoint_of=lambda topic: (
                topic.removeprefix("lt.deliver.") if topic.startswith("lt.deliver.") else None
            ),
            dry_run=dry_run,
            clock=lambda: 1795681900.0,
        )
        assert len(self.published) - before in (0, len(plan.republish))
        return list(plan.republish), [s.why for s in plan.skipped]


def test_a_router_dead_letter_goes_back_to_inbound_as_the_publisher_sent_it() -> None:
    record = letter(0)
    cluster = FakeCluster([record])
    republished, skipped = cluster.replay()
    assert skipped == []
    [item] = cluster.published
    assert item.topic == INBOUND
    assert item.key == record.envelope.key
    assert item.value == record.envelope.value
    names = [name for name, _ in item.headers]
    assert names == list(h.CONTRACT_HEADERS)  # no lt-dlq-*, lt-source-*, routing headers
    [marker] = cluster.log
    assert marker == Marker(
        "lt.dlq[0]@0",
        "lt.inbound[1]@100",
        INBOUND,
        record.event_id,
        "unknown-recipient",
        1795681900000,
    )
    assert republished == [item]


def test_a_consumer_dead_letter_goes_back_to_inbound_for_its_endpoint_only() -> None:
    record = letter(0, stage="consumer", reason="invalid-business", source=(DELIVERY, 1, 9))
    cluster = FakeCluster([record])
    cluster.replay()
    [item] = cluster.published
    assert item.topic == INBOUND  # only the router writes delivery topics: it checks it again
    endpoint = DELIVERY.removeprefix("lt.deliver.")
    assert item.headers[-1] == (h.REDELIVER_TO, endpoint.encode())
    assert not any(name in dict(ROUTING) for name, _ in item.headers)  # the router's word goes
    assert not any(name.startswith(("lt-dlq-", "lt-source-")) for name, _ in item.headers)


@pytest.mark.parametrize(
    ("record", "why"),
    [
        (letter(0, stage="consumer", source=("lt.inbound", 0, 1)), "is not a delivery topic"),
        (letter(0, stage="archiver"), "only router and consumer dead letters are replayed"),
        (letter(0, value=b""), "empty value"),
    ],
)
def test_records_with_nowhere_to_go_are_skipped_with_the_reason(
    record: DeadLetterRecord, why: str
) -> None:
    cluster = FakeCluster([record])
    republished, skipped = cluster.replay()
    assert republished == []
    assert len(skipped) == 1
    assert why in skipped[0]
    assert "publish" not in cluster.calls  # nothing to publish: no empty transaction either


def test_a_second_replay_publishes_nothing_and_says_already_replayed() -> None:
    cluster = FakeCluster([letter(0), letter(1), letter(2, reason="bad-magic")])
    first, _ = cluster.replay(Selection(reasons=frozenset({"unknown-recipient"})))
    assert len(first) == 2
    second, skipped = cluster.replay(Selection(reasons=frozenset({"unknown-recipient"})))
    assert second == []
    assert skipped == [
        "already replayed (lt.dlq[0]@0 to lt.inbound at 2026-11-26 08:31:40.000 UTC)",
        "already replayed (lt.dlq[0]@1 to lt.inbound at 2026-11-26 08:31:40.000 UTC)",
    ]
    assert len(cluster.published) == 2


def test_the_fence_comes_before_the_log_is_read_and_a_dry_run_neither_fences_nor_publishes() -> (
    None
):
    cluster = FakeCluster([letter(0)])
    would, _ = cluster.replay(dry_run=True)
    assert len(would) == 1
    assert cluster.calls == ["markers", "snapshot"]
    assert cluster.published == []
    cluster.calls.clear()
    cluster.replay()
    assert cluster.calls == ["fence", "markers", "snapshot", "publish"]


def test_two_dead_letters_of_one_source_are_replayed_once() -> None:
    # The consumer's outbox may publish a dead letter twice; the archive and the endpoint's
    # consumer may both dead-letter one delivered record: one replay to the source covers them.
    src = (DELIVERY, 0, 55)
    cluster = FakeCluster(
        [letter(0, stage="consumer", source=src), letter(1, stage="consumer", source=src)]
    )
    republished, skipped = cluster.replay()
    assert [r.record.offset for r in republished] == [0]
    assert skipped == ["same source as lt.dlq[0]@0, replayed with it"]
    cluster.dlq.append(letter(2, stage="consumer", source=src))  # a late twin, another run
    again, skipped = cluster.replay()
    assert again == []
    assert skipped[-1].startswith("already replayed (lt.dlq[0]@0")


def test_an_aborted_transaction_leaves_no_marker_so_the_next_replay_publishes() -> None:
    cluster = FakeCluster([letter(0)], fail_next_publish=True)
    with pytest.raises(ReplayFailed):
        cluster.replay()
    assert cluster.log == []
    republished, _ = cluster.replay()
    assert len(republished) == 1
    assert len(cluster.log) == 1


def test_offsets_select_records_and_a_missing_one_fails_before_anything_is_published() -> None:
    cluster = FakeCluster([letter(0), letter(1), letter(2)])
    republished, _ = cluster.replay(Selection(offsets=frozenset({(0, 2)})))
    assert [r.record.offset for r in republished] == [2]
    with pytest.raises(NotFound, match="no DLQ record at partition:offset 0:9, 1:0"):
        cluster.replay(Selection(offsets=frozenset({(0, 1), (0, 9), (1, 0)})))
    assert len(cluster.published) == 1


@pytest.mark.parametrize("raw", [None, b"", b"not json", b"[1, 2]", b'{"dlq": 3}', b"{}"])
def test_a_log_record_that_is_not_a_marker_is_ignored(raw: bytes | None) -> None:
    assert Marker.parse(raw) is None


def test_a_marker_of_another_version_still_counts_as_replayed() -> None:
    newer = b'{"dlq": "lt.dlq[0]@4", "target": "lt.inbound", "operator": "an", "replayed_at_ms": 9}'
    assert Marker.parse(newer) == Marker("lt.dlq[0]@4", None, "lt.inbound", None, "unknown", 9)
    assert Marker.parse(b'{"dlq": "lt.dlq[0]@4"}') == Marker(
        "lt.dlq[0]@4", None, "?", None, "unknown", -1
    )


def test_a_marker_round_trips_through_its_log_record() -> None:
    marker = Marker("lt.dlq[0]@3", None, INBOUND, None, "bad-magic", 7)
    assert marker.key() == b"lt.dlq[0]@3"
    assert Marker.parse(marker.value()) == marker
