"""The pipeline benchmark's ceilings, measured on the same broker and database after the load.

The router figures need an input they can run through as fast as they go, so the documents
(as many as the pipeline accepted, up to a cap; the same size, fan-out and group) are
pre-loaded on a topic of their own, as bench/router.py does, and routed by:

- the minimal loop (bench/router.py: confluent-kafka consume -> produce, no transactions, a
  copy per delivery topic), just before and just after the routers, the mean of the two;
- ours: `lienthong router run` alone, exactly-once, timed from its assignment to its last
  committed offset (bench/router.py's measure_router);
- the peer: the same router written with Quix Streams, exactly-once (bench/quix_peer.py).

Then Kafka's ProducerPerformance (as many records as the copies, of the documents' size) and
ConsumerPerformance (the pre-loaded documents), and a bulk insert (binary COPY) of the rows
the consumer writes for as many documents, into a fresh database of the same PostgreSQL
server, first and last, the mean of the two (bench/store_ceiling.py via bench/consumer.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bench import consumer as store_bench
from bench import router as router_bench
from bench.fanout import Inputs, content_for, document, group, preload, text_payloads
from bench.ingest import Meter, kafka_settings
from bench.pipeline_axis import Axis, CreateDatabase
from bench.quix_peer import measure_quix
from bench.services import PidSource
from lienthong.consumer.mapping import Receipts, map_record
from lienthong.consumer.rows import Mapped
from lienthong.contract import headers as h
from lienthong.contract.codec import Codec
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.settings import Settings
from lienthong.router.records import routed_at_header
from tests.support.kafka import create_topics, unique_name

COUNT_CAP = 20_000

RouterFigure = router_bench.Figure
StoreFigure = store_bench.Figure


@dataclass(frozen=True, slots=True)
class Ceilings:
    """Every ceiling of one run, and the routers measured beside them."""

    count: int
    routers: list[RouterFigure]  # minimal loop, ours alone, the peer, Kafka's tools
    bulk: StoreFigure

    def router(self, kind: str) -> RouterFigure | None:
        """Return the figure of this kind: minimal, ours, peer or tool (the first)."""
        return next((f for f in self.routers if f.kind == kind), None)

    def tool(self, name: str) -> RouterFigure | None:
        """Return Kafka's ProducerPerformance or ConsumerPerformance figure."""
        return next((f for f in self.routers if f.kind == "tool" and name in f.name), None)


def documents(codec: Codec, fanout: int, count: int, size: int) -> Inputs:
    """Encode `count` documents of `size` bytes addressed to `fan-<fanout>`."""
    content = content_for(codec, group(fanout), size)
    records = [
        prepare(codec, EventType.DOCUMENT, document(i, group(fanout), content))
        for i in range(count)
    ]
    return Inputs(fanout, records)


def mapped(axis: Axis, loaded: Inputs, codec: Codec) -> list[Mapped]:
    """Map the documents as the first endpoint's consumer does, receipts included."""
    directory = axis.world.directory
    endpoint = axis.endpoint_ids[0]
    topic = directory.endpoint(endpoint).delivery_topic(axis.world.topics.delivery_prefix)
    now_ms = int(time.time() * 1000)
    routed = (h.recipients_header(directory.agencies_at(endpoint)), routed_at_header(now_ms))
    partitions = axis.world.topics.delivery_partitions
    names = {code: a.name for code, a in directory.agencies.items()}
    receipts = Receipts(axis.inbound, lambda code: names.get(code, code))
    now = datetime.now(UTC)
    return [
        map_record(
            Envelope(
                topic,
                i % partitions,
                i // partitions,
                r.key,
                r.value,
                (*r.headers, *routed),
                now_ms,
            ),
            codec,
            now,
            receipts,
        )
        for i, r in enumerate(loaded.records)
    ]


