"""Run the producer API for tests: in-process with a fake publisher, or served with a real one."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import uvicorn

from lienthong.contract import examples
from lienthong.contract.errors import ContractError
from lienthong.contract.jsonform import to_json
from lienthong.contract.outgoing import Outgoing
from lienthong.directory.loader import load_directory
from lienthong.directory.model import Directory
from lienthong.plumbing.settings import Settings
from lienthong.producer.bootstrap import ProducerService, build_producer
from lienthong.producer.delivered import Delivered
from lienthong.producer.errors import BrokerUnavailable
from tests.support.ports import free_port

EXAMPLE_DIRECTORY = Path(__file__).parents[2] / "deploy" / "directory.example.yaml"


def demo_key(endpoint_id: str) -> str:
    """Return the demo API key whose hash deploy/directory.example.yaml holds."""
    return f"demo-key-{endpoint_id}"


def auth(endpoint_id: str) -> dict[str, str]:
    """Return the headers of an authenticated JSON request from `endpoint_id`."""
    return {"Authorization": f"Bearer {demo_key(endpoint_id)}", "Content-Type": "application/json"}


def document_json(**changes: Any) -> dict[str, Any]:
    """Return the example document in its JSON form with a fresh event id, and `changes`."""
    return {**to_json(examples.document(event_id=uuid4())), **changes}


def example_directory() -> Directory:
    """Load the example directory."""
    return load_directory(EXAMPLE_DIRECTORY)


class FakePublisher:
    """A publisher at the port: records what it was given, or fails when told to."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.reachable = True
        self.last_error = ""
        self.fail_with: ContractError | BrokerUnavailable | None = None
        self.delay_s = 0.0

    @property
    def topic(self) -> str:
        """Return the fake topic name."""
        return "lienthong.inbound"

    async def publish(self, out: Outgoing) -> Delivered:
        """Record `out` and return a made-up position, or raise the configured failure."""
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(out)
        return Delivered(self.topic, 0, len(self.sent) - 1)

    def start(self) -> None:
        """Do nothing: there is no broker."""

    def close(self, timeout_s: float = 10.0) -> None:
        """Do nothing: there is no broker."""


@contextmanager
def served(settings: Settings) -> Iterator[tuple[str, ProducerService]]:
    """Serve the real producer (real Kafka publisher) on a free port; yield its base URL."""
    port = free_port()
    service = build_producer(settings)
    service.publisher.start()
    config = uvicorn.Config(
        service.app, host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", service
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.publisher.close()
