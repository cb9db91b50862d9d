"""Consumer persistence into PostgreSQL and SQLite, beside bulk-insert ceilings of the same run.

Run: .venv/bin/python -m bench.consumer [--count N] [--json PATH] [--profile DIR]
It starts its own broker (tests.support.kafka) and PostgreSQL server (tests.support.postgres),
creates the topics of (a private copy of) the example directory, and pre-loads Nghệ An's
delivery topic with N documents of about 2 KB (the example directive with four attachments),
written as the router writes them (lt-recipients: two Nghệ An agencies, lt-routed-at). Then,
per database, each into a fresh database:

- ours: `lienthong consumer run --endpoint tinh-nghe-an` as its own process (the real sink:
  decode, map, one transaction per batch holding the rows, two receipts per document in the
  outbox and the offsets; its relay publishes the receipts), timed from its assignment (its
  log line) to the moment the offsets in the store reach the end of the topic;
- ceiling `apply`: the store's own Store.apply on the same records mapped beforehand, in
  batches of the consumer's size (no Kafka, no decoding or mapping);
- ceiling `raw`: a plain bulk insert of the same rows, one transaction per batch: binary
  COPY on PostgreSQL, executemany on SQLite (see bench/store_ceiling.py); it runs first and
  last, and the figure is the mean of the two times.

With --profile DIR, py-spy records each consumer process (DIR/consumer-postgresql.svg, ...;
--profile-format txt or json as for bench.router); profile in a run of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import uuid4

from bench.ingest import Meter, progress
from bench.services import (
    CpuWatch,
    PidSource,
    headline,
    machine,
    one,
    run_service,
    scrape,
    total,
    wait_for_log,
    with_children,
)
from bench.store_ceiling import apply_all, converted, insert_all, persist_batches
from lienthong.consumer.mapping import Receipts, map_record
from lienthong.consumer.rows import Mapped
from lienthong.consumer.store.store import Store
from lienthong.contract import examples
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.devtools.kafka import settings_for
from lienthong.directory.loader import load_directory
from lienthong.directory.model import Directory
from lienthong.plumbing.kafka_confluent import make_admin
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import Settings, TopicSettings
from lienthong.plumbing.topics import apply_topics, plan_topics
from tests.support.api import EXAMPLE_DIRECTORY
from tests.support.consumer import ENDPOINT, deliver
from tests.support.environ import inherited_env
from tests.support.kafka import LocalKafka, unique_name, wait_for_topics
from tests.support.ports import free_port
from tests.support.postgres import LocalPostgres
from tests.support.router import Deployment, read_committed

COUNT = 20_000
ATTACHMENTS = 4
AIM_SHARE = 0.5
_POLL_S = 0.02

Fresh = Callable[[], str]  # returns the URL of a new, empty database


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure: events persisted into one database in a window."""

    name: str
    kind: str  # "ours", "apply" or "raw"
    database: str
    events: int
    seconds: float
    how: str
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core per process
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Return events persisted per second."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class World:
    """The settings, directory and topics of one run."""

    settings: Settings
    directory: Directory

    @property
    def topic(self) -> str:
        """Return the endpoint's delivery topic, which the consumer reads."""
        return self.directory.endpoint(ENDPOINT).delivery_topic(
            self.settings.topics.delivery_prefix
        )

    def receipts(self) -> Receipts:
        """Return the receipts the endpoint's consumer owes, as build_consumer sets them."""
        names = {code: agency.name for code, agency in self.directory.agencies.items()}
        return Receipts(self.settings.topics.inbound, lambda code: names.get(code, code))


def build_world(bootstrap: str, workdir: Path) -> World:
    """Copy the example directory under unique topic names and create its topics."""
    prefix = unique_name("bench")
    path = workdir / "directory.yaml"
    text = EXAMPLE_DIRECTORY.read_text(encoding="utf-8")
    path.write_text(text.replace("topic: lienthong.deliver.", f"topic: {prefix}.deliver."))
    directory = load_directory(path)
    base = Settings.from_env()
    settings = base.model_copy(
        update={
            "kafka": settings_for(bootstrap),
            "topics": TopicSettings(
                inbound=f"{prefix}.inbound",
                dlq=f"{prefix}.dlq",
                delivery_prefix=f"{prefix}.deliver.",
            ),
            "directory": base.directory.model_copy(update={"path": path}),
        }
    )
    specs = plan_topics(settings.topics, directory.endpoints.values())
    admin = make_admin(settings.kafka)
    apply_topics(admin, specs)
    for partitions in {s.partitions for s in specs}:
        names = [s.name for s in specs if s.partitions == partitions]
        wait_for_topics(admin, names, partitions, timeout=60)
    return World(settings, directory)


