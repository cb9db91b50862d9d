"""Fair use (issue 14, item 5): over its rate an endpoint gets 429 and Retry-After; others not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from prometheus_client import CollectorRegistry

from lienthong.plumbing.settings import ProducerSettings, Settings
from lienthong.producer.bootstrap import ProducerService, build_producer
from lienthong.producer.ratelimit import RateLimiter
from tests.support.api import FakePublisher, auth, example_directory
from tests.support.api import document_json as document


def test_a_bucket_refills_at_its_rate_and_holds_its_burst() -> None:
    now = [0.0]
    limiter = RateLimiter(10, 20, clock=lambda: now[0])
    assert limiter.take("a", 20) == 0
    assert limiter.take("a", 5) == 1  # empty: 5 tokens come in 0.5 s, said as 1 s
    assert limiter.take("b", 20) == 0  # another endpoint has its own bucket
    now[0] = 0.5
    assert limiter.take("a", 5) == 0
    now[0] = 100.0
    assert limiter.take("a", 21) == 0  # larger than the burst: passes alone from a full bucket
    assert limiter.take("a", 1) == 1
    assert RateLimiter(0, 1).take("a", 10**9) == 0  # 0: no limit


@pytest.fixture
async def service() -> AsyncIterator[tuple[ProducerService, httpx.AsyncClient]]:
    settings = Settings(
        producer=ProducerSettings(rate_limit_events_per_s=0.5, rate_limit_burst=3, max_batch=10)
    )
    built = build_producer(
        settings,
        registry=CollectorRegistry(),
        directory=example_directory(),
        publisher=FakePublisher(),
    )
    transport = httpx.ASGITransport(app=built.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield built, client


async def test_an_endpoint_over_its_rate_gets_429_and_another_endpoint_does_not(
    service: tuple[ProducerService, httpx.AsyncClient],
) -> None:
    built, client = service
    batch = {"events": [document(event_id=str(uuid4())) for _ in range(3)]}
    assert (await client.post("/v1/documents:batch", json=batch, headers=auth("vpcp"))).is_success
    refused = await client.post("/v1/documents", json=document(), headers=auth("vpcp"))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()["title"] == (
        "endpoint vpcp is over its limit of 0.5 events/s (burst 3): retry after 2 s"
    )
    refused_events = built.registry.get_sample_value(
        "lienthong_producer_rate_limited_events_total", {"endpoint": "vpcp"}
    )
    assert refused_events == 1
    nghe_an = document(
        from_organ={"organ_id": "000.00.00.H41", "organ_name": "UBND tỉnh Nghệ An"},
        document_id="000.00.00.H41,2026/11/25,1/UBND",
        recipients=["000.00.00.G22"],
    )
    other = await client.post("/v1/documents", json=nghe_an, headers=auth("tinh-nghe-an"))
    assert other.status_code == 202, other.text
