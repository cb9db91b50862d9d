"""What a subscriber hands its caller: a typed event with its coordinates, or why there is none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lienthong.contract import headers as h
from lienthong.contract.codec import Codec
from lienthong.contract.errors import (
    BadHeaders,
    ContractError,
    DecodeError,
    IncompatibleRecord,
    UnknownFingerprint,
)
from lienthong.contract.headers import EventHeaders
from lienthong.contract.schemas import EventType, SchemaLoadError, SchemaStore, SchemaVersion
from lienthong.contract.typed import Record, typed_record
from lienthong.plumbing.envelope import Envelope

R = TypeVar("R", bound=Record)


class SubscriberError(Exception):
    """Root of every error lienthong.subscriber raises."""


class UnreadableEvent(SubscriberError):
    """A delivered record that is no event this subscriber can read; `error` says why.

    `error` is the contract's typed error (`UnknownFingerprint` with `.fingerprint`,
    `CorruptBody`, `BadHeaders`, ...); `envelope` holds the record and its coordinates.
    """

    def __init__(self, envelope: Envelope, error: ContractError) -> None:
        super().__init__(f"{envelope.coordinates}: {error.reason}: {error}")
        self.envelope = envelope
        self.error = error
        self.reason = error.reason

    @property
    def coordinates(self) -> str:
        """Return `topic[partition]@offset` of the record."""
        return self.envelope.coordinates

    @property
    def fingerprint(self) -> bytes | None:
        """Return the unknown writer fingerprint (wire order), if that is what went wrong."""
        return self.error.fingerprint if isinstance(self.error, UnknownFingerprint) else None


class CommitFailed(SubscriberError):
    """Offsets could not be committed; `rebalanced` when the partitions moved to another member."""

    def __init__(self, message: str, *, rebalanced: bool) -> None:
        super().__init__(message)
        self.rebalanced = rebalanced


class DeadLetterFailed(SubscriberError):
    """A dead letter was not acknowledged by the broker."""


@dataclass(frozen=True, slots=True)
class Event(Generic[R]):
    """One delivered event: the typed record, its contract headers, recipients and coordinates."""

    record: R
    event_type: EventType
    headers: EventHeaders
    recipients: tuple[str, ...]
    """Agencies served by this endpoint that the event is addressed to (`lt-recipients`)."""
    routed_at_ms: int | None
    writer: SchemaVersion
    """The schema version the sender wrote with, resolved by its fingerprint."""
    data: dict[str, Any]
    """The record as decoded into the reader schema: what `to_json` renders."""
    envelope: Envelope

    @property
    def event_id(self) -> str:
        """Return the event id (a UUID string)."""
        return self.headers.event_id

    @property
    def key(self) -> str:
        """Return the Kafka key: the business id the event's order is kept by."""
        return (self.envelope.key or b"").decode("utf-8", "replace")

    @property
    def coordinates(self) -> str:
        """Return `topic[partition]@offset`."""
        return self.envelope.coordinates


def read_event(codec: Codec, envelope: Envelope) -> Event[Record]:
    """Decode a delivered record; raise UnreadableEvent, never anything else, if it cannot be."""
    try:
        decoded = codec.decode(envelope.value or b"")
        found = h.header_map(envelope.headers)
        headers = EventHeaders.from_kafka(found)
        recipients = h.parse_recipients(found.get(h.RECIPIENTS, b""))
        routed = found.get(h.ROUTED_AT, b"").decode("ascii")
        record = typed_record(decoded.event_type, decoded.record)
    except (DecodeError, BadHeaders) as exc:
        raise UnreadableEvent(envelope, exc) from exc
    except UnicodeDecodeError as exc:
        raise UnreadableEvent(envelope, BadHeaders(f"a header is not UTF-8: {exc}")) from exc
    except (TypeError, KeyError) as exc:  # the reader schema and the dataclasses disagree
        error = IncompatibleRecord(f"no typed record: {exc}", raw=envelope.value or b"")
        raise UnreadableEvent(envelope, error) from exc
    return Event(
        record=record,
        event_type=decoded.event_type,
        headers=headers,
        recipients=recipients,
        routed_at_ms=int(routed) if routed.isdigit() else None,
        writer=decoded.writer,
        data=decoded.record,
        envelope=envelope,
    )


class ReaderStore(SchemaStore):
    """Every writer schema of `store`, read into the newest version at or below `version`.

    A subscriber built against contract version N keeps reading (with Avro schema resolution)
    what senders write with later versions, as long as `store` holds their schemas.
    """

    def __init__(self, store: SchemaStore, version: int) -> None:
        super().__init__(store.versions())
        self._readers: dict[EventType, SchemaVersion] = {}
        for event_type in EventType:
            kept = [
                v for v in store.versions() if v.event_type is event_type and v.version <= version
            ]
            if not kept:
                raise SchemaLoadError(f"no {event_type.value} schema at or below v{version}")
            self._readers[event_type] = max(kept, key=lambda v: v.version)

    def current(self, event_type: EventType) -> SchemaVersion:
        """Return the reader version of `event_type`: the newest at or below the pinned one."""
        return self._readers[event_type]
