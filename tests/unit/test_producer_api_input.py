"""Input that cannot lie about its type (issue 14, item 3): each refused, naming the field.

Each case is one the issue reproduced as accepted (or as a 500): now a 400 for a body that is
not JSON the axis accepts, a 422 naming the field for a value its schema cannot hold, and
nothing published.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from prometheus_client import CollectorRegistry

from lienthong.contract import examples
from lienthong.contract.jsonform import to_json
from lienthong.plumbing.settings import ProducerSettings, Settings
from lienthong.producer.bootstrap import build_producer
from tests.support.api import FakePublisher, auth, example_directory
from tests.support.api import document_json as document

VPCP, NGHE_AN = auth("vpcp"), auth("tinh-nghe-an")
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
async def client(publisher: FakePublisher) -> AsyncIterator[httpx.AsyncClient]:
    service = build_producer(
        Settings(producer=ProducerSettings(max_body_bytes=256 * 1024)),
        registry=CollectorRegistry(),
        directory=example_directory(),
        publisher=publisher,
    )
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        yield c


def _report(**changes: Any) -> dict[str, Any]:
    return {**to_json(examples.report(event_id=uuid4())), **changes}


def _errors(response: httpx.Response) -> dict[str, str]:
    return {e["pointer"]: e["message"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"subject": "a", "subject": "b"}', "duplicate key 'subject'"),
        ('{"revision": NaN}', "NaN is not a JSON number"),
        ('{"revision": -Infinity}', "-Infinity is not a JSON number"),
        ("[" * 50_000, "nested too deeply"),
    ],
    ids=["duplicate-key", "nan", "infinity", "deep"],
)
async def test_a_body_that_is_not_plain_json_is_400(
    client: httpx.AsyncClient, publisher: FakePublisher, body: str, says: str
) -> None:
    response = await client.post("/v1/reports", content=body, headers={**NGHE_AN, **JSON})
    assert response.status_code == 400, response.text
    assert says in response.json()["title"]
    assert publisher.sent == []


@pytest.mark.parametrize(
    ("change", "pointer", "says"),
    [
        ({"revision": 2**40}, "/revision", "less than or equal to 2147483647"),
        ({"revision": -(2**31) - 1}, "/revision", "greater than or equal to -2147483648"),
        ({"occurred_at": 123}, "/occurred_at", "RFC 3339 string"),
    ],
    ids=["int-over", "int-under", "time-as-number"],
)
async def test_a_report_value_its_avro_type_cannot_hold_is_422(
    client: httpx.AsyncClient,
    publisher: FakePublisher,
    change: dict[str, Any],
    pointer: str,
    says: str,
) -> None:
    response = await client.post("/v1/reports", json=_report(**change), headers=NGHE_AN)
    assert response.status_code == 422, response.text
    assert says in _errors(response)[pointer]
    assert publisher.sent == []


async def test_the_largest_int_avro_holds_is_accepted(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    response = await client.post("/v1/reports", json=_report(revision=2**31 - 1), headers=NGHE_AN)
    assert response.status_code == 202, response.text
    assert len(publisher.sent) == 1


@pytest.mark.parametrize(
    ("subject", "named"),
    [
        ("Quyết định \x1b[2J\x1b[31mREVOKED", "U+001B (control character)"),
        ("nul\x00here", "U+0000 (control character)"),
        ("carriage\rreturn", "U+000D (control character)"),
        ("c1 \x9b control", "U+009B (control character)"),
        ("gnp.exe\u202etxt", "U+202E (right-to-left override)"),
        ("isolate \u2066x\u2069", "U+2066 (left-to-right isolate)"),
    ],
    ids=["ansi", "nul", "cr", "c1", "rlo", "isolate"],
)
async def test_a_subject_with_a_control_or_bidi_character_is_422_naming_it(
    client: httpx.AsyncClient, publisher: FakePublisher, subject: str, named: str
) -> None:
    response = await client.post("/v1/documents", json=document(subject=subject), headers=VPCP)
    assert response.status_code == 422, response.text
    assert _errors(response)["/subject"] == f"Value error, text may not contain {named}"
    assert publisher.sent == []


async def test_tab_and_line_feed_and_vietnamese_text_are_kept(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    subject = "Về việc\tchỉ đạo\nđiều hành — “kinh tế” 2026"
    response = await client.post("/v1/documents", json=document(subject=subject), headers=VPCP)
    assert response.status_code == 202, response.text
    assert len(publisher.sent) == 1


async def test_a_replace_naming_another_agencys_document_is_422(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    ministry = "000.00.00.G06,2026/11/20,512/BTC-NSNN"
    business = {
        "action": "REPLACE",
        "reason": "thay thế",
        "staff": None,
        "replacements": [{"document_id": ministry, "organ_ids": ["000.00.00.H41"]}],
    }
    response = await client.post("/v1/documents", json=document(business=business), headers=VPCP)
    assert response.status_code == 422, response.text
    assert _errors(response)["/business/replacements/0/document_id"] == (
        f"{ministry} is not a document of 000.00.00.G22: an agency replaces only its own documents"
    )
    assert publisher.sent == []
