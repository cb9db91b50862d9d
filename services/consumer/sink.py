"""The sink loop: a Kafka batch becomes one database transaction holding its rows and offsets.

The database, not Kafka, holds this consumer's offsets: on every assignment the loop seeks to
the offsets the store committed with the rows, so a crash anywhere replays exactly the batches
whose transaction did not commit, and rows are idempotent by event id besides.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from lienthong.consumer.batching import Batcher, Dead, store_rejected
from lienthong.consumer.mapping import Receipts, Unmappable
from lienthong.consumer.metrics import ConsumerMetrics
from lienthong.consumer.rows import Mapped, PersistBatch
from lienthong.consumer.store.errors import StoreRejected, StoreUnavailable
from lienthong.consumer.store.model import Applied
from lienthong.contract.codec import Codec
from lienthong.plumbing.backoff import capped_backoff
from lienthong.plumbing.budget import RebuildBudget
from lienthong.plumbing.consuming import Assignment, consume_batch, next_offsets, usable
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.health import Heartbeat
from lienthong.plumbing.kafka_confluent import envelope_of
from lienthong.plumbing.lag import LagMonitor

log = structlog.get_logger("lienthong.consumer")

Callback = Callable[[Consumer, list[TopicPartition]], None]
_ADVISE_EVERY_S = 1.0


class Applies(Protocol):
    """The store operations the sink needs (the real Store, or a fake in unit tests)."""

    def apply(self, batch: PersistBatch) -> Applied:
        """Write one batch in one transaction; raise StoreUnavailable when unreachable."""
        ...

    def offsets(
        self, consumer: str, partitions: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        """Return the next offset to read per partition, for the partitions it knows."""
        ...


class SinkLoop:
    """Persist delivered records, batch by batch, exactly once."""

    def __init__(
        self,
        *,
        consumer: Consumer,
        store: Applies,
        codec: Codec,
        name: str,
        group: str,
        topics: Sequence[str],
        dlq_topic: str,
        receipts: Receipts | None,
        batch_max_records: int,
        batch_max_ms: int,
        max_backoff_s: float,
        metrics: ConsumerMetrics,
        on_committed: Callable[[], None] = lambda: None,
        lag: LagMonitor | None = None,
        heartbeat: Heartbeat | None = None,
        new_consumer: Callable[[], Consumer] | None = None,
        rebuilds: RebuildBudget | None = None,
    ) -> None:
        self._consumer = consumer
        self._new_consumer = new_consumer  # for a consumer that failed fatally; None: stop
        self._rebuilds = rebuilds or RebuildBudget(limit=5, window_s=600)
        self._generation = 0  # rebalance callbacks of a replaced consumer are stale
        self._advised_at = 0.0
        self._advise: dict[tuple[str, int], int] = {}
        self._store = store
        self._batcher = Batcher(name, codec, dlq_topic, receipts)
        self._name = name
        self._group = group
        self._topics = list(topics)
        self._batch_max = batch_max_records
        self._batch_s = batch_max_ms / 1000
        self._max_backoff = max_backoff_s
        self._metrics = metrics
        self._on_committed = on_committed
        self._lag = lag
        self._stop = threading.Event()
        self.heartbeat = heartbeat or Heartbeat()
        self.assignment = Assignment(
            self._group, rebalances=metrics.rebalances, owned=metrics.assigned
        )
        self.paused = False  # the database is unreachable; consumption waits for it
        metrics.start_endpoint_at_zero(name)

    def run(self, stop: threading.Event) -> None:
        """Persist until `stop` is set; the batch at hand is committed or left for next time."""
        self._stop = stop
        if self._lag is not None:
            self._lag.start(stop)
        self._subscribe()
        log.info("consumer_started", name=self._name, topics=self._topics)
        try:
            while not stop.is_set():
                self.heartbeat.beat()
                try:
                    messages = consume_batch(
                        self._consumer, self._batch_max, self._batch_s, self.assignment
                    )
                    envelopes = [envelope_of(m) for m in messages if _usable(m)]
                except KafkaException as exc:  # fatal: this client can do nothing more
                    self._rebuild(exc)
                    continue
                if envelopes and not stop.is_set():  # stopping: leave the batch for next time
                    self._persist(envelopes)
                self._flush_advice()  # also when idle: the last batches' positions go out
        finally:
            _close(self._consumer)
            log.info("consumer_stopped", name=self._name)

    def _subscribe(self) -> None:
        """Join the group with callbacks that ignore a replaced consumer's late calls."""
        generation = self._generation

        def current(callback: Callback) -> Callback:
            def guarded(consumer: Consumer, partitions: list[TopicPartition]) -> None:
                if generation == self._generation:
                    callback(consumer, partitions)

            return guarded

        self._consumer.subscribe(
            self._topics,
            on_assign=current(self._on_assign),
            on_revoke=current(self._on_revoke),
            on_lost=current(self._on_lost),
        )

    def _rebuild(self, exc: KafkaException) -> None:
        """Replace a consumer that failed fatally with a new one (same group.instance.id).

        The offsets are the database's: the new member seeks there on assignment, so nothing
        is skipped or read twice into the store. Seen: a static member fenced by its own
        advisory offset commit, sent before a broker outage and retried after the member had
        rejoined. Raises `exc` when there is no factory, or past the rebuild budget (another
        process with the same instance id keeps fencing this one).
        """
        error = str(exc.args[0] if exc.args else exc)
        if self._new_consumer is None or not self._rebuilds.spend():
            raise exc
        log.error(
            "consumer_rebuilding", name=self._name, error=error, rebuilds=self._rebuilds.used()
        )
        self._metrics.rebuilds.inc()
        old, self._consumer = self._consumer, self._new_consumer()
        self._generation += 1
        owned = self.assignment.owned
        if owned:
            self.assignment.lost(owned)
        closing = threading.Thread(target=_close, args=(old,), name="consumer-close", daemon=True)
        closing.start()
        closing.join(10.0)  # a close that hangs is left behind
        self._subscribe()

    def _persist(self, envelopes: list[Envelope], refused: Unmappable | None = None) -> bool:
        """Apply one batch in one transaction; wait out an unreachable store, never skip.

        Returns True once it committed, False if told to stop first (nothing committed: the
        next run reads the batch again). A batch the store refuses for a value it cannot hold
        (StoreRejected) would fail the same way on every retry: its records are then applied
        one by one, and the one refused is dead-lettered as `store-rejected` (`refused`) while
        the others are stored. Any other store error is not about a record and ends the loop.
        """
        batch, dead = self._batch(envelopes, refused)
        failures = 0
        started = time.perf_counter()
        while True:
            try:
                applied = self._store.apply(batch)
                break
            except StoreUnavailable as exc:
                failures += 1
                if not self._wait_for_store(exc, failures):
                    return False
                started = time.perf_counter()
                envelopes = self._still_owned(envelopes)
                batch, dead = self._batch(envelopes, refused)
            except StoreRejected as exc:
                self._store_answered(failures)
                failures = 0
                if refused is not None:
                    raise  # even its dead letter is refused: stop rather than skip it
                if len(envelopes) > 1:
                    log.warning(
                        "batch_refused_by_store",
                        name=self._name,
                        error=str(exc),
                        records=len(envelopes),
                    )
                    return self._one_by_one(envelopes)
                refused = store_rejected(exc, batch.items)
                batch, dead = self._batch(envelopes, refused)
        self._store_answered(failures)
        self._metrics.db_seconds.observe(time.perf_counter() - started)
        self._metrics.batch_records.observe(len(batch.items) + len(dead))
        self._count(batch.items, applied, dead)
        self._on_committed()
        self._advise_kafka(envelopes)
        return True

    def _advise_kafka(self, envelopes: list[Envelope]) -> None:
        """Commit the stored positions to Kafka too, for the ecosystem's lag tools.

        Advisory: the database holds the offsets this consumer resumes from (on every
        assignment it seeks there), so a commit that fails or comes late changes nothing but
        what `kafka-consumer-groups --describe` or a KEDA trigger shows. Asynchronous, after
        the database commit; failures are counted by the consumer's `on_commit` callback.
        """
        for partition, offset in next_offsets(envelopes).items():
            self._advise[partition] = max(offset, self._advise.get(partition, 0))
        self._flush_advice()

    def _flush_advice(self) -> None:
        """Send the pending advisory positions, at most once a second."""
        if not self._advise:
            return
        now = time.monotonic()
        if now - self._advised_at < _ADVISE_EVERY_S:
            return  # at most one in flight a second: fewer to be caught by a broker outage
        self._advised_at = now
        owned = self.assignment.owned
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._advise.items() if (t, p) in owned]
        self._advise.clear()
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:  # no group coordinator yet, say: the next batch tries
            self._metrics.kafka_commits.labels("failed").inc()
            log.debug("kafka_commit_failed", name=self._name, error=str(exc))

    def _one_by_one(self, envelopes: list[Envelope]) -> bool:
        """Apply records singly, in order, to find the one the store refuses; stop at a stop.

        Stopping (or a record not committed) ends the walk there: a later record committed
        would move the stored offset past an earlier one never stored.
        """
        for env in envelopes:
            if (env.topic, env.partition) not in self.assignment.owned:
                continue  # given up in a rebalance while we waited: its new owner reads it
            if self._stop.is_set() or not self._persist([env]):
                return False
        return True

    def _store_answered(self, failures: int) -> None:
        """Resume reading once the store answers again (after `failures` unreachable tries)."""
        if not failures and not self.paused:
            return
        log.info("database_available_again", name=self._name, attempts=failures)
        self.paused = False
        self._metrics.paused.set(0)
        self._consumer.resume(self._consumer.assignment())

    def _batch(
        self, envelopes: list[Envelope], refused: Unmappable | None = None
    ) -> tuple[PersistBatch, Dead]:
        return self._batcher.build(envelopes, datetime.now(UTC), refused)

    def _wait_for_store(self, exc: StoreUnavailable, failures: int) -> bool:
        """Pause consumption and wait a capped, jittered backoff; False if asked to stop."""
        assignment = self._consumer.assignment()
        self._consumer.pause(assignment)
        self.paused = True
        self._metrics.paused.set(1)
        self._metrics.retries.labels("database-unavailable").inc()
        jitter = random.uniform(0.5, 1.0)  # noqa: S311 - spreading retries, not cryptography
        delay = capped_backoff(failures, base_s=0.5, cap_s=self._max_backoff) * jitter
        log.warning(
            "database_unavailable",
            name=self._name,
            attempt=failures,
            retry_in_s=round(delay, 2),
            error=str(exc),
        )
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            self.heartbeat.beat()  # waiting for the database is the job now, not a hang
            if self._stop.is_set():
                return False
            # Keep polling so the group does not evict us; paused partitions deliver nothing,
            # and a partition assigned meanwhile is paused and rewound too.
            for message in self._consumer.consume(100, 0.2):
                if _usable(message):
                    env = envelope_of(message)
                    tp = TopicPartition(env.topic, env.partition, env.offset)
                    self._consumer.pause([tp])
                    self._consumer.seek(tp)
        return True

    def _still_owned(self, envelopes: list[Envelope]) -> list[Envelope]:
        owned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        return [e for e in envelopes if (e.topic, e.partition) in owned]

    def _count(self, items: Sequence[Mapped], applied: Applied, dead: Dead) -> None:
        now = time.time()
        events = self._metrics.events
        new = set(applied.new_event_ids)
        for item in items:
            kind = item.event.event_type
            if item.event.event_id not in new:
                # Seen before (a redelivery, a replay, or twice in this batch): its latency
                # was measured the first time.
                events.labels(self._name, kind, "duplicate").inc()
                continue
            new.discard(item.event.event_id)
            events.labels(self._name, kind, "persisted").inc()
            self._metrics.end_to_end.labels(kind).observe(
                max(0.0, now - item.event.occurred_at.timestamp())
            )
        for env, exc in dead:
            events.labels(self._name, exc.event_type, "dead_lettered").inc()
            self._metrics.dead_letters.labels(exc.reason).inc()
            log.warning(
                "dead_lettered",
                reason=exc.reason,
                detail=str(exc),
                event_id=exc.event_id,
                event_type=exc.event_type,
                sender=exc.sender,
                source=env.coordinates,
                name=self._name,
            )

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        failures = 0
        while True:
            try:
                stored = self._store.offsets(self._name, keys)
                break
            except StoreUnavailable as exc:
                failures += 1
                delay = capped_backoff(failures, base_s=0.5, cap_s=self._max_backoff)
                log.warning("database_unavailable_on_assign", attempt=failures, error=str(exc))
                self.heartbeat.beat()
                if self._stop.wait(delay):
                    stored = {}
                    break
        for tp in partitions:
            tp.offset = stored.get((tp.topic, tp.partition), OFFSET_BEGINNING)
        consumer.incremental_assign(partitions)
        self.assignment.assigned((tp.topic, tp.partition) for tp in partitions)
        log.info(
            "consumer_rebalance",
            kind="assigned",
            name=self._name,
            partitions=[f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in partitions],
        )

    def _on_revoke(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        self.assignment.revoked((tp.topic, tp.partition) for tp in partitions)
        self._forget("revoked", partitions)

    def _on_lost(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        self.assignment.lost((tp.topic, tp.partition) for tp in partitions)
        self._forget("lost", partitions)

    def _forget(self, kind: str, partitions: list[TopicPartition]) -> None:
        log.info(
            "consumer_rebalance",
            kind=kind,
            name=self._name,
            partitions=[f"{tp.topic}[{tp.partition}]" for tp in partitions],
        )


def _close(consumer: Consumer) -> None:
    try:
        consumer.close()
    except (KafkaException, RuntimeError) as exc:  # closed already, or fatally failed
        log.info("consumer_close_failed", error=str(exc))


def _usable(message: Message) -> bool:
    return usable(message, logger="lienthong.consumer", event="consumer_consume_error")
