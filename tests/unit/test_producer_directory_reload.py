"""The producer API follows its directory file: a revoked key stops working without a restart."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from lienthong.plumbing.settings import DirectorySettings, ProducerSettings, Settings
from lienthong.producer.bootstrap import ProducerService, build_producer
from tests.support.api import EXAMPLE_DIRECTORY, FakePublisher, auth
from tests.support.api import document_json as document

DEMO_VPCP = hashlib.sha256(b"demo-key-vpcp").hexdigest()


def _service(path: Path, publisher: FakePublisher) -> ProducerService:
    settings = Settings(
        directory=DirectorySettings(path=path),
        producer=ProducerSettings(directory_check_interval_s=0.05),
    )
    return build_producer(settings, registry=CollectorRegistry(), publisher=publisher, live=True)


async def _post(service: ProducerService) -> int:
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        response = await client.post("/v1/documents", json=document(), headers=auth("vpcp"))
        return response.status_code


def _refused_reloads(service: ProducerService) -> float:
    value = service.registry.get_sample_value(
        "lienthong_producer_directory_reloads_total", {"outcome": "refused"}
    )
    return value or 0.0


async def test_a_replaced_key_is_refused_after_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    original = EXAMPLE_DIRECTORY.read_text(encoding="utf-8")
    assert DEMO_VPCP in original
    path.write_text(original, encoding="utf-8")
    service = _service(path, FakePublisher())
    assert await _post(service) == 202

    rotated = hashlib.sha256(b"a-new-key-for-vpcp").hexdigest()
    path.write_text(original.replace(DEMO_VPCP, rotated), encoding="utf-8")
    deadline = time.monotonic() + 5
    while (status := await _post(service)) == 202 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert status == 401


async def test_a_file_that_no_longer_loads_is_refused_and_the_old_directory_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(EXAMPLE_DIRECTORY.read_text(encoding="utf-8"), encoding="utf-8")
    service = _service(path, FakePublisher())
    path.write_text("agencies: [\n", encoding="utf-8")
    service.reload()  # as SIGHUP does: at the next request, whatever the interval
    assert await _post(service) == 202
    assert _refused_reloads(service) == 1
