"""Where one inbound record goes: its deliveries, or the dead-letter topic and why. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from lienthong.contract.authority import REASON, foreign_documents
from lienthong.contract.codec import Codec, Decoded
from lienthong.contract.errors import BadHeaders, DecodeError
from lienthong.contract.events import check_agreement, sender_of
from lienthong.contract.headers import (
    REDELIVER_TO,
    EventHeaders,
    header_map,
    recipients_header,
)
from lienthong.contract.schemas import EventType
from lienthong.contract.trace import TraceParent
from lienthong.directory.model import Directory
from lienthong.directory.policy import violations
from lienthong.directory.resolve import resolve_recipients
from lienthong.plumbing.envelope import Envelope


@dataclass(frozen=True, slots=True)
class Delivery:
    """One copy of the record for one endpoint, naming the recipient agencies it serves."""

    endpoint_id: str
    topic: str
    recipients: tuple[str, ...]
    # The lt-recipients header, rendered once per route (routes are cached), not once per copy.
    header: tuple[str, bytes] = ("", b"")

    def __post_init__(self) -> None:
        if not self.header[0]:
            object.__setattr__(self, "header", recipients_header(self.recipients))


@dataclass(frozen=True, slots=True)
class Routed:
    """A valid record and the endpoints it goes to."""

    event_type: EventType
    event_id: str
    sender: str
    occurred_at_ms: int
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record for the dead-letter topic; `notify` is where its sender hears of it (Status 02)."""

    reason: str
    error: str
    detail: str
    event_type: EventType | None = None
    event_id: str | None = None
    sender: str | None = None
    notify: Delivery | None = None
    document: Mapping[str, Any] | None = None
    trace: TraceParent | None = None


Decision = Routed | Rejected

_ROUTES_CACHED = 10_000


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a sender's list of addresses cannot be routed (cached like a route)."""

    reason: str
    detail: str


def _narrowed(decision: Decision, envelope: Envelope) -> Decision:
    """Keep only the copy an lt-redeliver-to header asks for (a replayed consumer dead letter)."""
    if not isinstance(decision, Routed):
        return decision
    wanted = next((v for k, v in envelope.headers if k == REDELIVER_TO), None)
    if wanted is None:
        return decision
    endpoint = wanted.decode("utf-8", "replace")
    kept = tuple(d for d in decision.deliveries if d.endpoint_id == endpoint)
    if not kept:
        return Rejected(
            "redeliver-nowhere",
            "RedeliverNowhere",
            f"{REDELIVER_TO} names endpoint {endpoint!r}, which the event does not address",
            decision.event_type,
            decision.event_id,
            decision.sender,
        )
    return replace(decision, deliveries=kept)


