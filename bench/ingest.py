"""Ingestion rate of the HTTP API and the Python client, beside raw confluent-kafka as the ceiling.

Run: .venv/bin/python -m bench.ingest [--count N] [--seconds S] [--json PATH]
                                       [--load-generator raw|httpx]
It starts its own broker (tests.support.kafka: temp dir, free ports), a fresh inbound topic of
6 partitions and `lienthong producer serve` as a separate process, as deployed, then measures
on that broker and with the same documents (the example directive, each with its own event id
and number, so keys spread over the partitions): raw produce of the encoded records, the API
one document per request at 1, 8 and 64 clients, the API's batch form, and the Python client.
Each figure runs for S seconds or N documents, whichever comes first.

The load generator is this one process, on the same cores as the API and the broker; the CPU
columns say what each of the three used during each figure. Its HTTP clients are by default a
minimal keep-alive HTTP/1.1 client on asyncio streams, because httpx costs about 2 ms of CPU a
request on a 2-core box, as much as the API itself, and would measure itself; `--load-generator
httpx` uses one httpx.AsyncClient per client instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from itertools import count as counter
from pathlib import Path
from typing import Any, TypedDict, cast
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
from confluent_kafka import KafkaError, Message

from lienthong.contract import examples
from lienthong.contract.codec import Codec
from lienthong.contract.jsonform import to_json
from lienthong.contract.outgoing import Outgoing, prepare
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.devtools.kafka import settings_for
from lienthong.plumbing.kafka_confluent import make_producer
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import KafkaSettings, Settings
from lienthong.producer.client import Publisher
from lienthong.producer.errors import ProducerError
from tests.support.api import EXAMPLE_DIRECTORY, auth
from tests.support.environ import inherited_env
from tests.support.kafka import LocalKafka, create_topics, unique_name
from tests.support.ports import free_port

PARTITIONS = 6
BATCH = 100
SINGLE_CLIENTS = (1, 8, 64)
BATCH_CLIENTS = 8
POOL = 2000  # distinct documents (keys) the figures cycle through
AIM_BATCH_SHARE = 0.25
AIM_P99_MS = 20.0
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure: documents acknowledged in a window, with latencies and CPU shares."""

    name: str
    how: str
    done: int
    seconds: float
    failed: int = 0
    first_error: str | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core per process

    @property
    def rate(self) -> float:
        """Return documents acknowledged per second."""
        return self.done / self.seconds if self.seconds > 0 else 0.0


@dataclass(slots=True)
class Meter:
    """What the running figure has done so far, for the progress line."""

    label: str = ""
    done: int = 0
    started: float = field(default_factory=time.perf_counter)

    def begin(self, label: str) -> None:
        """Start counting a new figure."""
        self.label, self.done, self.started = label, 0, time.perf_counter()


class Documents:
    """The documents every figure sends: the example directive, each with its own number."""

    def __init__(self, size: int) -> None:
        codec = Codec(SchemaStore.from_package())
        records = [examples.document(event_id=uuid4(), number=str(10_000 + i)) for i in range(size)]
        self.encoded = [prepare(codec, EventType.DOCUMENT, r) for r in records]
        self.events = [to_json(r) for r in records]
        # JSON bodies split around the event id, so a fresh copy costs a uuid4 and a join.
        self._templates = [self._split(e) for e in self.events]

    @staticmethod
    def _split(event: dict[str, Any]) -> tuple[bytes, bytes]:
        marker = "@@event-id@@"
        text = json.dumps({**event, "event_id": marker}, ensure_ascii=False)
        head, tail = text.split(marker)
        return head.encode(), tail.encode()

    @property
    def json_bytes(self) -> int:
        """Return the size of one single-document request body."""
        return sum(map(len, self._templates[0])) + len(str(uuid4()))

    def bodies(self) -> Iterator[bytes]:
        """Yield JSON documents with fresh event ids, cycling through the pool, forever."""
        for i in counter():
            head, tail = self._templates[i % len(self._templates)]
            yield head + str(uuid4()).encode() + tail

    def batches(self, size: int) -> Iterator[bytes]:
        """Yield `{"events": [...]}` bodies of `size` fresh documents, forever."""
        bodies = self.bodies()
        while True:
            yield b'{"events":[' + b",".join(next(bodies) for _ in range(size)) + b"]}"

    def fresh_events(self) -> Iterator[dict[str, Any]]:
        """Yield the documents as JSON objects with fresh event ids, forever."""
        for i in counter():
            yield {**self.events[i % len(self.events)], "event_id": str(uuid4())}