def preload(world: World, count: int) -> int:
    """Deliver `count` ~2 KB documents to the endpoint's topic, as the router would."""
    documents = (
        (EventType.DOCUMENT, examples.document(event_id=uuid4(), number=str(100_000 + i),
                                               attachments=ATTACHMENTS))
        for i in range(count)
    )  # fmt: skip
    return deliver(Deployment(world.settings, world.directory), documents)


def premap(world: World, count: int) -> list[Mapped]:
    """Read the delivered records back and map them as the sink does (for the ceilings)."""
    envelopes = read_committed(world.settings.kafka, [world.topic], count, settle_s=0)
    codec = Codec(SchemaStore.from_package())
    now = datetime.now(UTC)
    receipts = world.receipts()
    return [map_record(e, codec, now, receipts) for e in envelopes]


def consumer_env(world: World, url: str, port: int) -> dict[str, str]:
    """Return the environment of `lienthong consumer run` for this world and database."""
    s = world.settings
    return {
        **inherited_env(),
        **environment(s.kafka),
        "LIENTHONG_TOPICS_INBOUND": s.topics.inbound,
        "LIENTHONG_TOPICS_DLQ": s.topics.dlq,
        "LIENTHONG_TOPICS_DELIVERY_PREFIX": s.topics.delivery_prefix,
        "LIENTHONG_DIRECTORY_PATH": str(s.directory.path),
        "LIENTHONG_CONSUMER_DATABASE_URL": url,
        "LIENTHONG_CONSUMER_GROUP_PREFIX": unique_name("bench-consumer"),
        "LIENTHONG_CONSUMER_METRICS_PORT": str(port),
        "LIENTHONG_LOG_FORMAT": "json",
    }


def _persisted(store: Store, topic: str, partitions: int) -> int:
    keys = [(topic, p) for p in range(partitions)]
    try:
        return sum(store.offsets(ENDPOINT, keys).values())
    except Exception:  # noqa: BLE001 - the schema may not be there yet
        return 0


def measure_sink(
    world: World,
    database: str,
    url: str,
    expected: int,
    workdir: Path,
    *,
    meter: Meter,
    cpu: Mapping[str, PidSource] | None = None,
    profile: Path | None = None,
) -> Figure:
    """Persist the pre-loaded topic with `lienthong consumer run`; time it from outside."""
    port = free_port()
    env = consumer_env(world, url, port)
    log = workdir / f"consumer-{database}.log"
    partitions = world.settings.topics.delivery_partitions
    args = ["consumer", "run", "--endpoint", ENDPOINT]
    with run_service(args, env, log, port, profile=profile) as sink:
        watch = CpuWatch({"consumer": one(sink.pid), **(cpu or {})})
        started = wait_for_log(sink, "consumer_rebalance", kind="assigned")
        watch.start()
        meter.begin(meter.label)
        deadline = time.monotonic() + 600
        with Store.open(url, migrate=False) as store:
            while (done := _persisted(store, world.topic, partitions)) < expected:
                meter.done = done
                if sink.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"consumer stopped at {done}/{expected}:\n{sink.tail()}")
                time.sleep(_POLL_S)
            finished = time.time()
            shares = watch.stop()
            rows = store.counts()
        samples = scrape(sink.metrics_url)
    persisted = total(samples, "lienthong_consumer_events_total", outcome="persisted")
    batch = Settings.from_env(env).consumer.batch_max_records
    how = (
        f"`lienthong consumer run` (one process: sink and outbox relay, batches of up to {batch}"
        f" records), timed from its assignment to the last offset in the store; metrics counted"
        f" {persisted:.0f} persisted"
    )
    return Figure(
        f"ours: consumer -> {database}",
        "ours",
        database,
        rows.get("lt_events", 0),
        finished - started,
        how,
        shares,
        rows,
    )


def measure_apply(
    database: str,
    url: str,
    items: Sequence[Mapped],
    batch: int,
    *,
    meter: Meter,
    cpu: Mapping[str, PidSource] | None = None,
) -> Figure:
    """Write the pre-mapped events with Store.apply, in the consumer's batches."""
    work = persist_batches(ENDPOINT, items, batch)
    with Store.open(url) as store:
        watch = CpuWatch(cpu or {})
        meter.begin(meter.label)
        watch.start()
        seconds = apply_all(store, work, lambda n: setattr(meter, "done", meter.done + n))
        shares = watch.stop()
        rows = store.counts()
    how = f"Store.apply on events mapped beforehand, batches of {batch}, in the bench process"
    return Figure(
        f"ceiling: Store.apply -> {database}",
        "apply",
        database,
        rows.get("lt_events", 0),
        seconds,
        how,
        shares,
        rows,
    )


