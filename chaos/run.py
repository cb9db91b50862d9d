"""Run a scenario: start the axis, offer load, inject each fault in turn, drain, audit.

The broker and the database are the caller's (a session fixture in the tests, servers of its
own for `make chaos`), so the same run works on one broker or, later, on a cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg

from chaos.audit import Audit, run_audit
from chaos.faults import Fault, Injector, Outcome
from chaos.load import Load, Offered
from chaos.watch import Watcher
from chaos.world import SENDER_ENDPOINT, UNKNOWN_AGENCY, World, build_world, declare
from lienthong.devtools.kafka import LocalKafka
from tests.support.api import demo_key
from tests.support.postgres import LocalPostgres

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Scenario:
    """The faults of a run, in order, and the load they run under."""

    name: str
    faults: tuple[Fault, ...]
    rate: float = 20.0  # documents per second through the API (x3 copies, x3 receipts)
    warmup_s: float = 5.0
    gap_s: float = 5.0  # between one fault's recovery and the next fault


SHORT = Scenario(
    "short",
    (
        Fault("broker-kill", down_s=8),
        Fault("broker-stop", down_s=8),
        Fault("broker-kill", down_s=8),
        Fault("consumer-kill", "consumer-bo-nganh"),
        Fault("router-kill", "router-0"),
        Fault("database-outage", down_s=8),
    ),
    gap_s=3.0,
)
FULL = Scenario(
    "full",
    (
        Fault("router-kill", "router-0"),
        Fault("consumer-kill", "consumer-tinh-nghe-an"),
        Fault("consumer-kill", "consumer-vpcp"),
        Fault("broker-kill", down_s=10),
        Fault("broker-stop", down_s=20),
        Fault("database-outage", down_s=30),
        Fault("consumer-kill", "consumer-bo-nganh"),
        Fault("consumer-kill", "consumer-dia-phuong"),
        Fault("router-kill", "router-0"),
        Fault("broker-kill", down_s=60),
        Fault("broker-stop", down_s=120),
        Fault("database-outage", down_s=10),
    ),
    rate=30.0,
)
SCENARIOS = {s.name: s for s in (SHORT, FULL)}


@dataclass(frozen=True, slots=True)
class Report:
    """What a run did and found."""

    scenario: Scenario
    outcomes: tuple[Outcome, ...]
    audit: Audit
    offered: Offered
    seconds: float

    @property
    def ok(self) -> bool:
        """Tell whether nothing was lost or doubled and every fault was recovered from."""
        return self.audit.ok and all(
            o.resumed_at is not None and not o.notes for o in self.outcomes
        )


def run(
    scenario: Scenario,
    kafka: LocalKafka,
    postgres: LocalPostgres,
    workdir: Path,
    *,
    progress: Progress = lambda _line: None,
    extra_env: Mapping[str, str] | None = None,
    drain_timeout_s: float = 300.0,
) -> Report:
    """Run `scenario` on the given broker and database server; return the report."""
    started = time.monotonic()
    world = build_world(kafka.admin_settings(), postgres.create_database)
    running = declare(world, workdir / "logs", extra_env=extra_env)
    running.stack.start(progress, timeout_s=120)
    services = {r.name: ("router", r.url) for r in running.routers}
    services |= {c.name: ("consumer", c.url) for c in running.consumers.values()}

    def pid(name: str) -> int | None:
        process = running.stack.service(name).process
        return process.pid if process is not None and process.poll() is None else None

    watcher = Watcher(services, pid)
    watcher.start()
    load = Load(
        api_url=running.api.url,
        api_key=demo_key(SENDER_ENDPOINT),
        kafka=world.settings.kafka,
        inbound=world.settings.topics.inbound,
        recipients=world.recipients,
        unknown=UNKNOWN_AGENCY,
        rate=scenario.rate,
    )
    outcomes: list[Outcome] = []
    try:
        load.start()
        time.sleep(scenario.warmup_s)
        injector = Injector(running, kafka, postgres, watcher, progress=progress)
        for fault in scenario.faults:
            outcomes.append(injector.inject(fault))
            time.sleep(scenario.gap_s)
        progress("stopping the load; waiting for every copy, receipt and dead letter")
        load.stop()
        drained = wait_drained(world, load.offered, drain_timeout_s)
        progress(f"drained in {drained:.1f} s; auditing every topic and store")
        audit = run_audit(world, load.offered)
    finally:
        load.stop(timeout_s=0)
        watcher.stop()
        running.stack.stop()
    return Report(scenario, tuple(outcomes), audit, load.offered, time.monotonic() - started)


def wait_drained(world: World, offered: Offered, timeout_s: float) -> float:
    """Wait until every store holds what was sent to it (then a little longer); return the wait."""
    started = time.monotonic()
    deadline = started + timeout_s
    documents = len(offered.documents)
    receipts = documents * len(world.recipients)
    while time.monotonic() < deadline:
        if _stored(world) >= (documents, receipts, len(offered.unroutable)):
            break
        time.sleep(0.5)
    waited = time.monotonic() - started
    time.sleep(3.0)  # a copy delivered twice would arrive by now: let the audit see it
    return waited


def _stored(world: World) -> tuple[int, int, int]:
    """Return the fewest documents in a target store, receipts and 02s in the sender's."""
    fewest = min(
        _count(url, "select count(*) from lt_documents")
        for endpoint, url in world.stores.items()
        if endpoint != SENDER_ENDPOINT
    )
    sender = world.stores[SENDER_ENDPOINT]
    receipts = _count(
        sender,
        "select count(*) from (select distinct document_id, from_organ from lt_statuses"
        " where status_code = '01') as pairs",
    )
    rejected = _count(sender, "select count(*) from lt_statuses where status_code = '02'")
    return fewest, receipts, rejected


def _count(url: str, query: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute(query).fetchone()
    except psycopg.Error:
        return 0  # the database is away, or its tables are not there yet
    return int(row[0]) if row else 0
