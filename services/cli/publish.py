"""`lienthong publish`: send events from a JSON or JSON-lines file over HTTP or to Kafka."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
import httpx

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.cli.publish_http import UNAVAILABLE, HttpSender
from lienthong.cli.publish_items import Item, Outcome, Report, UsageProblem, failed, read_items
from lienthong.contract.agency import AgencyCodePattern
from lienthong.contract.schemas import EventType
from lienthong.directory.model import Directory
from lienthong.producer.client import (
    ProducerFactory,
    Publisher,
    PublishResult,
    kafka_python_producer,
)
from lienthong.producer.errors import BrokerUnavailable, InvalidEvent, NotAuthorised, ProducerError

Sender = Callable[[list[Item]], list[Outcome]]
BAD_INPUT = 400
# A whole chunk failing with one of these says the next would too: the rest is not sent.
_HOPELESS = frozenset({401, UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class Ports:
    """What `publish` talks to; tests hand fakes in as click's context object (`obj=`)."""

    http_transport: httpx.BaseTransport | None = None
    producer_factory: ProducerFactory = kafka_python_producer
    sleep: Callable[[float], None] = time.sleep


def outcomes(items: list[Item], send: Sender, batch_size: int) -> Iterator[Outcome]:
    """Yield each item's outcome in input order, sending runs of one type in chunks."""
    chunk: list[Item] = []
    gave_up: Outcome | None = None
    for item in [*items, None]:
        if chunk and (
            item is None
            or item.problem is not None
            or item.event_type != chunk[0].event_type
            or len(chunk) == batch_size
        ):
            done = send(chunk) if gave_up is None else [_skipped(i, gave_up) for i in chunk]
            statuses = {o.status for o in done}
            if gave_up is None and len(statuses) == 1 and statuses <= _HOPELESS:
                gave_up = done[0]
            yield from done
            chunk = []
        if item is not None and item.problem is not None:
            yield failed(item, BAD_INPUT, item.problem)
        elif item is not None:
            chunk.append(item)


def _skipped(item: Item, cause: Outcome) -> Outcome:
    reason = cause.errors[0][1] if cause.errors else "no reason given"
    return failed(item, cause.status, f"not sent: line {cause.item.line} got {reason}")


def kafka_sender(publisher: Publisher) -> Sender:
    """Send each chunk with the Python client, pipelined, and say what became of each event."""

    def send(chunk: list[Item]) -> list[Outcome]:
        results = publisher.publish_many((i.event_type or "?", i.event) for i in chunk)
        return [_outcome(item, result) for item, result in zip(chunk, results, strict=True)]

    return send


def _outcome(item: Item, result: PublishResult | ProducerError) -> Outcome:
    if isinstance(result, InvalidEvent):
        return Outcome(item, 422, tuple((p.pointer, p.message) for p in result.problems))
    if isinstance(result, BrokerUnavailable):
        return failed(item, UNAVAILABLE, str(result))
    if isinstance(result, ProducerError):
        return failed(item, 403 if isinstance(result, NotAuthorised) else 500, str(result))
    return Outcome(item, 202, (), result.topic, result.partition, result.offset)


