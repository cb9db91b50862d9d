"""The API's edges a demanding client finds: records too large for Kafka, a publish that dies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry

from lienthong.plumbing.kafka_confluent import RECORD_LIMIT
from lienthong.plumbing.settings import Settings
from lienthong.producer.bootstrap import build_producer
from tests.support.api import FakePublisher, auth, example_directory
from tests.support.api import document_json as document

VPCP = auth("vpcp")


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
async def client(publisher: FakePublisher) -> AsyncIterator[httpx.AsyncClient]:
    service = build_producer(  # the default body limit, 1 MiB
        Settings(), registry=CollectorRegistry(), directory=example_directory(), publisher=publisher
    )
    transport = httpx.ASGITransport(app=service.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        yield c


async def test_a_body_within_the_limit_whose_record_would_not_fit_kafka_is_413(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    body = document(content_summary="x" * (RECORD_LIMIT + 1))  # ASCII: the JSON is < 1 MiB
    response = await client.post("/v1/documents", json=body, headers=VPCP)
    assert response.status_code == 413, response.text
    assert f"at most {RECORD_LIMIT} fit" in response.json()["title"]
    assert publisher.sent == []
    fits = document(content_summary="x" * (RECORD_LIMIT - 10_000))
    assert (await client.post("/v1/documents", json=fits, headers=VPCP)).status_code == 202


async def test_a_publish_that_dies_frees_its_event_id_for_the_retry(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    # Not a broker error: a bug, or the task cancelled at shutdown. The retry must publish,
    # not wait for an answer that never comes.
    body = document()
    publisher.fail_with = RuntimeError("the publisher broke")  # type: ignore[assignment]
    first = await client.post("/v1/documents", json=body, headers=VPCP)
    assert first.status_code == 500
    publisher.fail_with = None
    retry = await client.post("/v1/documents", json=body, headers=VPCP)
    assert retry.status_code == 202, retry.text
    assert len(publisher.sent) == 1