class CpuWatch:
    """CPU time of named processes (this one included) over a window, in % of one core."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self._pids = dict(pids)
        self._start: dict[str, float] = {}
        self._at = 0.0

    def start(self) -> None:
        """Take the first reading."""
        self._start, self._at = self._read(), time.perf_counter()

    def stop(self) -> dict[str, float]:
        """Return each process's share of one core since `start`."""
        end, elapsed = self._read(), time.perf_counter() - self._at
        return {
            name: round(100 * (end[name] - self._start[name]) / elapsed, 1)
            for name in end
            if name in self._start and elapsed > 0
        }

    def _read(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        seconds = {"bench": usage.ru_utime + usage.ru_stime}
        for name, pid in self._pids.items():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()  # utime, stime: fields 14, 15 of stat
            seconds[name] = (int(fields[11]) + int(fields[12])) / _TICK
        return seconds


def kafka_settings(bootstrap: str) -> KafkaSettings:
    """Return the Kafka settings the served API gets: this broker's, with its credentials."""
    return settings_for(bootstrap)


def _percentiles(latencies: Sequence[float]) -> tuple[float | None, float | None]:
    if len(latencies) < 2:
        return None, None
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return round(cuts[49] * 1000, 2), round(cuts[98] * 1000, 2)


def measure_ceiling(
    bootstrap: str,
    topic: str,
    records: Sequence[Outgoing],
    *,
    count: int,
    seconds: float,
    meter: Meter,
) -> Figure:
    """Produce the encoded records with the API's producer settings; return acks per second."""
    kafka = kafka_settings(bootstrap)
    # The API's producer gives up on a record after the publish timeout; the ceiling does too.
    timeout_ms = Settings.from_env().producer.publish_timeout_ms
    overrides: dict[str, Any] = {"delivery.timeout.ms": timeout_ms}
    producer = make_producer(kafka, **overrides)
    acked, errors = 0, list[str]()

    def on_delivery(err: KafkaError | None, _: Message) -> None:
        nonlocal acked
        if err is None:
            acked += 1
            meter.done += 1
        else:
            errors.append(err.str())

    def produce(out: Outgoing) -> None:
        while True:
            try:
                headers = cast("list[tuple[str, str | bytes | None]]", out.headers)
                producer.produce(
                    topic, out.value, out.key, headers=headers, on_delivery=on_delivery
                )
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.005)
            else:
                return

    for out in records[:100]:  # warm-up: connect, fetch metadata, open every partition
        produce(out)
    producer.flush(30)
    acked, meter.done = 0, 0
    start = time.perf_counter()
    deadline, sent = start + seconds, 0
    while sent < count and (sent % 1000 or time.perf_counter() < deadline):
        produce(records[sent % len(records)])
        sent += 1
        if sent % 100 == 0:
            producer.poll(0)
    producer.flush(60)
    elapsed = time.perf_counter() - start
    how = (
        "confluent-kafka Producer as the API's: idempotent, acks=all, murmur2_random,"
        f" linger {kafka.linger_ms} ms, {kafka.compression}"
    )
    first = errors[0] if errors else None
    return Figure("ceiling: raw produce", how, acked, elapsed, sent - acked, first)


Post = Callable[[bytes], Awaitable[tuple[int, bytes]]]