@click.command("publish")
@click.argument("file", metavar="FILE|-")
@click.option(
    "--via",
    type=click.Choice(["http", "kafka"]),
    default="http",
    show_default=True,
    help="http: through the ingestion API, which checks your credential and that you send as"
    " your own agency (hence the default). kafka: straight to the inbound topic with the"
    " Python client, for trusted backends inside the network; no identity check.",
)
@click.option(
    "--type",
    "event_type",
    type=click.Choice([t.value for t in EventType]),
    help='The type of bare events; items wrapped as {"type": ..., "event": {...}} need none.',
)
@click.option("--url", help="The ingestion API [default: LIENTHONG_CLIENT_URL].")
@click.option(
    "--api-key-env",
    metavar="NAME",
    help="Read the API key from the variable NAME (not LIENTHONG_*) instead of"
    " LIENTHONG_CLIENT_API_KEY.",
)
@click.option(
    "--directory",
    type=click.Path(path_type=Path),
    help="With --via kafka: check senders and recipients against this directory file, as the"
    " API does; without it only the schema is checked before sending.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per event.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Events per batch request (or per pipelined batch to Kafka).",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    default=3,
    show_default=True,
    help="Retries of events answered 503 or 429, with capped jittered backoff honouring"
    " Retry-After.",
)
@pass_runtime
def publish_command(
    runtime: Runtime,
    *,
    file: str,
    via: str,
    event_type: str | None,
    url: str | None,
    api_key_env: str | None,
    directory: Path | None,
    as_json: bool,
    batch_size: int,
    retries: int,
) -> None:
    """Publish events from FILE (- for stdin): a JSON object, a JSON list, or JSON lines.

    Each item is {"type": "document", "event": {...}}, or a bare event with --type. An event
    without an event_id gets one before the first attempt, so a retry never duplicates it.
    Prints one line per event in input order (`ok ...` or `FAIL ... line N: ...`) and a
    summary on stderr. Exit status: 0 all published, 1 some failed, 2 unusable input.

    \b
    Examples:
      LIENTHONG_CLIENT_API_KEY=... lienthong publish --type document directive.json
      lienthong publish --via kafka --json events.jsonl > outcomes.jsonl
    """  # noqa: D301 - click needs a real \b (backspace) to keep the examples' lines
    ctx = click.get_current_context()
    ports = ctx.find_object(Ports) or Ports()
    if runtime.settings.log.level != "debug":
        # Both clients narrate every connection or request at INFO: noise beside the lines this
        # command prints. Their warnings still show.
        for name in ("kafka", "httpx"):
            logging.getLogger(name).setLevel(logging.WARNING)
    items = read_items(_read(file), EventType(event_type) if event_type else None)
    report = Report(len(items), as_json=as_json)
    if via == "kafka":
        opened = _kafka(runtime, ports, directory)
    else:
        opened = _http(runtime, ports, url or runtime.settings.client.url, api_key_env, retries)
    with opened as send:
        for outcome in outcomes(items, send, batch_size):
            report.add(outcome)
    report.summary()
    ctx.exit(1 if report.failed else 0)


def _read(file: str) -> str:
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        return data.decode("utf-8-sig")
    except OSError as exc:
        raise UsageProblem(f"cannot read {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageProblem(f"{file} is not UTF-8 ({exc.reason} at byte {exc.start})") from None


@contextmanager
def _kafka(runtime: Runtime, ports: Ports, path: Path | None) -> Iterator[Sender]:
    settings = runtime.settings
    with Publisher(
        settings.kafka,
        topic=settings.topics.inbound,
        directory=None if path is None else _directory(runtime, path),
        agency_codes=AgencyCodePattern(settings.contract.agency_code_pattern),
        timeout_s=settings.client.timeout_s,
        producer_factory=ports.producer_factory,
    ) as publisher:
        yield kafka_sender(publisher)


@contextmanager
def _http(
    runtime: Runtime, ports: Ports, url: str, key_env: str | None, retries: int
) -> Iterator[Sender]:
    secret = runtime.settings.client.api_key
    key = os.environ.get(key_env) if key_env else secret and secret.get_secret_value()
    if not key:
        where = key_env or "LIENTHONG_CLIENT_API_KEY"
        raise UsageProblem(f"no API key: set {where} (or send with --via kafka)")
    headers = {"Authorization": f"Bearer {key}"}
    timeout = runtime.settings.client.timeout_s
    with httpx.Client(
        base_url=url, headers=headers, timeout=timeout, transport=ports.http_transport
    ) as client:
        yield HttpSender(client, retries, ports.sleep)


def _directory(runtime: Runtime, path: Path) -> Directory:
    if not path.is_file():
        raise UsageProblem(f"--directory {path}: no such file")
    section = runtime.settings.directory.model_copy(update={"path": path})
    try:
        return Runtime(runtime.settings.model_copy(update={"directory": section})).load_directory()
    except click.ClickException as exc:
        raise UsageProblem(" ".join(exc.message.split())) from None
