"""The router's transactional producer, every call under a deadline on a thread of its own.

Each call is given the library timeout `call_timeout_s` and waited for at most that plus
`grace_s`: a librdkafka call that blocks past its own timeout (seen in
`send_offsets_to_transaction` after a broker restart) raises `CallAbandoned` here instead of
holding the loop, and the loop rebuilds its clients. A fatal error (`_FENCED` and the like)
raises `ClientsBroken` the same way: the producer can do nothing more, and a new one with the
same transactional id fences whatever the old one left.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import structlog
from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from lienthong.plumbing.backoff import capped_backoff
from lienthong.plumbing.bounded import CallAbandoned, CallThread
from lienthong.plumbing.kafka_confluent import kafka_headers
from lienthong.router.records import OutRecord

log = structlog.get_logger("lienthong.router")

_MAX_COMMIT_BACKOFF_S = 5.0
T = TypeVar("T")


class ClientsBroken(Exception):
    """The clients cannot go on (a call abandoned, a fatal error): build new ones."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason  # bounded: stuck-call, fatal-error, abort-failed
        self.detail = detail


def kafka_error(exc: KafkaException) -> KafkaError:
    """Return the KafkaError a KafkaException carries (one made up if it carries none)."""
    error = exc.args[0] if exc.args else None
    if isinstance(error, KafkaError):
        return error
    return KafkaError(KafkaError._FAIL, str(exc))


class Transactor:
    """Begin, produce, send offsets, commit and abort; never block the caller past a deadline."""

    def __init__(
        self,
        producer: Producer,
        *,
        name: str,
        call_timeout_s: float,
        produce_timeout_s: float,
        grace_s: float,
    ) -> None:
        self._thread: CallThread[Producer] = CallThread(producer, name)
        self._timeout = call_timeout_s
        self._grace = grace_s  # how much longer than its own timeout a call may take
        # Producing waits for room in the local queue, which frees only as records are
        # delivered or time out (delivery.timeout.ms): the one call legitimately that long.
        self._produce_timeout = max(call_timeout_s, produce_timeout_s)

    @property
    def thread(self) -> CallThread[Producer]:
        """The thread that owns the producer (abandoned when the clients are rebuilt)."""
        return self._thread

    def init(self) -> None:
        """Fence older producers with this transactional id and abort what they left open."""
        timeout = self._timeout
        self._call(lambda p: p.init_transactions(timeout), "init_transactions")

    def transact(
        self,
        outs: Sequence[OutRecord],
        offsets: list[TopicPartition],
        group_metadata: Any,
        stop: threading.Event,
        on_retry: Callable[[int, str], None],
    ) -> bool:
        """Produce `outs` and commit `offsets` in one transaction; False if it did not commit.

        Raises ClientsBroken when the producer must be replaced.
        """
        timeout = self._timeout
        try:
            self._call(
                lambda p: _begin_and_produce(p, outs),
                "begin_transaction/produce",
                timeout_s=self._produce_timeout,
            )
            self._call(
                lambda p: p.send_offsets_to_transaction(offsets, group_metadata, timeout),
                "send_offsets_to_transaction",
            )
            return self._commit(stop, on_retry)
        except KafkaException as exc:
            error = kafka_error(exc)
            if error.fatal():
                raise ClientsBroken("fatal-error", error.str()) from exc
            log.warning("router_transaction_aborted", error=error.str(), records=len(outs))
            self.abort()
            return False

    def abort(self) -> None:
        """Abort the open transaction; a failure to abort means the producer must go."""
        timeout = self._timeout
        try:
            self._call(lambda p: p.abort_transaction(timeout), "abort_transaction")
        except KafkaException as exc:
            error = kafka_error(exc)
            reason = "fatal-error" if error.fatal() else "abort-failed"
            raise ClientsBroken(reason, error.str()) from exc

    def poll(self) -> None:
        """Serve the producer's callbacks (its statistics)."""
        self._call(lambda p: p.poll(0), "poll")

    def topics(self) -> set[str]:
        """Return the topics in the broker's metadata."""
        timeout = self._timeout
        return self._call(lambda p: set(p.list_topics(timeout=timeout).topics), "list_topics")

    def _commit(self, stop: threading.Event, on_retry: Callable[[int, str], None]) -> bool:
        """Commit, retrying a retriable failure until it lands; False if told to stop first.

        A commit that timed out may have landed: librdkafka resumes it on the next call, and
        neither abort nor a new transaction is allowed meanwhile, so the only way on is to call
        commit again. Stopping instead leaves the transaction to the broker: the next router
        with this transactional id aborts it at start unless it committed, and either way each
        record is delivered once.
        """
        timeout = self._timeout
        attempt = 0
        while True:
            try:
                self._call(lambda p: p.commit_transaction(timeout), "commit_transaction")
            except KafkaException as exc:
                error = kafka_error(exc)
                if not error.retriable() or error.fatal():
                    raise
                attempt += 1
                on_retry(attempt, error.str())
                delay = capped_backoff(attempt, base_s=0.1, cap_s=_MAX_COMMIT_BACKOFF_S)
                if stop.wait(delay):
                    log.warning("router_commit_unresolved_at_stop", attempts=attempt)
                    return False
            else:
                return True

    def _call(self, fn: Callable[[Producer], T], what: str, *, timeout_s: float | None = None) -> T:
        deadline = (timeout_s or self._timeout) + self._grace
        try:
            return self._thread.call(fn, deadline_s=deadline, what=what)
        except CallAbandoned as exc:
            raise ClientsBroken("stuck-call", str(exc)) from exc


def _begin_and_produce(producer: Producer, outs: Sequence[OutRecord]) -> None:
    producer.begin_transaction()
    for out in outs:
        headers = kafka_headers(out.headers)
        while True:
            try:
                producer.produce(out.topic, out.value, out.key, headers=headers)
            except BufferError:  # the local queue is full: let librdkafka drain it
                producer.poll(0.1)
            else:
                break
