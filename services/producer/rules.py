"""Business rules an event must keep beyond its schema; pure, each problem with a JSON pointer."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lienthong.contract.agency import AgencyCodePattern
from lienthong.contract.authority import foreign_documents
from lienthong.contract.schemas import EventType
from lienthong.directory.model import Directory

# edXML StatusCode values seen in the national systems (notes/edxml.md); 07-12 and 14 are unused.
STATUS_CODES: Mapping[str, str] = {
    "01": "received",
    "02": "rejected",
    "03": "accepted",
    "04": "assigned",
    "05": "processing",
    "06": "completed",
    "13": "revoke requested",
    "15": "revoke/update accepted",
    "16": "revoke/update rejected",
}
_PERIOD_NUMBERS = {"MONTH": 12, "QUARTER": 4, "HALF_YEAR": 2, "NINE_MONTHS": 1, "YEAR": 1}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_URI = re.compile(r"^https?://[^\s/]+\S*$")
SUBJECT_MAX = 500
YEARS = range(1945, 2201)


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason an event is refused: where (RFC 6901 JSON pointer) and why."""

    pointer: str
    message: str


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What the rules check against."""

    directory: Directory
    agency_codes: AgencyCodePattern
    now: datetime
    clock_skew: timedelta = timedelta(minutes=5)


Rule = Callable[[Mapping[str, Any], RuleContext], Iterator[Problem]]


def check(event_type: EventType, record: Mapping[str, Any], ctx: RuleContext) -> list[Problem]:
    """Return every business-rule problem of a schema-valid record (empty when it is fine)."""
    return [p for rule in RULES[event_type] for p in rule(record, ctx)]


def _agency(pointer: str, code: str, ctx: RuleContext, *, known: bool = True) -> Iterator[Problem]:
    if not ctx.agency_codes.matches(code):
        yield Problem(pointer, f"{code!r} is not an agency code (e.g. 000.00.00.G22)")
    elif known and not ctx.directory.is_agency(code):
        yield Problem(pointer, f"agency {code} is not in the directory")


def _common(record: Mapping[str, Any], ctx: RuleContext) -> Iterator[Problem]:
    yield from _agency("/from_organ/organ_id", record["from_organ"]["organ_id"], ctx)
    occurred = record.get("occurred_at")
    if occurred is not None and occurred > ctx.now + ctx.clock_skew:
        yield Problem("/occurred_at", f"{occurred.isoformat()} is in the future")


def _recipients(record: Mapping[str, Any], ctx: RuleContext) -> Iterator[Problem]:
    recipients = record["recipients"]
    if not recipients:
        yield Problem("/recipients", "at least one recipient (agency code or group) is needed")
    seen: set[str] = set()
    for i, name in enumerate(recipients):
        pointer = f"/recipients/{i}"
        if name in seen:
            yield Problem(pointer, f"{name!r} is listed twice")
        seen.add(name)
        if ctx.directory.is_group(name) or ctx.directory.is_agency(name):
            continue
        if ctx.agency_codes.matches(name):
            yield Problem(pointer, f"agency {name} is not in the directory")
        else:
            yield Problem(pointer, f"{name!r} is neither a known agency code nor a group")


def _document(record: Mapping[str, Any], ctx: RuleContext) -> Iterator[Problem]:
    for pointer, message in foreign_documents(record):
        yield Problem(pointer, message)
    if not record["subject"].strip():
        yield Problem("/subject", "must not be empty")
    elif len(record["subject"]) > SUBJECT_MAX:
        yield Problem("/subject", f"{len(record['subject'])} characters; at most {SUBJECT_MAX}")
    promulgated = record["promulgation"]["promulgation_date"]
    due = record.get("due_date")
    if due is not None and due < promulgated:
        yield Problem("/due_date", f"{due} is before the promulgation date {promulgated}")
    yield from _business(record["business"])
    for i, ref in enumerate(record["response_for"]):
        yield from _agency(f"/response_for/{i}/organ_id", ref["organ_id"], ctx, known=False)
    for i, attachment in enumerate(record["attachments"]):
        yield from _attachment(f"/attachments/{i}", attachment)


def _business(business: Mapping[str, Any]) -> Iterator[Problem]:
    action = business["action"]
    if action != "NEW" and not (business.get("reason") or "").strip():
        yield Problem("/business/reason", f"a reason is required for {action}")
    if action == "REPLACE" and not business["replacements"]:
        yield Problem("/business/replacements", "REPLACE must name the document it replaces")
    if action != "REPLACE" and business["replacements"]:
        yield Problem("/business/replacements", f"only REPLACE lists replacements, not {action}")


def _attachment(pointer: str, attachment: Mapping[str, Any]) -> Iterator[Problem]:
    if not _SHA256.match(attachment["sha256"]):
        yield Problem(f"{pointer}/sha256", "must be 64 lowercase hex digits (SHA-256)")
    if attachment["size_bytes"] < 0:
        yield Problem(f"{pointer}/size_bytes", "must not be negative")
    if not _URI.match(attachment["uri"]):
        yield Problem(f"{pointer}/uri", "must be an absolute http(s) URI")


def _report(record: Mapping[str, Any], _ctx: RuleContext) -> Iterator[Problem]:
    if not record["report_id"].strip():
        yield Problem("/report_id", "must not be empty")
    period = record["period"]
    highest = _PERIOD_NUMBERS[period["kind"]]
    if not 1 <= period["number"] <= highest:
        allowed = "1" if highest == 1 else f"1-{highest}"
        yield Problem("/period/number", f"{period['kind']} periods are numbered {allowed}")
    if period["year"] not in YEARS:
        yield Problem("/period/year", f"{period['year']} is outside {YEARS[0]}-{YEARS[-1]}")
    if record["revision"] < 0:
        yield Problem("/revision", "must not be negative")
    if not record["indicators"]:
        yield Problem("/indicators", "a report carries at least one indicator value")
    seen: set[str] = set()
    for i, indicator in enumerate(record["indicators"]):
        if indicator["code"] in seen:
            yield Problem(f"/indicators/{i}/code", f"indicator {indicator['code']} appears twice")
        seen.add(indicator["code"])


def _status(record: Mapping[str, Any], ctx: RuleContext) -> Iterator[Problem]:
    code = record["status_code"]
    if code not in STATUS_CODES:
        allowed = ", ".join(f"{c} {m}" for c, m in STATUS_CODES.items())
        yield Problem("/status_code", f"{code!r} is not an edXML status code ({allowed})")
    answered = record["response_for"]
    yield from _agency("/response_for/organ_id", answered["organ_id"], ctx)
    if answered["organ_id"] == record["from_organ"]["organ_id"]:
        yield Problem("/response_for/organ_id", "an agency does not send statuses to itself")
    # Statuses answer documents (not reports): the id must be the answered sender's document id.
    if not answered["document_id"].startswith(f"{answered['organ_id']},"):
        yield Problem(
            "/response_for/document_id",
            f"must be a document id of {answered['organ_id']} ('{answered['organ_id']},...')",
        )


RULES: Mapping[EventType, tuple[Rule, ...]] = {
    EventType.DOCUMENT: (_common, _recipients, _document),
    EventType.REPORT: (_common, _recipients, _report),
    EventType.STATUS: (_common, _status),
}
