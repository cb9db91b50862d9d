"""Fakes at the Subscriber's ports, and delivered records as the router writes them."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lienthong.contract import headers as h
from lienthong.contract.codec import Codec
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.plumbing.deadletter import DeadLetter
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.settings import KafkaSettings
from lienthong.subscriber import CommitPolicy, RetryPolicy, Subscriber
from lienthong.subscriber.events import DeadLetterFailed
from lienthong.subscriber.kafka import RevokeCallback, Subscription

CODEC = Codec(SchemaStore.from_package())
TOPIC = "lienthong.deliver.tinh-nghe-an"
FAST_RETRY = RetryPolicy(max_retries=2, initial_backoff_s=0.001, max_backoff_s=0.002)


def delivered(
    event_type: EventType,
    record: Mapping[str, Any],
    offset: int,
    *,
    partition: int = 0,
    codec: Codec = CODEC,
    recipients: str = "000.00.00.H41",
) -> Envelope:
    """Return the copy the router writes to a delivery topic: value, key, headers and its own."""
    out = prepare(codec, event_type, record)
    headers = [*out.headers, (h.RECIPIENTS, recipients.encode()), (h.ROUTED_AT, b"1795681816000")]
    return Envelope(TOPIC, partition, offset, out.key, out.value, tuple(headers), 0)


class FakeConsumer:
    """Hands out prepared batches, records commits; stops its subscriber when it runs dry."""

    def __init__(self, batches: Iterable[list[Envelope]]) -> None:
        self.batches = deque(batches)
        self.commits: list[dict[tuple[str, int], int]] = []
        self.closed = False
        self.on_revoked: RevokeCallback | None = None
        self.subscription: Subscription | None = None
        self.when_dry: Callable[[], None] = lambda: None
        self.before_poll: Callable[[], None] = lambda: None

    def factory(self, sub: Subscription, on_revoked: RevokeCallback) -> FakeConsumer:
        """Act as the Subscriber's consumer factory."""
        self.subscription, self.on_revoked = sub, on_revoked
        return self

    def poll(self, timeout_s: float, max_records: int) -> list[Envelope]:  # noqa: ARG002 - the port's
        """Return the next batch, or nothing once they are all handed out."""
        self.before_poll()
        if not self.batches:
            self.when_dry()
            return []
        return self.batches.popleft()

    def revoke(self, partitions: frozenset[tuple[str, int]]) -> None:
        """Take partitions away as a rebalance does, committing what the subscriber returns."""
        assert self.on_revoked is not None
        offsets = self.on_revoked(partitions)
        if offsets:
            self.commit(offsets)

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Record a commit."""
        self.commits.append(dict(offsets))

    def assignment(self) -> frozenset[tuple[str, int]]:
        """Return the one partition the fake pretends to own."""
        return frozenset({(TOPIC, 0)})

    def close(self) -> None:
        """Record the close."""
        self.closed = True

    def committed(self) -> dict[tuple[str, int], int]:
        """Return the latest committed offset per partition."""
        out: dict[tuple[str, int], int] = {}
        for commit in self.commits:
            out.update(commit)
        return out


class FakeDeadLetters:
    """Collects dead letters; fails the first `failures` sends like an unreachable broker."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[DeadLetter] = []
        self.failures = failures
        self.closed = False

    def factory(self, kafka: KafkaSettings) -> FakeDeadLetters:  # noqa: ARG002 - the factory's
        """Act as the Subscriber's dead-letter factory."""
        return self

    def send(self, letter: DeadLetter) -> None:
        """Record a dead letter, or fail."""
        if self.failures > 0:
            self.failures -= 1
            raise DeadLetterFailed("broker unavailable")
        self.sent.append(letter)

    def close(self) -> None:
        """Record the close."""
        self.closed = True


def fake_subscriber(
    consumer: FakeConsumer,
    dead_letters: FakeDeadLetters | None = None,
    *,
    group_id: str | None = "mof-workflow",
    commit: CommitPolicy | None = None,
    **kwargs: Any,
) -> Subscriber:
    """Build a Subscriber on fakes that stops once the consumer runs dry."""
    sub = Subscriber(
        TOPIC,
        group_id,
        retry=kwargs.pop("retry", FAST_RETRY),
        commit=commit or CommitPolicy(every=1000, interval_s=3600),
        consumer_factory=consumer.factory,
        dead_letter_factory=(dead_letters or FakeDeadLetters()).factory,
        **kwargs,
    )
    consumer.when_dry = sub.stop
    return sub


def header(letter: DeadLetter, name: str) -> str:
    """Return one header of a dead letter as text."""
    return dict(letter.headers)[name].decode()
