"""Every row of the API's answer table, in-process, with a fake publisher at the port."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
from prometheus_client import CollectorRegistry

from lienthong.contract import examples
from lienthong.contract.codec import Codec
from lienthong.contract.headers import EventHeaders
from lienthong.contract.jsonform import to_json
from lienthong.contract.schemas import SchemaStore
from lienthong.plumbing.settings import ProducerSettings, Settings
from lienthong.producer.bootstrap import build_producer
from lienthong.producer.errors import BrokerUnavailable
from tests.support.api import FakePublisher, auth, example_directory
from tests.support.api import document_json as document

CODEC = Codec(SchemaStore.from_package())
VPCP = auth("vpcp")
NGHE_AN = auth("tinh-nghe-an")

Client = Callable[..., Any]


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
async def client(publisher: FakePublisher) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(producer=ProducerSettings(max_body_bytes=64 * 1024, max_batch=5))
    service = build_producer(
        settings,
        registry=CollectorRegistry(),
        directory=example_directory(),
        publisher=publisher,
    )
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        yield c


async def test_accepted_document_is_published_once_with_contract_headers(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    body = document()
    response = await client.post("/v1/documents", json=body, headers=VPCP)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer == {
        "event_id": body["event_id"],
        "event_type": "document",
        "topic": "lienthong.inbound",
        "partition": 0,
        "offset": 0,
    }
    [out] = publisher.sent
    assert out.key == b"000.00.00.G22,2026/11/25,7816/VPCP-KSTT"
    decoded = CODEC.decode(out.value)
    assert str(decoded.record["event_id"]) == body["event_id"]
    headers = EventHeaders.from_kafka(out.headers)
    assert headers.sender == "000.00.00.G22"
    assert headers.event_type.value == "document"


async def test_server_fills_event_id_and_time_when_absent(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    body = document()
    del body["event_id"], body["occurred_at"]
    response = await client.post("/v1/documents", json=body, headers=VPCP)
    assert response.status_code == 202, response.text
    decoded = CODEC.decode(publisher.sent[0].value)
    assert str(decoded.record["event_id"]) == response.json()["event_id"]


async def test_report_and_status_are_accepted(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    report = to_json(examples.report(event_id=uuid4()))
    status = to_json(examples.status(event_id=uuid4()))
    assert (await client.post("/v1/reports", json=report, headers=NGHE_AN)).status_code == 202
    assert (await client.post("/v1/statuses", json=status, headers=NGHE_AN)).status_code == 202
    assert [o.event_type.value for o in publisher.sent] == ["report", "status"]
    assert publisher.sent[1].key == b"000.00.00.G22,2026/11/25,7816/VPCP-KSTT"


def _errors(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert body["status"] == response.status_code
    return {e["pointer"]: e["message"] for e in body["errors"]}


@pytest.mark.parametrize(
    ("change", "pointer", "says"),
    [
        ({"subject": 42}, "/subject", "valid string"),
        ({"recipients": "all-provinces"}, "/recipients", "valid list"),
        ({"surprise": 1}, "/surprise", "Extra inputs"),
        ({"steering_type": "MAYBE"}, "/steering_type", "NOT_DIRECTIVE"),
        ({"due_date": "2026-13-01"}, "/due_date", "date"),
        ({"occurred_at": "2026-11-26T08:30:15"}, "/occurred_at", "timezone"),
        ({"recipients": ["nowhere"]}, "/recipients/0", "neither a known agency code nor a group"),
        ({"recipients": ["000.00.00.G99"]}, "/recipients/0", "not in the directory"),
        ({"due_date": "2026-11-01"}, "/due_date", "before the promulgation date"),
        ({"document_id": "000.00.00.H41,2026/11/25,1/X"}, "/document_id", "sender's edXML id"),
        ({"business": {"action": "REVOKE"}}, "/business/reason", "reason is required"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, "/occurred_at", "in the future"),
    ],
    ids=[
        "type",
        "not-list",
        "unknown-field",
        "enum",
        "bad-date",
        "naive-time",
        "unknown-group",
        "unknown-agency",
        "due-before",
        "foreign-id",
        "revoke-reason",
        "future",
    ],
)
async def test_invalid_document_gets_422_naming_the_field(
    client: httpx.AsyncClient,
    publisher: FakePublisher,
    change: dict[str, Any],
    pointer: str,
    says: str,
) -> None:
    response = await client.post("/v1/documents", json=document(**change), headers=VPCP)
    assert response.status_code == 422, response.text
    errors = _errors(response)
    assert pointer in errors, errors
    assert says in errors[pointer]
    assert publisher.sent == []


async def test_every_problem_is_listed_not_only_the_first(client: httpx.AsyncClient) -> None:
    body = document(subject=None, code={"code_number": 7816})
    response = await client.post("/v1/documents", json=body, headers=VPCP)
    assert response.status_code == 422
    assert {"/subject", "/code/code_notation", "/code/code_number"} <= set(_errors(response))


@pytest.mark.parametrize(
    ("headers", "status", "says"),
    [
        ({"Content-Type": "application/json"}, 401, "missing or unknown API key"),
        ({**VPCP, "Authorization": "Bearer not-a-key"}, 401, "missing or unknown API key"),
        ({**VPCP, "Authorization": "Basic dXNlcjpwdw=="}, 401, "missing or unknown API key"),
        ({**VPCP, "Content-Type": "text/plain"}, 415, "must be application/json"),
        ({"Authorization": VPCP["Authorization"]}, 415, "not missing"),
    ],
    ids=["no-key", "unknown-key", "basic-auth", "text", "no-content-type"],
)
async def test_refused_before_reading_the_event(
    client: httpx.AsyncClient, headers: dict[str, str], status: int, says: str
) -> None:
    response = await client.post(
        "/v1/documents", content=json.dumps(document()).encode(), headers=headers
    )
    assert response.status_code == status
    assert says in response.json()["title"]
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_sender_of_another_endpoint_is_forbidden(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    response = await client.post("/v1/documents", json=document(), headers=NGHE_AN)
    assert response.status_code == 403
    assert _errors(response)["/from_organ/organ_id"] == (
        "agency 000.00.00.G22 is not served by endpoint tinh-nghe-an"
    )
    assert publisher.sent == []


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    huge = document(content_summary="x" * 70_000)
    response = await client.post("/v1/documents", json=huge, headers=VPCP)
    assert response.status_code == 413
    assert "over the limit of 65536" in response.json()["title"]


async def test_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b" " * 1024

    response = await client.post("/v1/documents", content=chunks(), headers=VPCP)
    assert response.status_code == 413


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/documents", content=b'{"subject": ', headers=VPCP)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["title"]


async def test_retry_with_same_id_and_body_replays_without_publishing_again(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    body = document()
    first = await client.post("/v1/documents", json=body, headers=VPCP)
    reordered = dict(reversed(list(body.items())))  # same body, other key order
    second = await client.post("/v1/documents", json=reordered, headers=VPCP)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert len(publisher.sent) == 1


async def test_retry_written_by_another_json_library_replays(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    body = to_json(examples.report(event_id=uuid4()))
    first = await client.post("/v1/reports", json=body, headers=NGHE_AN)
    rewritten = {**body, "occurred_at": body["occurred_at"].replace("+00:00", "Z")}
    rewritten["indicators"] = [
        {**i, "value": 15210} if i["value"] == 15210.0 else i for i in body["indicators"]
    ]
    second = await client.post("/v1/reports", json=rewritten, headers=NGHE_AN)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json()
    assert len(publisher.sent) == 1


async def test_a_string_is_not_a_number(client: httpx.AsyncClient) -> None:
    body = {**to_json(examples.report(event_id=uuid4())), "revision": "0"}
    response = await client.post("/v1/reports", json=body, headers=NGHE_AN)
    assert response.status_code == 422
    assert "/revision" in _errors(response)


async def test_concurrent_retries_publish_once(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    publisher.delay_s = 0.05
    body = document()
    answers = await asyncio.gather(
        *(client.post("/v1/documents", json=body, headers=VPCP) for _ in range(5))
    )
    assert {a.status_code for a in answers} == {202}
    assert len({a.text for a in answers}) == 1
    assert len(publisher.sent) == 1


async def test_same_id_different_body_is_409(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    body = document()
    assert (await client.post("/v1/documents", json=body, headers=VPCP)).status_code == 202
    changed = {**body, "subject": "Another subject"}
    response = await client.post("/v1/documents", json=changed, headers=VPCP)
    assert response.status_code == 409
    assert "already used with a different body" in _errors(response)["/event_id"]
    assert len(publisher.sent) == 1


async def test_broker_unavailable_is_503_with_retry_after_and_retry_then_works(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    body = document()
    publisher.fail_with = BrokerUnavailable("Kafka is unreachable: down", retry_after_s=5)
    response = await client.post("/v1/documents", json=body, headers=VPCP)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "not published" in response.json()["title"]
    publisher.fail_with = None
    retry = await client.post("/v1/documents", json=body, headers=VPCP)
    assert retry.status_code == 202
    assert len(publisher.sent) == 1


async def test_batch_answers_each_item_in_order(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    good, bad, foreign = document(), document(recipients=["nowhere"]), document()
    foreign["from_organ"] = {**foreign["from_organ"], "organ_id": "000.00.00.H41"}
    response = await client.post(
        "/v1/documents:batch", json={"events": [good, bad, foreign, good]}, headers=VPCP
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == [202, 422, 403, 202]
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3]
    assert body["results"][0]["event_id"] == good["event_id"]
    assert body["results"][3]["offset"] == body["results"][0]["offset"]  # replayed, not re-sent
    assert body["results"][1]["errors"][0]["pointer"] == "/recipients/0"
    assert (body["accepted"], body["failed"]) == (2, 2)
    assert len(publisher.sent) == 1


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"events": [{}] * 6}, "6 events; a batch holds at most 5"),
        ([document()], 'expected {"events": [...]}'),
        ({"events": [], "more": 1}, 'expected {"events": [...]}'),
    ],
    ids=["too-many", "bare-list", "extra-key"],
)
async def test_bad_batch_is_refused_whole(
    client: httpx.AsyncClient, payload: Any, says: str
) -> None:
    response = await client.post("/v1/documents:batch", json=payload, headers=VPCP)
    assert response.status_code == 422
    body = response.json()
    assert says in body["title"] or any(says in e["message"] for e in body["errors"])


async def test_health_readiness_and_metrics(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "checks": {}}
    assert (await client.get("/readyz")).status_code == 200
    await client.post("/v1/documents", json=document(), headers=VPCP)
    await client.post("/v1/documents", json=document(recipients=[]), headers=VPCP)
    publisher.reachable, publisher.last_error = False, "all brokers down"
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"] == "all brokers down"
    text = (await client.get("/metrics")).text
    assert 'lienthong_producer_events_total{event_type="document",outcome="accepted"} 1.0' in text
    assert 'lienthong_producer_events_total{event_type="document",outcome="invalid"} 1.0' in text
    assert 'lienthong_producer_http_requests_total{code="202",route="/v1/documents"} 1.0' in text


async def test_openapi_document_describes_the_event_bodies(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/Document"}
    schemas = spec["components"]["schemas"]
    assert {"Document", "Report", "Status", "Organization", "ProblemBody"} <= set(schemas)
    assert "event_id" not in schemas["Document"].get("required", [])
    assert "subject" in schemas["Document"]["required"]
    batch = spec["paths"]["/v1/reports:batch"]["post"]["requestBody"]["content"]
    assert batch["application/json"]["schema"]["properties"]["events"]["maxItems"] == 5
