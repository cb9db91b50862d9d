from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from lienthong.contract import examples
from lienthong.contract.agency import AgencyCodePattern
from lienthong.contract.schemas import EventType
from lienthong.producer.rules import RuleContext, check
from lienthong.producer.validation import pointer
from tests.support.api import example_directory

CTX = RuleContext(example_directory(), AgencyCodePattern(), datetime(2026, 11, 26, 9, tzinfo=UTC))


def _with(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node: Any = record
    *parents, last = path.strip("/").split("/")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value
    return record


Case = tuple[EventType, Callable[[], dict[str, Any]], str, Any, str]

CASES: list[Case] = [
    (EventType.REPORT, examples.report, "/period/number", 13, "MONTH periods are numbered 1-12"),
    (EventType.REPORT, examples.report, "/period/kind", "YEAR", "YEAR periods are numbered 1"),
    (EventType.REPORT, examples.report, "/period/year", 1900, "outside 1945-2200"),
    (EventType.REPORT, examples.report, "/revision", -1, "must not be negative"),
    (EventType.REPORT, examples.report, "/indicators", [], "at least one indicator"),
    (EventType.REPORT, examples.report, "/indicators/1/code", "KTXH-01", "appears twice"),
    (EventType.REPORT, examples.report, "/report_id", " ", "must not be empty"),
    (EventType.REPORT, examples.report, "/recipients", ["x", "x"], "listed twice"),
    (EventType.STATUS, examples.status, "/status_code", "07", "not an edXML status code"),
    (EventType.STATUS, examples.status, "/response_for/organ_id", "000.00.00.H41", "to itself"),
    (EventType.STATUS, examples.status, "/response_for/organ_id", "G22", "not an agency code"),
    (EventType.STATUS, examples.status, "/response_for/document_id", "BC-1", "document id of"),
    (EventType.STATUS, examples.status, "/from_organ/organ_id", "000.00.00.G77", "not in the"),
    (EventType.DOCUMENT, examples.document, "/subject", "x" * 501, "at most 500"),
    (EventType.DOCUMENT, examples.document, "/attachments/0/sha256", "ABC", "64 lowercase hex"),
    (EventType.DOCUMENT, examples.document, "/attachments/0/size_bytes", -1, "not be negative"),
    (EventType.DOCUMENT, examples.document, "/attachments/1/uri", "files/1.pdf", "absolute"),
    (
        EventType.DOCUMENT,
        examples.document,
        "/response_for",
        [
            {
                "organ_id": "bad",
                "code": "1/X",
                "promulgation_date": date(2026, 1, 1),
                "document_id": "bad,2026/01/01,1/X",
            }
        ],
        "not an agency code",
    ),
    (
        EventType.DOCUMENT,
        examples.document,
        "/business",
        {"action": "REPLACE", "reason": "wrong date", "staff": None, "replacements": []},
        "must name the document it replaces",
    ),
    (
        EventType.DOCUMENT,
        examples.document,
        "/business",
        {
            "action": "NEW",
            "reason": None,
            "staff": None,
            "replacements": [{"document_id": "a", "organ_ids": []}],
        },
        "only REPLACE",
    ),
    (
        EventType.DOCUMENT,
        examples.document,
        "/occurred_at",
        datetime(2026, 11, 26, 9, 6, tzinfo=UTC),
        "in the future",
    ),
]


@pytest.mark.parametrize(("event_type", "make", "path", "value", "says"), CASES)
def test_rule_violation_is_reported_at_its_pointer(
    event_type: EventType, make: Callable[[], dict[str, Any]], path: str, value: Any, says: str
) -> None:
    record = _with(make(), path, value)
    problems = check(event_type, record, CTX)
    assert any(says in p.message for p in problems), problems
    assert all(p.pointer.startswith("/") for p in problems)


@pytest.mark.parametrize("event_type", list(EventType))
def test_examples_keep_every_rule(event_type: EventType) -> None:
    make: dict[str, Callable[[], dict[str, Any]]] = {
        "document": examples.document,
        "report": examples.report,
        "status": examples.status,
    }
    assert check(event_type, make[event_type.value](), CTX) == []


def test_clock_skew_tolerates_a_slightly_fast_sender() -> None:
    record = examples.document()
    record["occurred_at"] = CTX.now + timedelta(minutes=4)
    assert check(EventType.DOCUMENT, record, CTX) == []


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("from_organ", "organ_id"), "/from_organ/organ_id"),
        (("indicators", 0, "value", "float"), "/indicators/0/value"),
        (("signer", "SignerInfo", "position"), "/signer/position"),
        (("a/b", "c~d"), "/a~1b/c~0d"),
        ((), ""),
    ],
)
def test_pydantic_locations_become_json_pointers(loc: tuple[Any, ...], expected: str) -> None:
    assert pointer(loc) == expected