class RawConnection:
    """Post prebuilt bodies over one keep-alive HTTP/1.1 connection: a load that spares the CPU.

    About 0.15 ms of CPU a request on the 2-core box, where httpx takes about 2 ms.
    """

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str, path: str, headers: Mapping[str, str]) -> AsyncIterator[Post]:
        """Connect to `url` and yield a function that posts one body to `path`."""
        parsed = urlsplit(url)
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
        reader, writer = await asyncio.open_connection(host, port)
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode()
        connection = cls(reader)

        async def post(body: bytes) -> tuple[int, bytes]:
            writer.write(b"%s%d\r\n\r\n%s" % (head, len(body), body))
            return await connection._answer()

        try:
            yield post
        finally:
            writer.close()

    async def _answer(self) -> tuple[int, bytes]:
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.split(":", 1) for line in header_lines if ":" in line)
        length = {k.lower(): v for k, v in fields.items()}.get("content-length")
        if length is None:  # uvicorn sends Content-Length for every JSON answer
            raise RuntimeError(f"an answer without Content-Length: {head!r}")
        return int(status_line.split()[1]), await self._reader.readexactly(int(length))


@asynccontextmanager
async def httpx_client(url: str, path: str, headers: Mapping[str, str]) -> AsyncIterator[Post]:
    """Yield a function that posts one body to `path` with its own httpx.AsyncClient."""
    async with httpx.AsyncClient(base_url=url, headers=dict(headers), timeout=60) as http:

        async def post(body: bytes) -> tuple[int, bytes]:
            response = await http.post(path, content=body)
            return response.status_code, response.content

        yield post


LOAD_GENERATORS: Mapping[str, Callable[[str, str, Mapping[str, str]], AsyncContextManager[Post]]]
LOAD_GENERATORS = {"raw": RawConnection.open, "httpx": httpx_client}
LOAD_GENERATOR_HOW = {
    "raw": "a minimal keep-alive HTTP/1.1 client on asyncio streams",
    "httpx": "httpx.AsyncClient",
}


def _accepted(status: int, body: bytes, docs: int) -> tuple[int, str | None]:
    """Return how many documents of one request the API accepted, and why others were not."""
    if docs == 1:
        return (1, None) if status == 202 else (0, f"{status} {body[:300]!r}")
    if status != 200:
        return 0, f"{status} {body[:300]!r}"
    answer = json.loads(body)
    why = next((json.dumps(r)[:300] for r in answer["results"] if r["status"] != 202), None)
    return int(answer["accepted"]), why


async def _drive(
    url: str,
    path: str,
    bodies: Iterator[bytes],
    *,
    docs: int,
    clients: int,
    generator: str,
    limit: int,
    seconds: float,
    meter: Meter,
) -> tuple[int, int, str | None, list[float], float]:
    """Post bodies of `docs` documents from `clients` concurrent clients until the limits."""
    headers = auth("vpcp")
    opened = LOAD_GENERATORS[generator]
    async with AsyncExitStack() as stack:
        posts = [
            await stack.enter_async_context(opened(url, path, headers)) for _ in range(clients)
        ]
        # Warm-up, untimed: one request on every connection.
        await asyncio.gather(*(post(next(bodies)) for post in posts))
        meter.begin(meter.label)
        ok = failed = issued = 0
        first_error: str | None = None
        latencies: list[float] = []
        start = time.perf_counter()
        deadline = start + seconds

        async def client(post: Post) -> None:
            nonlocal ok, failed, issued, first_error
            while issued < limit and time.perf_counter() < deadline:
                issued += docs  # one event loop: no other client runs until the await
                body = next(bodies)
                sent = time.perf_counter()
                status, answer = await post(body)
                latencies.append(time.perf_counter() - sent)
                accepted, why = _accepted(status, answer, docs)
                ok, failed = ok + accepted, failed + docs - accepted
                first_error = first_error or why
                meter.done += accepted

        await asyncio.gather(*(client(post) for post in posts))
        return ok, failed, first_error, latencies, time.perf_counter() - start


