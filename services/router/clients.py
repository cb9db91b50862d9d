"""The router's Kafka clients, one generation at a time: connected, and when broken, replaced.

A generation is the consumer and the transactional producer the loop uses together. It is
replaced whole when a call on it was abandoned or failed fatally (`ClientsBroken`): the old
producer's thread is abandoned (it may still be blocked in librdkafka, which owns it until the
call returns), the old consumer is closed in the background, and a new producer with the same
transactional id calls `init_transactions`, which fences the old one and completes or aborts
whatever transaction it left open. Only then does a new consumer join the group (the same
`group.instance.id`, so the broker hands it the old member's partitions at once) and read from
the committed offsets. Nothing of an unfinished transaction is visible to read_committed
readers, and its records are routed again: exactly once still holds.

Rebuilding is the plan, a supervisor's restart the last resort: `RouterGaveUp` (exit non-zero)
only when more than `max_abandoned` abandoned threads are still stuck, or more than
`max_rebuilds` rebuilds happened within `rebuild_window_s` (say, another process with the same
transactional id keeps fencing this one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from confluent_kafka import Consumer, KafkaException, Producer

from lienthong.plumbing.backoff import capped_backoff
from lienthong.plumbing.bounded import Abandoned
from lienthong.plumbing.budget import RebuildBudget
from lienthong.plumbing.health import Heartbeat
from lienthong.router.metrics import RouterMetrics
from lienthong.router.transactor import ClientsBroken, Transactor, kafka_error

log = structlog.get_logger("lienthong.router")

_CLOSE_WAIT_S = 10.0
_MAX_INIT_BACKOFF_S = 5.0


class RouterGaveUp(RuntimeError):
    """Rebuilding the clients keeps failing: exit and let a supervisor restart the process."""


@dataclass(frozen=True, slots=True)
class Generation:
    """The consumer and transactional producer used together, numbered from 1."""

    number: int
    consumer: Consumer
    transactor: Transactor


@dataclass(frozen=True, slots=True)
class RebuildLimits:
    """When rebuilding is no longer the answer."""

    call_timeout_s: float = 10.0
    produce_timeout_s: float = 30.0
    grace_s: float = 5.0  # how much longer than its own timeout a call may take
    max_abandoned: int = 4
    max_rebuilds: int = 10
    rebuild_window_s: float = 600.0


class Clients:
    """Build generations of clients; replace a broken one; give up when that keeps failing."""

    def __init__(
        self,
        *,
        new_consumer: Callable[[], Consumer],
        new_producer: Callable[[], Producer],
        subscribe: Callable[[Consumer, int], None],
        retire: Callable[[int], None],
        metrics: RouterMetrics,
        heartbeat: Heartbeat,
        limits: RebuildLimits,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._new_consumer = new_consumer
        self._new_producer = new_producer
        self._subscribe = subscribe
        self._retire = retire
        self._metrics = metrics
        self._heartbeat = heartbeat
        self._limits = limits
        self._rebuilds = RebuildBudget(limits.max_rebuilds, limits.rebuild_window_s, clock)
        self.abandoned = Abandoned()
        self.number = 0  # of the newest generation; rebalance callbacks of older ones are stale
        metrics.abandoned_clients.set_function(self.abandoned.count)

    def connect(self, stop: threading.Event) -> Generation | None:
        """Build a generation: producer initialised first, then the consumer; None if stopped."""
        failed = 0
        while not stop.is_set():
            if failed and stop.wait(capped_backoff(failed, base_s=0.5, cap_s=_MAX_INIT_BACKOFF_S)):
                return None
            self.number += 1
            transactor = Transactor(
                self._new_producer(),
                name=f"router-producer-{self.number}",
                call_timeout_s=self._limits.call_timeout_s,
                produce_timeout_s=self._limits.produce_timeout_s,
                grace_s=self._limits.grace_s,
            )
            try:
                if not self._init(transactor, stop):
                    transactor.thread.abandon()
                    return None
            except ClientsBroken as broken:
                log.error(  # noqa: TRY400 - the detail is the broker's answer; no traceback
                    "router_init_failed",
                    reason=broken.reason,
                    detail=broken.detail,
                    generation=self.number,
                )
                self._give_up_producer(transactor)
                self._count(broken)
                failed += 1
                continue
            consumer = self._new_consumer()
            self._subscribe(consumer, self.number)
            return Generation(self.number, consumer, transactor)
        return None

    def rebuild(
        self, old: Generation, broken: ClientsBroken, stop: threading.Event
    ) -> Generation | None:
        """Give `old` up and connect a new generation (raise RouterGaveUp past the limits)."""
        log.error(
            "router_clients_rebuilding",
            reason=broken.reason,
            detail=broken.detail,
            generation=old.number,
            abandoned_stuck=self.abandoned.count(),
        )
        self.retire(old)
        self._count(broken)
        generation = self.connect(stop)
        if generation is not None:
            log.info("router_clients_rebuilt", generation=generation.number)
        return generation

    def retire(self, generation: Generation) -> None:
        """Give a generation up: its producer thread abandoned, its consumer closed aside."""
        self._retire(generation.number)
        self._give_up_producer(generation.transactor)
        closing = threading.Thread(
            target=_close, args=(generation.consumer,), name="router-consumer-close", daemon=True
        )
        closing.start()
        closing.join(_CLOSE_WAIT_S)  # a close that hangs is left behind, like a stuck call

    def _init(self, transactor: Transactor, stop: threading.Event) -> bool:
        """Call init_transactions until it succeeds (the broker may be away); False if stopped."""
        attempt = 0
        while True:
            try:
                transactor.init()
            except KafkaException as exc:
                error = kafka_error(exc)
                if error.fatal() or not error.retriable():
                    raise ClientsBroken("fatal-error", error.str()) from exc
                attempt += 1
                delay = capped_backoff(attempt, base_s=0.2, cap_s=_MAX_INIT_BACKOFF_S)
                log.warning("router_init_retrying", attempt=attempt, error=error.str())
                self._heartbeat.beat()  # waiting for the broker is the job now, not a hang
                if stop.wait(delay):
                    return False
            else:
                return True

    def _give_up_producer(self, transactor: Transactor) -> None:
        transactor.thread.abandon()
        if transactor.thread.stuck:
            self.abandoned.add(transactor.thread)

    def _count(self, broken: ClientsBroken) -> None:
        """Count a rebuild; raise RouterGaveUp past the limits."""
        self._metrics.rebuilds.labels(broken.reason).inc()
        within = self._rebuilds.spend()
        stuck = self.abandoned.count()
        if stuck > self._limits.max_abandoned:
            raise RouterGaveUp(
                f"{stuck} abandoned Kafka clients are still blocked in librdkafka (limit"
                f" {self._limits.max_abandoned}); last failure: {broken}"
            )
        if not within:
            raise RouterGaveUp(
                f"{self._rebuilds.used()} client rebuilds within"
                f" {self._limits.rebuild_window_s:.0f} s (limit {self._limits.max_rebuilds});"
                f" last failure: {broken}. If it says 'fenced', another router may run with"
                " the same LIENTHONG_ROUTER_INSTANCE_ID."
            )


def _close(consumer: Consumer) -> None:
    try:
        consumer.close()
    except (KafkaException, RuntimeError) as exc:  # already closed, or the broker is away
        log.info("router_old_consumer_close_failed", error=str(exc))