def measure_ceilings(
    bootstrap: str,
    axis: Axis,
    count: int,
    *,
    doc_bytes: int,
    workdir: Path,
    create_database: CreateDatabase,
    meter: Meter,
    broker: Mapping[str, PidSource],
    database: Mapping[str, PidSource],
    broker_home: Path | None,
    peer: bool = True,
    tools: bool = True,
) -> Ceilings:
    """Pre-load `count` documents and measure every ceiling on them."""
    fanout = axis.fanout
    codec = Codec(SchemaStore.from_package())
    meter.begin(f"ceilings: pre-loading {count:,} documents")
    loaded = documents(codec, fanout, count, doc_bytes)
    topic = create_topics(
        kafka_settings(bootstrap),
        f"{axis.inbound}.ceiling",
        partitions=axis.world.topics.inbound_partitions,
    )[0]
    preload(kafka_settings(bootstrap), topic, loaded.records)
    world = replace(axis.world, inbound={fanout: topic})
    items = mapped(axis, loaded, codec)
    batch = Settings.from_env().consumer.batch_max_records
    names = iter(range(1_000))
    bulk = partial(
        _bulk, items, batch, create_database, names, unique_name("bulk"), meter, database
    )
    minimal = partial(
        router_bench.measure_minimal,
        bootstrap,
        topic,
        world.minimal[:fanout],
        meter=meter,
        cpu=broker,
    )
    steps: list[tuple[str, Callable[[], RouterFigure | StoreFigure]]] = [
        ("bulk insert into PostgreSQL (before)", bulk),
        (f"minimal loop, fan-out {fanout} (before)", minimal),
        (
            f"router alone, fan-out {fanout}",
            partial(
                router_bench.measure_router,
                bootstrap,
                world,
                fanout,
                workdir,
                meter=meter,
                cpu=broker,
            ),
        ),
    ]
    if peer:
        steps.append(
            (
                f"Quix Streams router, fan-out {fanout}",
                partial(measure_quix, bootstrap, world, fanout, workdir, meter=meter, cpu=broker),
            )
        )
    steps.append((f"minimal loop, fan-out {fanout} (after)", minimal))
    if tools:
        payloads = text_payloads(loaded.records, codec)
        steps += [
            (
                "Kafka ProducerPerformance",
                partial(
                    router_bench.measure_producer_tool,
                    bootstrap,
                    world,
                    count * fanout,
                    payloads,
                    fanout=fanout,
                    home=broker_home,
                ),
            ),
            (
                "Kafka ConsumerPerformance",
                partial(
                    router_bench.measure_consumer_tool, bootstrap, world, fanout, count, broker_home
                ),
            ),
        ]
    steps.append(("bulk insert into PostgreSQL (after)", bulk))
    routers: list[RouterFigure] = []
    stored: list[StoreFigure] = []
    for index, (label, step) in enumerate(steps, 1):
        meter.begin(f"ceilings [{index}/{len(steps)}]: {label}")
        figure = step()
        if isinstance(figure, StoreFigure):
            stored.append(figure)
        elif figure.kind == "minimal" and (earlier := _first(routers, "minimal")) is not None:
            routers[routers.index(earlier)] = router_bench.pooled(earlier, figure)
        else:
            routers.append(figure)
    return Ceilings(count, routers, store_bench.pooled(stored[0], stored[-1]))


def _bulk(  # noqa: PLR0917 - bound with partial
    items: Sequence[Mapped],
    batch: int,
    create_database: CreateDatabase,
    names: Iterator[int],
    prefix: str,
    meter: Meter,
    database: Mapping[str, PidSource],
) -> StoreFigure:
    url = create_database(f"{prefix.replace('-', '_')}_{next(names)}")
    return store_bench.measure_raw("PostgreSQL", url, items, batch, meter=meter, cpu=database)


def _first(figures: Sequence[RouterFigure], kind: str) -> RouterFigure | None:
    return next((f for f in figures if f.kind == kind), None)