def measure_http(
    url: str,
    documents: Documents,
    clients: int,
    batch: int | None = None,
    *,
    generator: str = "raw",
    count: int,
    seconds: float,
    meter: Meter,
) -> Figure:
    """Post fresh documents to the API, one per request or `batch` per request."""
    if batch is None:
        path, bodies, docs = "/v1/documents", documents.bodies(), 1
        name = f"HTTP single, {clients} client{'s' if clients > 1 else ''}"
    else:
        path, bodies, docs = "/v1/documents:batch", documents.batches(batch), batch
        name = f"HTTP batch of {batch}, {clients} clients"
    ok, failed, why, latencies, elapsed = asyncio.run(
        _drive(
            url,
            path,
            bodies,
            docs=docs,
            clients=clients,
            generator=generator,
            limit=count,
            seconds=seconds,
            meter=meter,
        )
    )
    p50, p99 = _percentiles(latencies)
    how = f"POST {path}; {clients} x {LOAD_GENERATOR_HOW[generator]}, one connection each"
    if batch is not None:
        how += f"; latencies are per request of {batch} documents"
    return Figure(name, how, ok, elapsed, failed, why, p50, p99)


def measure_client(
    bootstrap: str,
    topic: str,
    documents: Documents,
    batch: int | None = None,
    *,
    count: int,
    seconds: float,
    meter: Meter,
) -> Figure:
    """Publish with the Python client: one publish at a time, or publish_many of `batch`."""
    events = documents.fresh_events()
    ok = failed = 0
    errors: list[str] = []
    latencies: list[float] = []
    with Publisher(kafka_settings(bootstrap), topic=topic) as publisher:
        publisher.publish("document", next(events))  # warm-up: connect, fetch metadata
        start = time.perf_counter()
        deadline = start + seconds
        while ok + failed < count and time.perf_counter() < deadline:
            if batch is None:
                sent = time.perf_counter()
                try:
                    publisher.publish("document", next(events))
                except ProducerError as exc:
                    failed += 1
                    errors.append(str(exc))
                else:
                    ok += 1
                latencies.append(time.perf_counter() - sent)
            else:
                size = min(batch, count - ok - failed)
                results = publisher.publish_many(("document", next(events)) for _ in range(size))
                bad = [str(r) for r in results if isinstance(r, ProducerError)]
                ok, failed = ok + len(results) - len(bad), failed + len(bad)
                errors.extend(bad)
            meter.done = ok
        elapsed = time.perf_counter() - start
    if batch is None:
        name, how = "client publish, one at a time", "Publisher.publish, waits for each ack"
    else:
        name, how = f"client publish_many of {batch}", "Publisher.publish_many, pipelined"
    p50, p99 = _percentiles(latencies)
    how += " (kafka-python, in the bench process)"
    return Figure(name, how, ok, elapsed, failed, errors[0] if errors else None, p50, p99)


@dataclass(frozen=True, slots=True)
class Served:
    """The API running as its own process."""

    url: str
    pid: int
    log: Path