class Router:
    """Decide each record's route from the contract and the current directory."""

    def __init__(self, codec: Codec, delivery_prefix: str) -> None:
        # Routing reads identifiers and addresses only: skip building UUID and datetime objects.
        self._codec = codec.plain()
        self._routes: dict[tuple[str, tuple[str, ...]], tuple[Delivery, ...] | Refusal] = {}
        self._cached_for: Directory | None = None
        self._prefix = delivery_prefix

    def decide(self, envelope: Envelope, directory: Directory) -> Decision:
        """Validate one record once and resolve its recipients to endpoints."""
        if envelope.value is None:
            return Rejected("empty-value", "EmptyValue", "record has no value (a tombstone?)")
        # The body first: it is the source of truth, and names the event in the DLQ log line.
        try:
            decoded = self._codec.decode(envelope.value)
        except DecodeError as exc:
            return Rejected(exc.reason, type(exc).__name__, str(exc))
        event_type, event_id = decoded.event_type, str(decoded.record["event_id"])
        try:
            headers = EventHeaders.from_kafka(header_map(envelope.headers))
        except BadHeaders as exc:
            return Rejected(exc.reason, type(exc).__name__, str(exc), event_type, event_id)
        try:
            check_agreement(headers, envelope.key, decoded)
        except BadHeaders as exc:
            return Rejected("header-mismatch", type(exc).__name__, str(exc), event_type, event_id)
        if decoded.event_type is EventType.STATUS:
            decision = self._status(decoded, headers, directory)
        else:
            decision = self._addressed(decoded, headers, directory)
        return _narrowed(decision, envelope)

    def _addressed(self, decoded: Decoded, headers: EventHeaders, directory: Directory) -> Decision:
        record = decoded.record
        sender = sender_of(record)
        if decoded.event_type is EventType.DOCUMENT:
            foreign = [message for _, message in foreign_documents(record)]
            if foreign:
                return self._refuser(decoded, headers, directory)(REASON, "; ".join(foreign))
        route = self._route(directory, sender, tuple(record["recipients"]))
        if isinstance(route, Refusal):
            return self._refuser(decoded, headers, directory)(route.reason, route.detail)
        return Routed(decoded.event_type, headers.event_id, sender, headers.occurred_at_ms, route)

    def _route(
        self, directory: Directory, sender: str, recipients: tuple[str, ...]
    ) -> tuple[Delivery, ...] | Refusal:
        """Resolve a sender's addresses once per directory: senders repeat their lists."""
        if directory is not self._cached_for:  # a reloaded directory: forget every route
            self._routes.clear()
            self._cached_for = directory
        key = (sender, recipients)
        route = self._routes.get(key)
        if route is None:
            route = self._resolve(directory, sender, recipients)
            if len(self._routes) >= _ROUTES_CACHED:
                self._routes.clear()
            self._routes[key] = route
        return route

    def _resolve(
        self, directory: Directory, sender: str, recipients: tuple[str, ...]
    ) -> tuple[Delivery, ...] | Refusal:
        if not directory.is_agency(sender):
            return Refusal("unknown-sender", f"sender {sender} is not in the directory")
        resolution = resolve_recipients(directory, recipients, sender=sender)
        if resolution.unknown:
            return Refusal(
                "unknown-recipient", "unknown agencies or groups: " + ", ".join(resolution.unknown)
            )
        refused = violations(directory, sender, recipients)
        if refused:
            return Refusal("policy-violation", "; ".join(refused))
        if not resolution.targets:
            return Refusal("no-recipients", "the recipients resolve to no agency but the sender")
        return tuple(
            Delivery(endpoint_id, self._topic(directory, endpoint_id), agencies)
            for endpoint_id, agencies in resolution.targets.items()
        )

    def _status(self, decoded: Decoded, headers: EventHeaders, directory: Directory) -> Decision:
        # A status goes back to the answered document's sender; it is never answered itself.
        record = decoded.record
        sender = sender_of(record)
        target = record["response_for"]["organ_id"]
        agency = directory.agencies.get(target)
        if not directory.is_agency(sender):
            detail = f"sender {sender} is not in the directory"
            return Rejected(
                "unknown-sender",
                "PolicyViolation",
                detail,
                EventType.STATUS,
                headers.event_id,
                sender,
            )
        if agency is None:
            detail = f"the answered document's sender {target} is not in the directory"
            return Rejected(
                "unknown-recipient",
                "UnknownRecipient",
                detail,
                EventType.STATUS,
                headers.event_id,
                sender,
            )
        delivery = Delivery(agency.endpoint, self._topic(directory, agency.endpoint), (target,))
        return Routed(
            EventType.STATUS, headers.event_id, sender, headers.occurred_at_ms, (delivery,)
        )

    def _refuser(
        self, decoded: Decoded, headers: EventHeaders, directory: Directory
    ) -> Callable[[str, str], Rejected]:
        """Return a function building the Rejected for this record, with a Status 02 if due."""
        record = decoded.record
        sender = sender_of(record)
        agency = directory.agencies.get(sender)
        notify = None
        if decoded.event_type is EventType.DOCUMENT and agency is not None:
            notify = Delivery(agency.endpoint, self._topic(directory, agency.endpoint), (sender,))

        def refuse(reason: str, detail: str) -> Rejected:
            error = "PolicyViolation" if reason == "policy-violation" else "Unroutable"
            return Rejected(
                reason,
                error,
                detail,
                decoded.event_type,
                headers.event_id,
                sender,
                notify,
                record if notify is not None else None,
                headers.traceparent,
            )

        return refuse

    def _topic(self, directory: Directory, endpoint_id: str) -> str:
        return directory.endpoints[endpoint_id].delivery_topic(self._prefix)