def measure_raw(
    database: str,
    url: str,
    items: Sequence[Mapped],
    batch: int,
    *,
    meter: Meter,
    cpu: Mapping[str, PidSource] | None = None,
) -> Figure:
    """Bulk-insert the same rows, converted beforehand, one transaction per batch."""
    now = datetime.now(UTC)
    with Store.open(url) as store:
        work = [
            converted(store.engine, items[i : i + batch], now) for i in range(0, len(items), batch)
        ]
        watch = CpuWatch(cpu or {})
        meter.begin(meter.label)
        watch.start()
        seconds = insert_all(store.engine, work, lambda n: setattr(meter, "done", meter.done + n))
        shares = watch.stop()
        rows = store.counts()
    way = "binary COPY" if database == "PostgreSQL" else "executemany"
    how = (
        f"{way} of the rows Store.apply writes for new documents (events, documents,"
        f" attachments, history, outbox), batches of {batch}, values converted beforehand"
    )
    return Figure(
        f"ceiling: raw {way} -> {database}",
        "raw",
        database,
        rows.get("lt_events", 0),
        seconds,
        how,
        shares,
        rows,
    )


Ceiling = Callable[..., Figure]


def _measure_fresh(  # noqa: PLR0917 - bound with partial
    measure: Ceiling,
    database: str,
    fresh: Fresh,
    items: Sequence[Mapped],
    batch: int,
    meter: Meter,
    cpu: Mapping[str, PidSource],
) -> Figure:
    return measure(database, fresh(), items, batch, meter=meter, cpu=cpu)


def _sink_fresh(  # noqa: PLR0917 - bound with partial
    world: World,
    database: str,
    fresh: Fresh,
    expected: int,
    workdir: Path,
    meter: Meter,
    cpu: Mapping[str, PidSource],
    profile: Path | None,
) -> Figure:
    return measure_sink(
        world, database, fresh(), expected, workdir, meter=meter, cpu=cpu, profile=profile
    )


def run(
    bootstrap: str,
    databases: Mapping[str, Fresh],
    count: int,
    workdir: Path,
    *,
    cpu: Mapping[str, Mapping[str, PidSource]] | None = None,
    meter: Meter | None = None,
    profile: Path | None = None,
    profile_format: str = "svg",
) -> tuple[list[Figure], int]:
    """Pre-load the delivery topic once, then measure each database: raw, apply, ours."""
    meter = meter or Meter()
    meter.begin("creating topics, pre-loading and mapping the documents")
    world = build_world(bootstrap, workdir)
    preload(world, count)
    items = premap(world, count)
    batch = world.settings.consumer.batch_max_records
    figures: list[Figure] = []
    steps: list[tuple[str, Callable[[], Figure]]] = []
    for database, fresh in databases.items():
        watched = {**(cpu or {}).get(database, {})}
        spy = profile / f"consumer-{database.lower()}.{profile_format}" if profile else None
        raw = partial(_measure_fresh, measure_raw, database, fresh, items, batch, meter, watched)
        apply = partial(
            _measure_fresh, measure_apply, database, fresh, items, batch, meter, watched
        )
        sink = partial(
            _sink_fresh, world, database, fresh, len(items), workdir, meter, watched, spy
        )
        # The bulk insert runs first and last, into fresh databases, and the two are pooled:
        # a ceiling taken on both sides of the figures it bounds follows the machine's load.
        steps += [
            (f"raw bulk insert -> {database} (before)", raw),
            (f"Store.apply -> {database}", apply),
            (f"consumer -> {database}", sink),
            (f"raw bulk insert -> {database} (after)", raw),
        ]
    for index, (label, step) in enumerate(steps, 1):
        meter.begin(f"[{index}/{len(steps)}] {label}")
        figure = step()
        earlier = _of(figures, figure.database, "raw") if figure.kind == "raw" else None
        if earlier is None:
            figures.append(figure)
        else:
            figures[figures.index(earlier)] = pooled(earlier, figure)
    return figures, len(items[0].event.payload) if items else 0


def pooled(before: Figure, after: Figure) -> Figure:
    """Return one bulk-insert figure from its runs before and after ours: the mean time."""
    cpu = {k: round((before.cpu[k] + after.cpu[k]) / 2, 1) for k in before.cpu if k in after.cpu}
    how = (
        f"{before.how}; run before and after ours ({before.rate:,.0f} and {after.rate:,.0f}"
        " events/s), mean of the two times"
    )
    return replace(before, seconds=(before.seconds + after.seconds) / 2, how=how, cpu=cpu)