@contextmanager
def serve_api(bootstrap: str, topic: str, log: Path) -> Iterator[Served]:
    """Run `lienthong producer serve` on a free port, as deployed; stop it on exit."""
    port = free_port()
    env = {
        **inherited_env(),
        **environment(settings_for(bootstrap)),
        "LIENTHONG_TOPICS_INBOUND": topic,
        "LIENTHONG_DIRECTORY_PATH": str(EXAMPLE_DIRECTORY),
        "LIENTHONG_PRODUCER_HOST": "127.0.0.1",
        "LIENTHONG_PRODUCER_PORT": str(port),
        # The benchmark measures what the API can take: no fair-use limit in the way.
        "LIENTHONG_PRODUCER_RATE_LIMIT_EVENTS_PER_S": "0",
        "LIENTHONG_LOG_FORMAT": "json",
    }
    command = [sys.executable, "-c", "from lienthong.cli import main; main()", "producer", "serve"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield Served(url, process.pid, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
    raise RuntimeError(f"the API did not become ready at {url}:\n{tail}")


class Limits(TypedDict):
    """When a figure stops: after `count` documents or `seconds`, whichever comes first."""

    count: int
    seconds: float
    meter: Meter


@dataclass(frozen=True, slots=True)
class Plan:
    """What one run measures."""

    count: int
    seconds: float
    batch: int = BATCH
    single_clients: tuple[int, ...] = SINGLE_CLIENTS
    batch_clients: int = BATCH_CLIENTS
    load_generator: str = "raw"


def run(
    bootstrap: str,
    topic: str,
    url: str,
    plan: Plan,
    *,
    pids: Mapping[str, int] | None = None,
    meter: Meter | None = None,
) -> list[Figure]:
    """Measure every figure against a running broker and API that write to `topic`."""
    meter = meter or Meter()
    documents = Documents(min(plan.count, POOL))
    limits = Limits(count=plan.count, seconds=plan.seconds, meter=meter)
    http = plan.load_generator
    steps: list[tuple[str, Callable[[], Figure]]] = [
        ("ceiling", partial(measure_ceiling, bootstrap, topic, documents.encoded, **limits)),
        *(
            (
                f"HTTP single, {n} clients",
                partial(measure_http, url, documents, n, generator=http, **limits),
            )
            for n in plan.single_clients
        ),
        (
            f"HTTP batch of {plan.batch}",
            partial(
                measure_http,
                url,
                documents,
                plan.batch_clients,
                plan.batch,
                generator=http,
                **limits,
            ),
        ),
        ("client publish", partial(measure_client, bootstrap, topic, documents, **limits)),
        (
            f"client publish_many of {plan.batch}",
            partial(measure_client, bootstrap, topic, documents, plan.batch, **limits),
        ),
    ]
    figures: list[Figure] = []
    watch = CpuWatch(pids or {})
    for label, step in steps:
        meter.begin(f"[{len(figures) + 1}/{len(steps)}] {label}")
        watch.start()
        figure = step()
        figures.append(replace(figure, cpu=watch.stop()))
    return figures


def aims(figures: Sequence[Figure]) -> list[dict[str, Any]]:
    """Check the figures against the issue's aims."""
    by_name = {f.name: f for f in figures}
    ceiling = figures[0].rate
    batch = next((f for f in figures if f.name.startswith("HTTP batch")), None)
    eight = by_name.get("HTTP single, 8 clients")
    found: list[dict[str, Any]] = []
    if batch is not None and ceiling > 0:
        share = batch.rate / ceiling
        found.append(
            {
                "aim": f"API with batching >= {AIM_BATCH_SHARE:.0%} of the raw ceiling",
                "measured": round(share, 4),
                "met": share >= AIM_BATCH_SHARE,
                "by": f"{share / AIM_BATCH_SHARE:.2f}x the aim",
            }
        )
    if eight is not None and eight.p99_ms is not None:
        found.append(
            {
                "aim": f"single-document p99 < {AIM_P99_MS:.0f} ms at 8 clients",
                "measured": eight.p99_ms,
                "met": eight.p99_ms < AIM_P99_MS,
                "by": f"{AIM_P99_MS - eight.p99_ms:+.1f} ms of margin",
            }
        )
    return found


def table(figures: Sequence[Figure]) -> str:
    """Render the figures as a Markdown table."""
    ceiling = figures[0].rate or 1.0
    lines = [
        "| figure | docs/s | ratio to ceiling | p50 ms | p99 ms | CPU% api/broker/bench | failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in figures:
        cpu = " / ".join(
            f"{f.cpu[k]:.0f}" if k in f.cpu else "-" for k in ("api", "broker", "bench")
        )
        p50, p99 = (f"{v:.1f}" if v is not None else "-" for v in (f.p50_ms, f.p99_ms))
        lines.append(
            f"| {f.name} | {f.rate:,.0f} | {f.rate / ceiling:.3f} | {p50} | {p99} | {cpu}"
            f" | {f.failed} |"
        )
    return "\n".join(lines)


@contextmanager
def progress(meter: Meter) -> Iterator[None]:
    """Keep a progress line on stderr: a live one on a terminal, else one line per figure."""
    stop = threading.Event()
    live = sys.stderr.isatty()

    def show() -> None:
        label = ""
        while not stop.wait(0.5):
            line = (
                f"{meter.label}: {meter.done:,} docs, {time.perf_counter() - meter.started:.0f} s"
            )
            if live:
                print(f"\r{line:<70}", end="", file=sys.stderr, flush=True)
            elif meter.label != label:
                label = meter.label
                print(label, file=sys.stderr, flush=True)

    thread = threading.Thread(target=show, name="progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if live:
            print(f"\r{'':<70}\r", end="", file=sys.stderr, flush=True)


def report(figures: Sequence[Figure], plan: Plan, load: Sequence[float]) -> dict[str, Any]:
    """Return the results as plain data: machine, plan, figures and aims."""
    sample = Documents(1)
    return {
        "command": " ".join([".venv/bin/python -m bench.ingest", *sys.argv[1:]]),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_1m_before_after": [round(x, 2) for x in load],
        },
        "document_bytes": len(sample.encoded[0].value),
        "json_bytes": sample.json_bytes,
        "plan": asdict(plan),
        "load_generator": (
            f"this one process: {LOAD_GENERATOR_HOW[plan.load_generator]} per HTTP client (one"
            " keep-alive connection each), the Python client, on the same cores as the API (one"
            " uvicorn process) and the broker"
        ),
        "figures": [{**asdict(f), "rate": round(f.rate, 1)} for f in figures],
        "aims": aims(figures),
    }


def render(result: Mapping[str, Any], figures: Sequence[Figure]) -> str:
    """Return the report as text: a headline, the table, the notes and the aims."""
    machine, plan = result["machine"], result["plan"]
    load = " -> ".join(f"{x:.2f}" for x in machine["load_average_1m_before_after"])
    lines = [
        str(result["command"]),
        (
            f"{machine['cores']} cores, Python {machine['python']}, load average {load};"
            f" document {result['document_bytes']} bytes encoded,"
            f" {result['json_bytes']} bytes JSON;"
            f" each figure {plan['seconds']:g} s or {plan['count']:,} documents"
        ),
        "",
        table(figures),
        "",
        (
            f"Load generator: {result['load_generator']}; it competes with them for CPU (the CPU"
            " columns: % of one core each process used during the figure)."
        ),
    ]
    for aim in result["aims"]:
        verdict = "met" if aim["met"] else "NOT met"
        lines.append(f"aim: {aim['aim']}: {verdict} (measured {aim['measured']}, {aim['by']})")
    lines.extend(
        f"{f.name}: {f.failed} failed; first: {f.first_error}" for f in figures if f.first_error
    )
    return "\n".join(lines)


def main() -> None:
    """Start a broker and the API, measure, print the table and the aims, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500_000, help="most documents per figure")
    parser.add_argument("--seconds", type=float, default=10.0, help="most seconds per figure")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument(
        "--load-generator",
        choices=sorted(LOAD_GENERATORS),
        default="raw",
        help="HTTP client of the load: raw (lean, leaves the CPU to the API) or httpx",
    )
    args = parser.parse_args()
    plan = Plan(count=args.count, seconds=args.seconds, load_generator=args.load_generator)
    load_before = os.getloadavg()[0]
    meter = Meter("starting the broker and the API")
    with (
        progress(meter),
        tempfile.TemporaryDirectory(prefix="lienthong-bench-") as tmp,
        LocalKafka(home=Path(tmp) / "kafka") as broker,
    ):
        topic = unique_name("bench.inbound")
        create_topics(broker.admin_settings(), [topic], partitions=PARTITIONS)
        with serve_api(broker.bootstrap, topic, Path(tmp) / "api.log") as api:
            pids = {"api": api.pid, **({"broker": broker.pid} if broker.pid else {})}
            figures = run(broker.bootstrap, topic, api.url, plan, pids=pids, meter=meter)
        result = report(figures, plan, (load_before, os.getloadavg()[0]))
    print(render(result, figures))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
