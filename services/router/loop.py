"""The exactly-once fan-out loop: a batch's copies and its offsets commit in one transaction.

Each batch is one Kafka transaction holding every delivery copy, dead letter and rejection
status the batch produced, and the consumer offsets just past it (`send_offsets_to_transaction`
with the group's metadata, so a zombie from an older generation is fenced). Readers use
read_committed, so they see all of a batch or none of it. When the transaction cannot commit
it is aborted and the consumer is rewound to the committed offsets: the batch is processed
again, and since nothing of the aborted attempt is visible, nothing is delivered twice.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from lienthong.contract.codec import Codec
from lienthong.directory.model import Directory
from lienthong.plumbing.backoff import capped_backoff
from lienthong.plumbing.consuming import Assignment, consume_batch, next_offsets, usable
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.health import OK, Heartbeat
from lienthong.plumbing.kafka_confluent import envelope_of, kafka_headers
from lienthong.plumbing.lag import LagGauge
from lienthong.plumbing.settings import RouterSettings, TopicSettings
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
from lienthong.router.reload import DirectoryHolder

log = structlog.get_logger("lienthong.router")

_TIMEOUT_S = 30.0
_MAX_BACKOFF_S = 10.0


class RouterLoop:
    """Route inbound records to delivery topics, one transaction per batch."""

    def __init__(
        self,
        *,
        consumer: Consumer,
        producer: Producer,
        router: Router,
        directory: DirectoryHolder,
        codec: Codec,
        settings: RouterSettings,
        topics: TopicSettings,
        metrics: RouterMetrics,
        heartbeat: Heartbeat | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._consumer = consumer
        self._producer = producer
        self._router = router
        self._directory = directory
        self._codec = codec
        self._settings = settings
        self._topics = topics
        self._metrics = metrics
        self._clock = clock
        self._known_topics: set[str] = set()
        self._failures = 0
        self._lag = LagGauge(metrics.lag)
        self.heartbeat = heartbeat or Heartbeat()
        self.assignment = Assignment(
            settings.group_id, rebalances=metrics.rebalances, owned=metrics.assigned, lag=self._lag
        )
        self._axis = {
            "organ_id": settings.axis_organ_id,
            "organ_name": settings.axis_organ_name,
        }

    def run(self, stop: threading.Event) -> None:
        """Route until `stop` is set, then finish the batch at hand and leave the group."""
        self._consumer.subscribe(
            [self._topics.inbound],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        # Aborts whatever a killed predecessor with the same transactional.id left open.
        self._producer.init_transactions(_TIMEOUT_S)
        log.info("router_started", inbound=self._topics.inbound, group=self._settings.group_id)
        try:
            while not stop.is_set():
                self.heartbeat.beat()
                self._directory.maybe_reload()
                messages = consume_batch(
                    self._consumer,
                    self._settings.batch_max_records,
                    self._settings.batch_max_ms / 1000,
                    self.assignment,
                )
                if messages:
                    self._batch(messages, stop)
                self._lag.update(self._consumer)
                self._producer.poll(0)  # serves the producer's statistics callback
        finally:
            self._consumer.close()
            log.info("router_stopped")

    def _batch(self, messages: Sequence[Message], stop: threading.Event) -> None:
        envelopes = [
            envelope_of(m)
            for m in messages
            if usable(m, logger="lienthong.router", event="router_consume_error")
        ]
        if not envelopes:
            return
        now = self._clock()
        directory = self._directory.current
        decisions = [(env, self._decide(env, directory)) for env in envelopes]
        outs = self._records(decisions, now)
        missing = self._missing_topics({out.topic for out in outs})
        if missing:
            log.error(
                "delivery_topics_missing",
                topics=sorted(missing),
                fix="run `lienthong topics apply` with the current directory",
            )
            self._retry_later(envelopes, stop)
            return
        started = time.perf_counter()
        offsets = [TopicPartition(t, p, o) for (t, p), o in sorted(next_offsets(envelopes).items())]
        committed = self._transact(outs, offsets, stop)
        self._metrics.transaction_seconds.observe(time.perf_counter() - started)
        if not committed:
            self._retry_later(envelopes, stop)
            return
        self._failures = 0
        self._metrics.blocked.set(0)
        self._count(decisions, now)

    def routing_check(self) -> str:
        """Readiness: "ok" unless routing waits on infrastructure (lienthong_router_blocked)."""
        if self._failures == 0:
            return OK
        return f"blocked: {self._failures} failed attempt(s) to route a batch, retrying"

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

    def _transact(
        self, outs: list[OutRecord], offsets: list[TopicPartition], stop: threading.Event
    ) -> bool:
        """Produce `outs` and commit `offsets` in one transaction; False if it did not commit."""
        producer = self._producer
        try:
            producer.begin_transaction()
            for out in outs:
                self._produce(out)
            producer.send_offsets_to_transaction(
                offsets, self._consumer.consumer_group_metadata(), _TIMEOUT_S
            )
            if not self._commit(stop):
                return False
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.fatal():
                log.exception("router_transaction_fatal", error=error.str())
                raise
            log.warning("router_transaction_aborted", error=error.str(), records=len(outs))
            try:
                producer.abort_transaction(_TIMEOUT_S)
            except KafkaException as abort_exc:
                if abort_exc.args[0].fatal():
                    raise
            self._metrics.transactions.labels("aborted").inc()
            return False
        else:
            self._metrics.transactions.labels("committed").inc()
            return True

    def _commit(self, stop: threading.Event) -> bool:
        """Commit, retrying a retriable failure for as long as it takes; False if told to stop.

        A commit that timed out may have landed: librdkafka resumes it on the next call, and
        neither abort nor a new transaction is allowed meanwhile, so the only way on is to call
        commit again. Stopping instead leaves the transaction to the broker: the next router
        with this transactional id aborts it at start unless it committed, and either way each
        record is delivered once.
        """
        attempt = 0
        while True:
            try:
                self._producer.commit_transaction(_TIMEOUT_S)
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if not error.retriable():
                    raise
                attempt += 1
                self._metrics.blocked.set(1)
                log.warning("router_commit_retrying", error=error.str(), attempt=attempt)
                self.heartbeat.beat()  # waiting on the broker on purpose is not a hang
                if stop.wait(capped_backoff(attempt, base_s=0.1, cap_s=_MAX_BACKOFF_S)):
                    log.warning("router_commit_unresolved_at_stop", attempts=attempt)
                    return False
            else:
                return True

    def _produce(self, out: OutRecord) -> None:
        headers = kafka_headers(out.headers)
        while True:
            try:
                self._producer.produce(out.topic, out.value, out.key, headers=headers)
            except BufferError:  # the local queue is full: let librdkafka drain it
                self._producer.poll(0.1)
            else:
                return

    def _missing_topics(self, topics: set[str]) -> set[str]:
        unknown = topics - self._known_topics
        if not unknown:
            return set()
        try:
            present = set(self._producer.list_topics(timeout=10).topics)
        except KafkaException as exc:
            log.warning("router_metadata_failed", error=str(exc.args[0]))
            return unknown
        self._known_topics |= unknown & present
        return unknown - present

    def _retry_later(self, envelopes: list[Envelope], stop: threading.Event) -> None:
        """Rewind to the committed offsets and wait, longer each time, before trying again."""
        self._metrics.blocked.set(1)
        self._rewind(envelopes)
        self._failures += 1
        delay = capped_backoff(self._failures, base_s=0.2, cap_s=_MAX_BACKOFF_S)
        self.heartbeat.beat()  # waiting on purpose is progress, not a hang
        stop.wait(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not cryptography

    def _rewind(self, envelopes: list[Envelope]) -> None:
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
                self._consumer.seek(TopicPartition(topic, partition, offset))

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

    def _on_assign(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        owned = self.assignment.assigned((tp.topic, tp.partition) for tp in partitions)
        _log_rebalance("assigned", partitions, owned)

    def _on_revoke(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        owned = self.assignment.revoked((tp.topic, tp.partition) for tp in partitions)
        _log_rebalance("revoked", partitions, owned)

    def _on_lost(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        owned = self.assignment.lost((tp.topic, tp.partition) for tp in partitions)
        _log_rebalance("lost", partitions, owned)


def _log_rebalance(kind: str, partitions: list[TopicPartition], owned: int) -> None:
    log.info(
        "router_rebalance", kind=kind, partitions=[tp.partition for tp in partitions], owned=owned
    )