def _of(figures: Sequence[Figure], database: str, kind: str) -> Figure | None:
    return next((f for f in figures if f.database == database and f.kind == kind), None)


def aims(figures: Sequence[Figure]) -> list[dict[str, Any]]:
    """Check issue 5's aim: the consumer >= 50% of the bulk-insert ceiling on PostgreSQL."""
    ours, raw = _of(figures, "PostgreSQL", "ours"), _of(figures, "PostgreSQL", "raw")
    if ours is None or raw is None or raw.rate <= 0:
        return []
    share = ours.rate / raw.rate
    return [
        {
            "aim": f"issue 5: consumer -> PostgreSQL >= {AIM_SHARE:.0%} of the bulk-insert"
            " (binary COPY) ceiling",
            "measured": round(share, 3),
            "met": share >= AIM_SHARE,
            "by": f"{share / AIM_SHARE:.2f}x the aim",
        }
    ]


def table(figures: Sequence[Figure]) -> str:
    """Render the figures as a Markdown table."""
    lines = [
        (
            "| figure | events | events/s | ratio to raw | ratio to apply"
            " | CPU % consumer / database / bench |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in figures:
        raw, apply = _of(figures, f.database, "raw"), _of(figures, f.database, "apply")
        to_raw = f"{f.rate / raw.rate:.2f}" if raw and raw.rate else "-"
        to_apply = f"{f.rate / apply.rate:.2f}" if apply and apply.rate else "-"
        cpu = " / ".join(
            f"{f.cpu[k]:.0f}" if k in f.cpu else "-" for k in ("consumer", "database", "bench")
        )
        lines.append(f"| {f.name} | {f.events:,} | {f.rate:,.0f} | {to_raw} | {to_apply} | {cpu} |")
    return "\n".join(lines)


def report(
    figures: Sequence[Figure], count: int, size: int, load: Sequence[float]
) -> dict[str, Any]:
    """Return the results as plain data: machine, plan, figures and aims."""
    return {
        "command": " ".join([".venv/bin/python -m bench.consumer", *sys.argv[1:]]),
        "machine": machine(load),
        "document_bytes": size,
        "count": count,
        "batch_max_records": Settings.from_env().consumer.batch_max_records,
        "figures": [{**asdict(f), "rate": round(f.rate, 1)} for f in figures],
        "aims": aims(figures),
    }


def render(result: Mapping[str, Any], figures: Sequence[Figure]) -> str:
    """Return the report as text: a headline, the table, the rows written and the aims."""
    lines = [
        *headline(str(result["command"]), result["machine"]),
        (
            f"documents: {result['document_bytes']} bytes encoded, {result['count']:,} per figure,"
            f" consumer batches of up to {result['batch_max_records']}"
        ),
        "",
        table(figures),
        "",
        (
            "CPU: % of one core each process used during the figure (database: the server and"
            " its backends). The ceilings run in the bench process."
        ),
    ]
    for f in figures:
        written = ", ".join(f"{k} {v:,}" for k, v in sorted(f.rows.items()) if v)
        lines.append(f"{f.name}: {f.how}; rows: {written}")
    for aim in result["aims"]:
        verdict = "met" if aim["met"] else "NOT met"
        lines.append(f"aim: {aim['aim']}: {verdict} (measured {aim['measured']}, {aim['by']})")
    return "\n".join(lines)


def _postmaster(server: LocalPostgres) -> int | None:
    try:
        return int((server.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def main() -> None:
    """Start a broker and PostgreSQL, measure, print the table and the aims, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=COUNT, help="documents per figure")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--profile", type=Path, help="py-spy each consumer into this directory")
    parser.add_argument("--profile-format", choices=("svg", "txt", "json"), default="svg")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    meter = Meter("starting the broker and PostgreSQL")
    with (
        progress(meter),
        tempfile.TemporaryDirectory(prefix="lienthong-bench-") as tmp,
        LocalKafka(home=Path(tmp) / "kafka") as broker,
        LocalPostgres() as server,
    ):
        work = Path(tmp)
        counter = iter(range(1_000_000))
        databases: dict[str, Fresh] = {
            "PostgreSQL": lambda: server.create_database(f"bench_{next(counter)}"),
            "SQLite": lambda: f"sqlite:///{work / f'bench-{next(counter)}.sqlite'}",
        }
        cpu = {
            "PostgreSQL": {"database": with_children(_postmaster(server))},
            "SQLite": {},
        }
        figures, size = run(
            broker.bootstrap,
            databases,
            args.count,
            work,
            cpu=cpu,
            meter=meter,
            profile=args.profile,
            profile_format=args.profile_format,
        )
        result = report(figures, args.count, size, (load_before, os.getloadavg()[0]))
    print(render(result, figures))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
