"""Frozen dataclasses mirroring the current Avro schemas, and the typed view of a decoded record.

Names and defaults are the schemas' (tests/unit/test_subscriber_typed.py keeps them in step), so
a record read into an older reader schema still converts. Enums stay strings; arrays are tuples.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Union, cast, get_args, get_origin, get_type_hints
from uuid import UUID

from lienthong.contract.schemas import EventType


@dataclass(frozen=True, slots=True, kw_only=True)
class Organization:
    """edXML From/To organisation."""

    organ_id: str
    organ_name: str
    organization_in_charge: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignerInfo:
    """Who signed a document or report."""

    competence: str | None = None
    position: str
    full_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StaffInfo:
    """The officer handling a status or a business action."""

    department: str | None = None
    staff: str
    email: str | None = None
    mobile: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Code:
    """A document's number and notation (số, ký hiệu)."""

    code_number: str
    code_notation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PromulgationInfo:
    """Where and when a document was promulgated."""

    place: str
    promulgation_date: date


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentType:
    """edXML DocumentType."""

    type: int
    type_detail: int
    type_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherInfo:
    """edXML OtherInfo: priority and printing details."""

    priority: Literal["NORMAL", "URGENT", "VERY_URGENT", "FLASH", "FLASH_TIMED"] = "NORMAL"
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    appendixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseFor:
    """A document this document answers."""

    organ_id: str
    code: str
    promulgation_date: date
    document_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Replacement:
    """A document a REPLACE action replaces, and the agencies that received it."""

    document_id: str
    organ_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Business:
    """edXML BussinessDocType: what this document event does."""

    action: Literal["NEW", "REVOKE", "UPDATE", "REPLACE"]
    reason: str | None = None
    staff: StaffInfo | None = None
    replacements: tuple[Replacement, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A file travelling by reference, with its SHA-256."""

    name: str
    media_type: str
    size_bytes: int
    sha256: str
    uri: str
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """An official document sent from one agency to recipients."""

    event_id: UUID
    occurred_at: datetime
    document_id: str
    from_organ: Organization
    recipients: tuple[str, ...]
    to_places: tuple[str, ...] = ()
    code: Code
    promulgation: PromulgationInfo
    document_type: DocumentType
    subject: str
    content_summary: str | None = None
    signer: SignerInfo
    due_date: date | None = None
    steering_type: Literal["NOT_DIRECTIVE", "DIRECTIVE", "DIRECTIVE_REPORT_BACK"] = "NOT_DIRECTIVE"
    other_info: OtherInfo
    response_for: tuple[ResponseFor, ...] = ()
    business: Business
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportPeriod:
    """The period a report covers."""

    kind: Literal["MONTH", "QUARTER", "HALF_YEAR", "NINE_MONTHS", "YEAR"]
    year: int
    number: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorValue:
    """One indicator of a report: a number or a text."""

    code: str
    unit: str | None = None
    value: float | str


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """A submission under a reporting regime for a period."""

    event_id: UUID
    occurred_at: datetime
    report_id: str
    regime_code: str
    from_organ: Organization
    recipients: tuple[str, ...]
    title: str | None = None
    period: ReportPeriod
    indicators: tuple[IndicatorValue, ...]
    revision: int = 0
    signer: SignerInfo | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusSubject:
    """The document a status answers."""

    document_id: str
    organ_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Status:
    """A processing status for a document, travelling back to the document's sender."""

    event_id: UUID
    occurred_at: datetime
    response_for: StatusSubject
    from_organ: Organization
    status_code: str
    description: str | None = None
    staff: StaffInfo | None = None


Record = Document | Report | Status
RECORD_TYPES: Mapping[EventType, type[Record]] = {
    EventType.DOCUMENT: Document,
    EventType.REPORT: Report,
    EventType.STATUS: Status,
}


def typed_record(event_type: EventType, data: Mapping[str, Any]) -> Record:
    """Return the dataclass of a record decoded by the codec (any reader version of the type)."""
    return cast(Record, _build(RECORD_TYPES[event_type], data))


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _build(cls: type[Any], data: Mapping[str, Any]) -> Any:
    # A field absent from an older reader schema keeps its dataclass default.
    hints = _hints(cls)
    return cls(**{k: _convert(hints[k], v) for k, v in data.items() if k in hints})


def _convert(hint: Any, value: Any) -> Any:
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        classes = [a for a in get_args(hint) if isinstance(a, type) and dataclasses.is_dataclass(a)]
        return value if value is None or not classes else _build(classes[0], value)
    if origin is tuple:
        return tuple(_convert(get_args(hint)[0], v) for v in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value)
    return value
