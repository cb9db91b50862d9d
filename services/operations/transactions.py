"""A transactional producer for operator writes: all of a batch becomes visible, or none."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from lienthong.operations.errors import ReplayFailed, broker_error
from lienthong.operations.kafka_read import QUIET
from lienthong.plumbing.kafka_confluent import kafka_headers, make_producer
from lienthong.plumbing.kafka_reach import reach_hint
from lienthong.plumbing.settings import KafkaSettings

_TRANSACTION_TIMEOUT_MS = 120_000


@dataclass(frozen=True, slots=True)
class Write:
    """One record to produce; `partition` None lets the key's murmur2 hash choose."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    partition: int | None = None


class TransactionalWriter:
    """Write batches in transactions under one transactional id, fencing earlier holders."""

    def __init__(self, kafka: KafkaSettings, transactional_id: str, *, timeout_s: float) -> None:
        self._kafka = kafka
        self._id = transactional_id
        self._timeout = timeout_s
        overrides: dict[str, Any] = {
            "transaction.timeout.ms": _TRANSACTION_TIMEOUT_MS,
            # librdkafka requires a record's delivery timeout to fit in its transaction's.
            "delivery.timeout.ms": min(kafka.delivery_timeout_ms, _TRANSACTION_TIMEOUT_MS),
            "logger": QUIET,
        }
        self._producer: Producer = make_producer(
            kafka, transactional_id=transactional_id, client_id=transactional_id, **overrides
        )
        self._ready = False

    def fence(self) -> None:
        """Claim the transactional id: an open transaction of an earlier holder is aborted."""
        try:
            self._producer.init_transactions(self._timeout)
        except KafkaException as exc:
            raise broker_error(exc, self._kafka, f"start transactions as {self._id}") from None
        self._ready = True

    def commit(self, writes: Iterable[Write]) -> int:
        """Produce `writes` in one transaction and commit it; return how many were written."""
        if not self._ready:
            self.fence()
        producer = self._producer
        count = 0
        try:
            producer.begin_transaction()
            for write in writes:
                self._produce(write)
                count += 1
            while True:
                try:
                    producer.commit_transaction(self._timeout)
                    break
                except KafkaException as exc:
                    if not exc.args[0].retriable():
                        raise
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if not error.fatal():
                # If the abort fails too, the broker times the transaction out: still invisible.
                with contextlib.suppress(KafkaException):
                    producer.abort_transaction(self._timeout)
            raise ReplayFailed(
                f"transaction aborted, nothing was published: {error.str()}"
                f" {reach_hint(self._kafka)}"
            ) from None
        return count

    def _produce(self, write: Write) -> None:
        headers = kafka_headers(write.headers)
        partition = -1 if write.partition is None else write.partition
        while True:
            try:
                self._producer.produce(
                    write.topic, write.value, write.key, partition=partition, headers=headers
                )
            except BufferError:  # the local queue is full: let librdkafka drain it
                self._producer.poll(0.1)
            else:
                return

    def close(self) -> None:
        """Deliver anything queued (nothing, after a commit) and release the client."""
        self._producer.flush(self._timeout)
