"""The audit after the faults: every topic read to its end, every store, against the inbound topic.

The inbound topic (read_committed) is the record of what was really published: an event
retried after an ambiguous answer, or a receipt re-sent by an outbox relay killed between
publishing and marking it sent, is there twice under the same (sender, event id), and that is
allowed. What is not: a delivery topic holding an event more (doubled) or fewer (lost) times
than the inbound topic holds it, an event on a topic it was not routed to, a store missing an
event its endpoint was sent or holding one it was not, a document the API accepted that never
reached Kafka, a dead letter missing or doubled. Identity is the contract's (sender, event id).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import psycopg
from confluent_kafka import Consumer, KafkaError, TopicPartition

from chaos.load import Offered
from chaos.world import TARGET_ENDPOINTS, World
from lienthong.contract import headers as h
from lienthong.plumbing.settings import KafkaSettings
from lienthong.router.records import rejection_event_id
from tests.support.kafka import unique_name
from tests.support.router import client_config

EventKey = tuple[str, str]  # (sender, event id)


@dataclass(frozen=True, slots=True)
class Record:
    """What the audit needs of one record: who sent which event, of what type, with what key."""

    sender: str
    event_id: str
    event_type: str
    key: str

    @property
    def identity(self) -> EventKey:
        """Return the contract's identity of the event."""
        return (self.sender, self.event_id)


def read_to_end(
    kafka: KafkaSettings, topics: Sequence[str], config: Mapping[str, str] | None = None
) -> dict[str, list[Record]]:
    """Read every committed record of `topics` from the beginning to the end of each partition."""
    consumer = Consumer(
        {
            **client_config(kafka),
            "group.id": unique_name("chaos-audit"),
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            **(config or {}),
        }
    )
    try:
        metadata = consumer.list_topics(timeout=30)
        partitions = [
            TopicPartition(t, p, 0) for t in topics for p in metadata.topics[t].partitions
        ]
        consumer.assign(partitions)
        pending = {(tp.topic, tp.partition) for tp in partitions}
        got: dict[str, list[Record]] = {t: [] for t in topics}
        while pending:
            for message in consumer.consume(1000, 1.0):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        pending.discard((message.topic() or "", message.partition() or 0))
                        continue
                    raise RuntimeError(f"audit read failed: {error.str()}")
                headers = message.headers() or []
                pairs = headers.items() if isinstance(headers, dict) else headers
                got[message.topic() or ""].append(_record(pairs, message.key()))
        return got
    finally:
        consumer.close()


def _record(headers: Iterable[tuple[str, bytes | str | None]], key: bytes | None) -> Record:
    found = {k: (v.decode() if isinstance(v, bytes) else v or "") for k, v in headers}
    return Record(
        found.get(h.SENDER, ""),
        found.get(h.EVENT_ID, ""),
        found.get(h.EVENT_TYPE, ""),
        (key or b"").decode(errors="replace"),
    )


@dataclass(frozen=True, slots=True)
class Audit:
    """Every count the report prints; `ok` when nothing was lost, doubled or misplaced."""

    documents_accepted: int
    unroutable_published: int
    inbound_events: int
    republished: dict[str, int]  # event type -> events on inbound more than once
    expected_copies: int
    delivered_copies: int
    lost_on_wire: int
    doubled_on_wire: int
    misrouted: int
    never_published: int
    lost_in_stores: int
    unexpected_in_stores: int
    receipts_expected: int
    receipts_stored: int
    dlq_expected: int
    dlq_found: int
    dlq_exact: bool

    @property
    def ok(self) -> bool:
        """Tell whether the run lost, doubled or misplaced nothing."""
        return (
            self.lost_on_wire == self.doubled_on_wire == self.misrouted == 0
            and self.never_published == self.lost_in_stores == self.unexpected_in_stores == 0
            and self.receipts_stored == self.receipts_expected
            and self.dlq_exact
        )

    def as_dict(self) -> dict[str, object]:
        """Return the counts as plain data (for JSON)."""
        return {**asdict(self), "ok": self.ok}


