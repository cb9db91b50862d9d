"""The pipeline benchmark's load: fresh ~1 KB documents, at a fixed rate or as fast as taken.

Through the API, batches go to POST /v1/documents:batch over keep-alive connections of the
lean client in bench/ingest.py (RawConnection: about 0.15 ms of CPU a request, where httpx
takes 2 ms), at most one request in flight per connection. At a fixed rate, batch k is due at
k x batch / rate seconds; it leaves on the first free connection, and how late the latest
batch left is reported, so a load that fell behind says so. At saturation every connection
posts its next batch as soon as its previous one is answered. Through the Python client
(`Publisher.publish_many`, kafka-python) batches are paced the same way from one thread.
Each document's occurred_at is stamped when its batch is built, just before it is sent:
end-to-end latency runs from there to the row's persisted_at.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from bench.fanout import DOCUMENT_BYTES, content_for, document
from bench.ingest import Meter, Post, RawConnection, kafka_settings
from bench.pipeline_watch import percentiles
from lienthong.contract.codec import Codec
from lienthong.contract.jsonform import to_json
from lienthong.producer.client import Publisher
from lienthong.producer.errors import ProducerError

BATCH_PATH = "/v1/documents:batch"
_FIRST_NUMBER = 100_000


@dataclass(frozen=True, slots=True)
class Load:
    """What to offer: documents/s (None: as fast as taken), for how long, in what batches."""

    rate: float | None
    seconds: float
    count: int | None = None
    batch: int = 100
    clients: int = 8
    via: str = "api"  # or "client"

    @property
    def label(self) -> str:
        """Return how the load is named in tables."""
        return "saturation" if self.rate is None else f"{self.rate:,.0f} docs/s"


@dataclass(frozen=True, slots=True)
class Offered:
    """What the load did: documents accepted in a window, and how it kept to its schedule."""

    load: Load
    accepted: int
    failed: int
    started: float  # epoch seconds
    seconds: float
    behind_s: float  # how late the latest batch left against its schedule (fixed rate)
    request_ms: Mapping[str, float]  # p50, p99 of a batch's answer time
    first_error: str | None = None

    @property
    def rate(self) -> float:
        """Return documents accepted per second."""
        return self.accepted / self.seconds if self.seconds > 0 else 0.0

    @property
    def kept_up(self) -> bool:
        """Tell whether a fixed rate was offered in full (always true at saturation)."""
        if self.load.rate is None:
            return self.failed == 0
        return self.failed == 0 and self.rate >= 0.97 * self.load.rate and self.behind_s < 1.0


class Documents:
    """Fresh documents from the sender, each naming the next of `recipients`, `size` bytes."""

    def __init__(self, codec: Codec, recipients: Sequence[str], size: int = DOCUMENT_BYTES) -> None:
        # The recipient names are as long as each other, so one content fits them all.
        content = content_for(codec, recipients[0], size)
        self._bases = [to_json(document(0, r, content)) for r in recipients]
        self._number = _FIRST_NUMBER
        self.issued = 0

    def events(self, count: int) -> list[dict[str, Any]]:
        """Return `count` documents in JSON form, occurred now, each with its own id and number."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        out = []
        for _ in range(count):
            base = self._bases[self.issued % len(self._bases)]
            self.issued += 1
            number = str(_FIRST_NUMBER + self.issued)
            out.append(
                {
                    **base,
                    "event_id": str(uuid4()),
                    "occurred_at": now,
                    "document_id": base["document_id"].replace(str(self._number), number, 1),
                    "code": {**base["code"], "code_number": number},
                }
            )
        return out

    def body(self, count: int) -> bytes:
        """Return a batch request's body of `count` fresh documents."""
        return json.dumps({"events": self.events(count)}, ensure_ascii=False).encode()


def _answered(status: int, body: bytes) -> tuple[int, str | None]:
    """Return how many documents of a batch the API accepted, and why others were not."""
    if status != 200:
        return 0, f"{status} {body[:300]!r}"
    answer = json.loads(body)
    why = next((json.dumps(r)[:300] for r in answer["results"] if r["status"] != 202), None)
    return int(answer["accepted"]), why


def _schedule(load: Load, start: float) -> Iterator[tuple[float, int]]:
    """Yield (due time, documents) for each batch until the count or the time is reached."""
    sent, k = 0, 0
    limit = load.count if load.count is not None else 1 << 62
    while sent < limit:
        due = start + k * load.batch / load.rate if load.rate else time.perf_counter()
        if due >= start + load.seconds:
            return
        size = min(load.batch, limit - sent)
        yield due, size
        sent, k = sent + size, k + 1


async def _drive_api(
    url: str, headers: Mapping[str, str], docs: Documents, load: Load, meter: Meter
) -> Offered:
    async with AsyncExitStack() as stack:
        posts: list[Post] = [
            await stack.enter_async_context(RawConnection.open(url, BATCH_PATH, headers))
            for _ in range(load.clients)
        ]
        idle: asyncio.Queue[Post] = asyncio.Queue()
        for post in posts:
            idle.put_nowait(post)
        accepted = failed = 0
        first: str | None = None
        answers: list[float] = []
        pending: set[asyncio.Task[None]] = set()

        async def send(post: Post, body: bytes, count: int) -> None:
            nonlocal accepted, failed, first
            sent = time.perf_counter()
            status, answer = await post(body)
            answers.append(1000 * (time.perf_counter() - sent))
            ok, why = _answered(status, answer)
            accepted, failed, first = accepted + ok, failed + count - ok, first or why
            meter.done += ok
            idle.put_nowait(post)

        wall, start, behind = time.time(), time.perf_counter(), 0.0
        for due, count in _schedule(load, start):
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            post = await idle.get()
            behind = max(behind, time.perf_counter() - due)
            task = asyncio.create_task(send(post, docs.body(count), count))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - start
    return Offered(
        load, accepted, failed, wall, elapsed, behind, percentiles(answers, (50, 99)), first
    )


def _drive_client(bootstrap: str, topic: str, docs: Documents, load: Load, meter: Meter) -> Offered:
    accepted = failed = 0
    first: str | None = None
    answers: list[float] = []
    with Publisher(kafka_settings(bootstrap), topic=topic) as publisher:
        wall, start, behind = time.time(), time.perf_counter(), 0.0
        for due, count in _schedule(load, start):
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            behind = max(behind, time.perf_counter() - due)
            sent = time.perf_counter()
            results = publisher.publish_many(("document", e) for e in docs.events(count))
            answers.append(1000 * (time.perf_counter() - sent))
            bad = [str(r) for r in results if isinstance(r, ProducerError)]
            accepted, failed = accepted + len(results) - len(bad), failed + len(bad)
            first = first or (bad[0] if bad else None)
            meter.done += len(results) - len(bad)
        elapsed = time.perf_counter() - start
    return Offered(
        load, accepted, failed, wall, elapsed, behind, percentiles(answers, (50, 99)), first
    )


def offer(
    load: Load,
    docs: Documents,
    meter: Meter,
    *,
    api_url: str,
    headers: Mapping[str, str],
    bootstrap: str,
    topic: str,
) -> Offered:
    """Offer the load through the API or the Python client; return what was accepted."""
    if load.via == "client":
        return _drive_client(bootstrap, topic, docs, load, meter)
    return asyncio.run(_drive_api(api_url, headers, docs, load, meter))
