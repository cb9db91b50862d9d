"""The exactly-once fan-out loop: a batch's copies and its offsets commit in one transaction.

Each batch is one Kafka transaction holding every delivery copy, dead letter and rejection
status the batch produced, and the consumer offsets just past it (`send_offsets_to_transaction`
with the group's metadata, so a zombie from an older generation is fenced). Readers use
read_committed, so they see all of a batch or none of it. When the transaction cannot commit
it is aborted and the consumer is rewound to the committed offsets: the batch is processed
again, and since nothing of the aborted attempt is visible, nothing is delivered twice.

The loop never waits on librdkafka past a deadline: the producer's calls run on a thread of
their own (`transactor`), and a call that does not return, or a fatal error, makes the loop
replace its clients (`clients`) and carry on from the committed offsets.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from lienthong.contract.codec import Codec
from lienthong.directory.live import DirectoryHolder
from lienthong.directory.model import Directory
from lienthong.plumbing.backoff import capped_backoff
from lienthong.plumbing.consuming import Assignment, consume_batch, next_offsets, usable
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.health import OK, Heartbeat
from lienthong.plumbing.kafka_confluent import envelope_of
from lienthong.plumbing.lag import LagMonitor
from lienthong.plumbing.settings import RouterSettings, TopicSettings
from lienthong.router.clients import Clients, Generation, RebuildLimits
from lienthong.router.decide import Decision, Rejected, Routed, Router
from lienthong.router.metrics import RouterMetrics
from lienthong.router.records import (
    OutRecord,
    copies,
    dead_letter,
    oversized,
    rejection_status,
    routed_at_header,
)
from lienthong.router.transactor import ClientsBroken, kafka_error

log = structlog.get_logger("lienthong.router")

_MAX_BACKOFF_S = 5.0


class RouterLoop:
    """Route inbound records to delivery topics, one transaction per batch."""

    def __init__(
        self,
        *,
        new_consumer: Callable[[], Consumer],
        new_producer: Callable[[], Producer],
        router: Router,
        directory: DirectoryHolder,
        codec: Codec,
        settings: RouterSettings,
        topics: TopicSettings,
        metrics: RouterMetrics,
        lag: LagMonitor | None = None,
        limits: RebuildLimits | None = None,
        heartbeat: Heartbeat | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._router = router
        self._directory = directory
        self._codec = codec
        self._settings = settings
        self._topics = topics
        self._metrics = metrics
        self._clock = clock
        self._known_topics: set[str] = set()
        self._failures = 0
        self._lag = lag
        self.heartbeat = heartbeat or Heartbeat()
        # Beats when a batch commits or there is nothing to route: its age is how long the
        # loop has made no progress while there may be work (readiness, lienthong_router_blocked).
        self.progress = Heartbeat()
        self.assignment = Assignment(
            settings.group_id, rebalances=metrics.rebalances, owned=metrics.assigned
        )
        self.clients = Clients(
            new_consumer=new_consumer,
            new_producer=new_producer,
            subscribe=self._subscribe,
            retire=self._retire,
            metrics=metrics,
            heartbeat=self.heartbeat,
            limits=limits or RebuildLimits(),
        )
        self._axis = {
            "organ_id": settings.axis_organ_id,
            "organ_name": settings.axis_organ_name,
        }
        metrics.blocked.set_function(lambda: 0.0 if self.routing_check() == OK else 1.0)
        metrics.progress_age.set_function(self._progress_age)

    def run(self, stop: threading.Event) -> None:
        """Route until `stop` is set, then finish the batch at hand and leave the group.

        Raises RouterGaveUp when replacing broken clients keeps failing.
        """
        if self._lag is not None:
            self._lag.start(stop)
        generation = self.clients.connect(stop)
        if generation is None:
            return
        self.progress.beat()
        log.info("router_started", inbound=self._topics.inbound, group=self._settings.group_id)
        try:
            while not stop.is_set():
                self.heartbeat.beat()
                self._directory.maybe_reload()
                try:
                    self._step(generation, stop)
                except ClientsBroken as broken:
                    rebuilt = self.clients.rebuild(generation, broken, stop)
                    if rebuilt is None:
                        return
                    generation = rebuilt
        finally:
            self.clients.retire(generation)
            log.info("router_stopped")

    def _step(self, generation: Generation, stop: threading.Event) -> None:
        """Read one batch and route it; beat `progress` when there was nothing to do."""
        messages = consume_batch(
            generation.consumer,
            self._settings.batch_max_records,
            self._settings.batch_max_ms / 1000,
            self.assignment,
        )
        try:
            envelopes = [
                envelope_of(m)
                for m in messages
                if usable(m, logger="lienthong.router", event="router_consume_error")
            ]
        except KafkaException as exc:  # a fatal consumer error, e.g. fenced by a newer member
            raise ClientsBroken("fatal-error", kafka_error(exc).str()) from exc
        if envelopes:
            self._batch(generation, envelopes, stop)
        else:
            self.progress.beat()
        generation.transactor.poll()  # serves the producer's statistics callback

    def _batch(
        self, generation: Generation, envelopes: list[Envelope], stop: threading.Event
    ) -> None:
        now = self._clock()
        directory = self._directory.current
        decisions = [(env, self._decide(env, directory)) for env in envelopes]
        outs = self._records(decisions, now)
        missing = self._missing_topics(generation, {out.topic for out in outs})
        if missing:
            log.error(
                "delivery_topics_missing",
                topics=sorted(missing),
                fix="run `lienthong topics apply` with the current directory",
            )
            self._retry_later(generation.consumer, envelopes, stop)
            return
        started = time.perf_counter()
        offsets = [TopicPartition(t, p, o) for (t, p), o in sorted(next_offsets(envelopes).items())]
        try:
            committed = generation.transactor.transact(
                outs,
                offsets,
                generation.consumer.consumer_group_metadata(),
                stop,
                self._commit_retrying,
            )
        except ClientsBroken:
            self._metrics.transactions.labels("aborted").inc()
            raise
        finally:
            self._metrics.transaction_seconds.observe(time.perf_counter() - started)
        if not committed:
            self._metrics.transactions.labels("aborted").inc()
            self._retry_later(generation.consumer, envelopes, stop)
            return
        self._metrics.transactions.labels("committed").inc()
        self._failures = 0
        self.progress.beat()
        self._count(decisions, now)

    def _progress_age(self) -> float:
        return self.progress.age_s()  # read late: a test may swap the clock

    def routing_check(self) -> str:
        """Readiness: "ok" unless routing waits on infrastructure or makes no progress."""
        if self._failures:
            return f"blocked: {self._failures} failed attempt(s) to route a batch, retrying"
        age = self.progress.age_s()
        if age > self._settings.stall_timeout_s:
            return (
                f"stalled: no batch committed and no idle poll for {age:.0f} s"
                f" (limit {self._settings.stall_timeout_s:.0f} s)"
            )
        return OK

    def _commit_retrying(self, attempt: int, error: str) -> None:
        log.warning("router_commit_retrying", error=error, attempt=attempt)
        self._failures = max(self._failures, 1)
        self.heartbeat.beat()  # waiting on the broker on purpose is not a hang

    def _decide(self, envelope: Envelope, directory: Directory) -> Decision:
        try:
            decision = self._router.decide(envelope, directory)
        except Exception as exc:  # a bug must not stop the line: dead-letter the record, loudly
            log.exception("router_unexpected_error", source=envelope.coordinates)
            return Rejected("unexpected-error", type(exc).__name__, str(exc))
        if isinstance(decision, Routed):
            return oversized(envelope, decision) or decision
        return decision

    def _records(self, decisions: list[tuple[Envelope, Decision]], now: float) -> list[OutRecord]:
        routed_at = routed_at_header(int(now * 1000))
        now_ms = int(now * 1000)
        outs: list[OutRecord] = []
        for envelope, decision in decisions:
            if isinstance(decision, Routed):
                outs.extend(copies(envelope, decision.deliveries, routed_at))
                continue
            outs.append(dead_letter(envelope, decision, self._topics.dlq, now_ms))
            status = rejection_status(
                self._codec, decision, self._axis, datetime.fromtimestamp(now, UTC)
            )
            if status is not None:
                outs.append(status)
        return outs

    def _missing_topics(self, generation: Generation, topics: set[str]) -> set[str]:
        unknown = topics - self._known_topics
        if not unknown:
            return set()
        try:
            present = generation.transactor.topics()
        except KafkaException as exc:
            log.warning("router_metadata_failed", error=kafka_error(exc).str())
            return unknown
        self._known_topics |= unknown & present
        return unknown - present

    def _retry_later(
        self, consumer: Consumer, envelopes: list[Envelope], stop: threading.Event
    ) -> None:
        """Rewind to the committed offsets and wait, longer each time, before trying again."""
        _rewind(consumer, envelopes)
        self._failures += 1
        delay = capped_backoff(self._failures, base_s=0.2, cap_s=_MAX_BACKOFF_S)
        self.heartbeat.beat()  # waiting on purpose is progress, not a hang
        stop.wait(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not cryptography

    def _count(self, decisions: list[tuple[Envelope, Decision]], now: float) -> None:
        """Count a committed batch: metrics say exactly what is visible downstream."""
        m = self._metrics
        m.batch_records.observe(len(decisions))
        # Summed per batch: a fan-out to 63 provinces is one increment per endpoint, not 63,
        # and a batch of 2,000 documents one increment of the routed counter, not 2,000.
        delivered: Counter[tuple[str, str]] = Counter()
        routed: Counter[str] = Counter()
        for envelope, decision in decisions:
            if isinstance(decision, Routed):
                kind = decision.event_type.value
                routed[kind] += 1
                delivered.update((kind, d.endpoint_id) for d in decision.deliveries)
                m.fanout.observe(len(decision.deliveries))
                m.event_age.observe(max(0.0, now - decision.occurred_at_ms / 1000))
                continue
            kind = decision.event_type.value if decision.event_type else "unknown"
            m.records.labels(kind, "dead_lettered").inc()
            m.dead_letters.labels(decision.reason).inc()
            if decision.notify is not None:
                m.rejections.inc()
            log.warning(
                "dead_lettered",
                reason=decision.reason,
                detail=decision.detail,
                event_id=decision.event_id,
                event_type=kind,
                sender=decision.sender,
                source=envelope.coordinates,
                status_02_to=decision.notify.endpoint_id if decision.notify else None,
            )
        for (kind, endpoint), count in delivered.items():
            m.deliveries.labels(kind, endpoint).inc(count)
        for kind, count in routed.items():
            m.records.labels(kind, "routed").inc(count)

    def _subscribe(self, consumer: Consumer, number: int) -> None:
        """Join the group with callbacks that ignore a retired generation's late calls."""

        def current() -> bool:
            return number == self.clients.number

        def on_assign(_: Consumer, partitions: list[TopicPartition]) -> None:
            if current():
                owned = self.assignment.assigned((tp.topic, tp.partition) for tp in partitions)
                _log_rebalance("assigned", partitions, owned)

        def on_revoke(_: Consumer, partitions: list[TopicPartition]) -> None:
            if current():
                owned = self.assignment.revoked((tp.topic, tp.partition) for tp in partitions)
                _log_rebalance("revoked", partitions, owned)

        def on_lost(_: Consumer, partitions: list[TopicPartition]) -> None:
            if current():
                owned = self.assignment.lost((tp.topic, tp.partition) for tp in partitions)
                _log_rebalance("lost", partitions, owned)

        consumer.subscribe(
            [self._topics.inbound], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost
        )

    def _retire(self, _number: int) -> None:
        """Forget what a retired generation owned: its successor is assigned afresh."""
        owned = self.assignment.owned
        if owned:
            self.assignment.lost(owned)


def _rewind(consumer: Consumer, envelopes: list[Envelope]) -> None:
    """Seek each partition back to the batch's first record: where the last commit left it.

    Local, with no broker call, so it works exactly when the broker is in trouble.
    """
    first: dict[tuple[str, int], int] = {}
    for env in envelopes:
        key = (env.topic, env.partition)
        first[key] = min(first.get(key, env.offset), env.offset)
    for (topic, partition), offset in first.items():
        # Revoked meanwhile: its new owner resumes from the committed offset.
        with contextlib.suppress(KafkaException):
            consumer.seek(TopicPartition(topic, partition, offset))


def _log_rebalance(kind: str, partitions: list[TopicPartition], owned: int) -> None:
    log.info(
        "router_rebalance", kind=kind, partitions=[tp.partition for tp in partitions], owned=owned
    )