def expected_endpoints(record: Record, world: World, offered: Offered) -> frozenset[str]:
    """Return the endpoints an inbound record must reach (none: the DLQ)."""
    if record.event_type == "document":
        return frozenset(TARGET_ENDPOINTS) if record.event_id in offered.documents else frozenset()
    # A status goes to the sender of the document it answers: the key is its document id,
    # `OrganId,yyyy/MM/dd,Number/Notation`.
    return frozenset({world.endpoint_of(record.key.split(",", 1)[0])})


def store_events(url: str) -> tuple[set[EventKey], int]:
    """Return a store's (sender, event id) pairs and its receipts (status 01) by pair."""
    with psycopg.connect(url) as conn:
        events = {
            (str(s), str(e)) for s, e in conn.execute("select sender, event_id from lt_events")
        }
        receipts = conn.execute(
            "select count(*) from (select distinct document_id, from_organ from lt_statuses"
            " where status_code = '01') as pairs"
        ).fetchone()
    return events, int(receipts[0]) if receipts else 0


def run_audit(world: World, offered: Offered, config: Mapping[str, str] | None = None) -> Audit:
    """Read every topic and store of the run and compare them with the inbound topic."""
    topics = world.settings.topics
    endpoints = {e: world.delivery_topic(e) for e in world.stores}
    read = read_to_end(
        world.settings.kafka, [topics.inbound, topics.dlq, *endpoints.values()], config
    )
    inbound = Counter(r.identity for r in read[topics.inbound])
    by_identity = {r.identity: r for r in read[topics.inbound]}
    delivered = {e: Counter(r.identity for r in read[topic]) for e, topic in endpoints.items()}
    dlq = Counter(r.identity for r in read[topics.dlq])

    # What the router itself writes: a Status 02 to the sender of each dead-lettered document,
    # straight to the sender's delivery topic, once per inbound copy of that document.
    wanted = Counter(inbound)
    unroutable = {i for i in inbound if not expected_endpoints(by_identity[i], world, offered)}
    axis = world.settings.router.axis_organ_id
    for identity in unroutable:
        answer = (axis, str(rejection_event_id(identity[1])))
        wanted[answer] += inbound[identity]
        by_identity[answer] = Record(axis, answer[1], "status", by_identity[identity].key)

    expected_copies = lost = doubled = misrouted = 0
    expected_at: dict[str, set[EventKey]] = {e: set() for e in endpoints}
    for identity, times in wanted.items():
        targets = expected_endpoints(by_identity[identity], world, offered)
        for endpoint, copies in delivered.items():
            got = copies.get(identity, 0)
            if endpoint in targets:
                expected_copies += times
                expected_at[endpoint].add(identity)
                lost += max(0, times - got)
                doubled += max(0, got - times)
            else:
                misrouted += got
    for copies in delivered.values():  # on a topic, and in nothing that was published
        misrouted += sum(n for identity, n in copies.items() if identity not in wanted)
    republished = Counter(by_identity[i].event_type for i, n in inbound.items() if n > 1)
    published_ids = {event_id for _, event_id in inbound}
    accepted = set(offered.documents) | set(offered.unroutable)

    lost_stored = unexpected = receipts = 0
    for endpoint, url in world.stores.items():
        stored, pairs = store_events(url)
        lost_stored += len(expected_at[endpoint] - stored)
        unexpected += len(stored - expected_at[endpoint])
        receipts += pairs
    dlq_expected = sum(inbound[i] for i in unroutable)
    return Audit(
        documents_accepted=len(offered.documents),
        unroutable_published=len(offered.unroutable),
        inbound_events=len(inbound),
        republished=dict(republished),
        expected_copies=expected_copies,
        delivered_copies=sum(sum(c.values()) for c in delivered.values()),
        lost_on_wire=lost,
        doubled_on_wire=doubled,
        misrouted=misrouted,
        never_published=len(accepted - published_ids),
        lost_in_stores=lost_stored,
        unexpected_in_stores=unexpected,
        receipts_expected=len(offered.documents) * len(world.recipients),
        receipts_stored=receipts,
        dlq_expected=dlq_expected,
        dlq_found=sum(dlq.values()),
        dlq_exact=dlq == Counter({i: inbound[i] for i in unroutable}),
    )
