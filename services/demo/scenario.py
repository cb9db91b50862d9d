"""The demo's story, and what every store should hold once it has run. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import uuid4

from lienthong.contract import examples
from lienthong.contract.jsonform import to_json
from lienthong.contract.schemas import EventType
from lienthong.directory.model import Directory
from lienthong.directory.policy import violations
from lienthong.directory.resolve import resolve_recipients

GOVERNMENT_OFFICE = "000.00.00.G22"
NGHE_AN = "000.00.00.H41"
HA_NOI = "000.00.00.H24"
UNKNOWN_AGENCY = "000.00.00.G99"


@dataclass(frozen=True, slots=True)
class Publication:
    """One event the demo publishes: through the HTTP API or straight to Kafka."""

    title: str
    via: Literal["api", "kafka"]
    endpoint: str  # whose API key publishes it
    kind: EventType
    event: dict[str, Any]  # the JSON form the API takes
    expect_http: int = 202  # for the API: what it should answer


@dataclass
class Expected:
    """What the stores, the outboxes and the DLQ hold once every event has travelled."""

    events: Counter[str] = field(default_factory=Counter)  # endpoint -> lt_events rows
    documents: Counter[str] = field(default_factory=Counter)  # endpoint -> lt_documents rows
    reports: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    receipts_sent: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)  # reason -> records
    refused_at_api: int = 0


def _document(
    sender: str,
    name: str,
    number: str,
    recipients: Sequence[str],
) -> dict[str, Any]:
    record = examples.document(
        event_id=uuid4(), sender=sender, number=number, recipients=tuple(recipients)
    )
    record["from_organ"]["organ_name"] = name
    record["document_id"] = f"{sender},2026/11/25,{number}/{record['code']['code_notation']}"
    return record


def _report(sender: str, name: str, month: int = 10) -> dict[str, Any]:
    record = examples.report(event_id=uuid4(), sender=sender, month=month)
    record["from_organ"]["organ_name"] = name
    return record


def story(directory: Directory) -> list[Publication]:
    """Return the demo's publications, in order."""

    def name(code: str) -> str:
        return directory.agencies[code].name

    directive = _document(GOVERNMENT_OFFICE, name(GOVERNMENT_OFFICE), "7816", ["all-provinces"])
    to_ministries = _document(
        GOVERNMENT_OFFICE, name(GOVERNMENT_OFFICE), "7820", ["000.00.00.G07", "000.00.00.G13"]
    )
    revocation = {
        **to_ministries,
        "event_id": uuid4(),
        "business": {
            "action": "REVOKE",
            "reason": "Ban hành nhầm đối tượng",
            "staff": None,
            "replacements": [],
        },
    }
    accepted = examples.status(
        event_id=uuid4(), document_id=directive["document_id"], sender=NGHE_AN, code="03"
    )
    others = [c for c in directory.agencies_at("dia-phuong") if c.startswith("000.00.00.H")][:2]
    stray = _document(GOVERNMENT_OFFICE, name(GOVERNMENT_OFFICE), "7830", [UNKNOWN_AGENCY])
    overreach = _document(NGHE_AN, name(NGHE_AN), "152", ["all-provinces"])
    items = [
        Publication("directive to all provinces", "api", "vpcp", EventType.DOCUMENT, directive),
        Publication("document to two ministries", "api", "vpcp", EventType.DOCUMENT, to_ministries),
        Publication("...and its revocation", "api", "vpcp", EventType.DOCUMENT, revocation),
        Publication(
            "Nghệ An accepts the directive (status 03)",
            "api",
            "tinh-nghe-an",
            EventType.STATUS,
            accepted,
        ),
        Publication(
            "monthly report of Nghệ An",
            "api",
            "tinh-nghe-an",
            EventType.REPORT,
            _report(NGHE_AN, name(NGHE_AN)),
        ),
        Publication(
            "monthly report of Hà Nội",
            "api",
            "tp-ha-noi",
            EventType.REPORT,
            _report(HA_NOI, name(HA_NOI)),
        ),
        *(
            Publication(
                f"monthly report of {name(c)}",
                "api",
                "dia-phuong",
                EventType.REPORT,
                _report(c, name(c)),
            )
            for c in others
        ),
        Publication(
            "document to an unknown agency, through the API",
            "api",
            "vpcp",
            EventType.DOCUMENT,
            stray,
            expect_http=422,
        ),
        Publication(
            "the same, straight to Kafka (schema checked only)",
            "kafka",
            "vpcp",
            EventType.DOCUMENT,
            {**stray, "event_id": uuid4()},
        ),
        Publication(
            "Nghệ An broadcasts to all provinces (not allowed)",
            "kafka",
            "tinh-nghe-an",
            EventType.DOCUMENT,
            overreach,
        ),
    ]
    # No occurred_at: the API and the client stamp each event when it is published, so the
    # summary's latencies are this run's.
    return [
        Publication(p.title, p.via, p.endpoint, p.kind, _fresh(p.event), p.expect_http)
        for p in items
    ]


def _fresh(record: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = to_json(record)
    del event["occurred_at"]
    return event


def expect(
    publications: Iterable[Publication], directory: Directory, running: Iterable[str]
) -> Expected:
    """Compute what the consumers of the `running` endpoints will hold, from the directory."""
    consumers = set(running)
    out = Expected()
    for pub in publications:
        if pub.via == "api" and pub.expect_http != 202:  # noqa: PLR2004
            out.refused_at_api += 1
            continue
        sender = pub.event["from_organ"]["organ_id"]
        home = directory.agencies[sender].endpoint if sender in directory.agencies else None
        if pub.kind is EventType.STATUS:
            target = directory.agencies[pub.event["response_for"]["organ_id"]].endpoint
            _store(out, target, consumers, "statuses")
            continue
        recipients = pub.event["recipients"]
        resolution = resolve_recipients(directory, recipients, sender=sender)
        reason = (
            "unknown-recipient"
            if resolution.unknown
            else "policy-violation"
            if violations(directory, sender, recipients)
            else None
        )
        if reason is not None:
            out.dead_letters[reason] += 1
            if pub.kind is EventType.DOCUMENT and home is not None:
                _store(out, home, consumers, "statuses")  # the Status 02 to the sender
            continue
        for endpoint, agencies in resolution.targets.items():
            if endpoint not in consumers:
                continue
            if pub.kind is EventType.REPORT:
                _store(out, endpoint, consumers, "reports")
                continue
            out.events[endpoint] += 1
            if pub.event["business"]["action"] == "NEW":
                out.documents[endpoint] += 1
            out.receipts_sent[endpoint] += len(agencies)
            for _ in agencies:  # each receipt travels back to the sender's endpoint
                if home is not None:
                    _store(out, home, consumers, "statuses")
    return out


def _store(out: Expected, endpoint: str, consumers: set[str], table: str) -> None:
    if endpoint in consumers:
        out.events[endpoint] += 1
        getattr(out, table)[endpoint] += 1
