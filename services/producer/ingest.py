"""Accept one event from an authenticated endpoint: validate, authorise, deduplicate, publish."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from lienthong.contract.agency import AgencyCodePattern
from lienthong.contract.codec import Codec
from lienthong.contract.errors import BadHeaders, SchemaViolation
from lienthong.contract.jsonform import to_json
from lienthong.contract.outgoing import Outgoing, prepare
from lienthong.contract.schemas import EventType
from lienthong.contract.trace import TraceParent
from lienthong.directory.model import Directory, Endpoint
from lienthong.plumbing.kafka_confluent import RECORD_LIMIT, record_size
from lienthong.producer.delivered import Delivered
from lienthong.producer.errors import BrokerUnavailable, InvalidEvent
from lienthong.producer.idempotency import Conflict, IdempotencyCache
from lienthong.producer.metrics import ProducerMetrics
from lienthong.producer.rules import Problem, RuleContext
from lienthong.producer.validation import EventValidator, complete


class Publishes(Protocol):
    """The port the ingest core writes through (Kafka in production, a fake in unit tests)."""

    @property
    def topic(self) -> str:
        """Return the topic records go to."""
        ...

    async def publish(self, out: Outgoing) -> Delivered:
        """Write one record and return where the broker put it."""
        ...


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP answer to one event, and what its log line and metrics say."""

    status: int
    body: dict[str, Any]
    outcome: str
    event_id: str | None = None
    sender: str | None = None
    retry_after_s: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def problem(status: int, title: str, problems: tuple[Problem, ...] = ()) -> dict[str, Any]:
    """Return the error body every non-2xx answer uses."""
    errors = [{"pointer": p.pointer, "message": p.message} for p in problems]
    return {"status": status, "title": title, "errors": errors}


def fingerprint(data: Any) -> str:
    """Return a digest of a JSON body that ignores key order and whitespace."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Ingest:
    """The API's core, free of HTTP: every answer the table in docs/api.md lists comes from here."""

    def __init__(
        self,
        *,
        validator: EventValidator,
        codec: Codec,
        directory: Callable[[], Directory],
        agency_codes: AgencyCodePattern,
        publisher: Publishes,
        cache: IdempotencyCache[Answer],
        metrics: ProducerMetrics,
        clock_skew: timedelta,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._validator = validator
        self._codec = codec
        self._directory = directory
        self._agency_codes = agency_codes
        self._publisher = publisher
        self._cache = cache
        self._metrics = metrics
        self._clock_skew = clock_skew
        self._now = now

    async def submit(
        self, caller: Endpoint, event_type: EventType, data: Any, traceparent: str | None = None
    ) -> Answer:
        """Answer one event: 202 once Kafka has it, else 4xx/503 with every reason."""
        answer = await self._submit(caller, event_type, data, traceparent)
        self._metrics.events.labels(event_type.value, answer.outcome).inc()
        self._metrics.idempotency_entries.set(len(self._cache))
        return answer

    async def _submit(  # noqa: PLR0911 - one return per answer of the API's table
        self, caller: Endpoint, event_type: EventType, data: Any, traceparent: str | None
    ) -> Answer:
        directory = self._directory()
        ctx = RuleContext(directory, self._agency_codes, self._now(), self._clock_skew)
        try:
            record = self._validator.parse(event_type, data)
        except InvalidEvent as exc:
            return Answer(422, problem(422, "invalid event", exc.problems), "invalid")
        sender = record["from_organ"]["organ_id"]
        agency = directory.agencies.get(sender)
        if agency is None or agency.endpoint != caller.id:
            title = f"agency {sender} is not served by endpoint {caller.id}"
            body = problem(403, title, (Problem("/from_organ/organ_id", title),))
            return Answer(403, body, "forbidden", sender=sender)
        client_id = record.get("event_id")
        parsed = dict(record)
        record = complete(record, ctx.now)
        event_id = str(record["event_id"])
        try:
            record = self._validator.validate_record(event_type, record, ctx)
        except InvalidEvent as exc:
            body = problem(422, "invalid event", exc.problems)
            return Answer(422, body, "invalid", event_id=event_id, sender=sender)
        if client_id is None:  # a fresh id: no earlier attempt can exist
            return await self._publish(event_type, record, sender, traceparent)
        key = (caller.id, event_id)
        try:
            # The parsed record, not the raw bytes: 15210 and 15210.0, or Z and +00:00, are the
            # same event, and a retry re-serialised by another library must replay, not conflict.
            earlier = self._cache.claim(key, fingerprint(to_json(parsed)))
        except Conflict:
            title = f"event id {event_id} was already used with a different body"
            body = problem(409, title, (Problem("/event_id", title),))
            return Answer(409, body, "conflict", event_id=event_id, sender=sender)
        if earlier is not None:
            first = await earlier
            if first.status != 202:  # noqa: PLR2004 - the failed first attempt's answer
                return first
            return Answer(202, first.body, "replayed", event_id=event_id, sender=sender)
        try:
            answer = await self._publish(event_type, record, sender, traceparent)
        except BaseException:
            # Cancelled (shutdown) or a bug: the retries waiting on this attempt hear a 503 and
            # the key is free again; otherwise every retry of this event id would hang. Whether
            # the broker got the record is unknown: a retry may publish it a second time, with
            # the same event id, which readers drop.
            gone = Answer(
                503,
                problem(
                    503, "interrupted before the broker answered: retry with the same event_id"
                ),
                "unavailable",
                event_id,
                sender,
                retry_after_s=1,
            )
            self._cache.release(key, gone)
            raise
        if answer.status == 202:  # noqa: PLR2004
            self._cache.settle(key, answer)
        else:
            self._cache.release(key, answer)
        return answer

    async def _publish(
        self, event_type: EventType, record: dict[str, Any], sender: str, traceparent: str | None
    ) -> Answer:
        event_id = str(record["event_id"])
        try:
            out = prepare(self._codec, event_type, record, _trace(traceparent))
        except SchemaViolation as exc:  # the models should have caught it; say so, do not 500
            problems = tuple(Problem("", p) for p in exc.problems)
            return Answer(422, problem(422, "invalid event", problems), "invalid", event_id, sender)
        size = record_size(out.value, out.key, out.headers)
        if size > RECORD_LIMIT:  # it would fail to produce, or later fail to route
            title = (
                f"the encoded event is {size} bytes; at most {RECORD_LIMIT} fit through the axis"
            )
            return Answer(413, problem(413, title), "too-large", event_id, sender)
        try:
            delivered = await self._publisher.publish(out)
        except BrokerUnavailable as exc:
            body = problem(503, f"not published: {exc}")
            return Answer(
                503, body, "unavailable", event_id, sender, retry_after_s=exc.retry_after_s
            )
        body = {
            "event_id": event_id,
            "event_type": event_type.value,
            "topic": delivered.topic,
            "partition": delivered.partition,
            "offset": delivered.offset,
        }
        trace = {"trace_id": out.traceparent.trace_id}
        return Answer(202, body, "accepted", event_id, sender, extra=trace)


def _trace(header: str | None) -> TraceParent:
    """Continue the caller's trace when it sent a valid traceparent, else start one."""
    if header:
        try:
            return TraceParent.parse(header).child()
        except BadHeaders:
            pass
    return TraceParent.new()
