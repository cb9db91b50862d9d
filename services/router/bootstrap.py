"""Composition root of the router: consumer, transactional producer, directory, metrics."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer
from prometheus_client import CollectorRegistry

from lienthong.contract.agency import AgencyCodePattern
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
from lienthong.directory.errors import DirectoryError, Problem
from lienthong.directory.live import DirectoryHolder
from lienthong.directory.loader import load_directory
from lienthong.directory.model import Directory
from lienthong.plumbing.health import OK, Health, Heartbeat, MaintenanceFlag
from lienthong.plumbing.kafka_confluent import make_admin, make_consumer, make_producer
from lienthong.plumbing.lag import LagMonitor, group_committed, offsets_reader
from lienthong.plumbing.probes import CachedCheck, topic_probe
from lienthong.plumbing.settings import Settings
from lienthong.router.clients import RebuildLimits
from lienthong.router.decide import Router
from lienthong.router.loop import RouterLoop
from lienthong.router.metrics import RouterMetrics


@dataclass(frozen=True, slots=True)
class RouterService:
    """The loop, and what signal handlers and the metrics and health server need to reach."""

    loop: RouterLoop
    directory: DirectoryHolder
    registry: CollectorRegistry
    transactional_id: str
    health: Health


def transactional_id(settings: Settings) -> str:
    """Return this process's stable transactional id: the group and the instance id."""
    instance = settings.router.instance_id or socket.gethostname()
    return f"{settings.router.group_id}-{instance}"


def build_router(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    consumer_factory: Callable[..., Consumer] = make_consumer,
    producer_factory: Callable[..., Producer] = make_producer,
) -> RouterService:
    """Build the router from settings; clients connect when the loop runs."""
    registry = registry or CollectorRegistry()
    metrics = RouterMetrics(registry)
    codes = AgencyCodePattern(settings.contract.agency_code_pattern)

    def load(path: Path) -> Directory:
        directory = load_directory(path, agency_codes=codes)
        axis = settings.router.axis_organ_id
        agency = directory.agencies.get(axis)
        if agency is not None:
            # The endpoint serving it could send statuses 02 "rejected by the axis".
            message = (
                f"agency {axis} ({agency.name}, served by endpoint {agency.endpoint}) is the"
                " axis's own id (LIENTHONG_ROUTER_AXIS_ORGAN_ID): the axis's id must be one no"
                " endpoint serves; choose another one, or remove it from the directory"
            )
            raise DirectoryError([Problem(str(path), 1, message)])
        return directory

    def reloaded(outcome: str) -> None:
        metrics.directory_reloads.labels(outcome).inc()
        if outcome == "applied":
            metrics.start_endpoints_at_zero(holder.current.endpoints)

    holder = DirectoryHolder(
        settings.directory.path,
        load,
        check_interval_s=settings.router.directory_check_interval_s,
        on_reload=reloaded,
    )
    metrics.start_endpoints_at_zero(holder.current.endpoints)
    txn_id = transactional_id(settings)
    txn_timeout = settings.router.transaction_timeout_ms
    overrides: dict[str, Any] = {
        "transaction.timeout.ms": txn_timeout,
        # librdkafka requires a record's delivery timeout to fit in its transaction's.
        "delivery.timeout.ms": min(settings.kafka.delivery_timeout_ms, txn_timeout),
    }
    config = settings.router

    def new_producer() -> Producer:
        return producer_factory(
            settings.kafka,
            transactional_id=txn_id,
            client_id=f"{txn_id}-producer",
            stats_cb=metrics.kafka.callback("producer", transactional=True),
            **overrides,
        )

    def new_consumer() -> Consumer:
        return consumer_factory(
            settings.kafka,
            config.group_id,
            client_id=f"{txn_id}-consumer",
            stats_cb=metrics.kafka.callback("consumer"),
            **{
                # Static membership: a restarted (or rebuilt) router takes its partitions back
                # at once, without waiting out the old member's session.
                "group.instance.id": txn_id,
                "session.timeout.ms": config.session_timeout_ms,
            },
        )

    codec = Codec(SchemaStore.from_package())
    # Never subscribes, so never a member: reads the group's committed offsets and log ends.
    reader = offsets_reader(
        lambda: consumer_factory(settings.kafka, config.group_id, client_id=f"{txn_id}-lag")
    )
    loop = RouterLoop(
        new_consumer=new_consumer,
        new_producer=new_producer,
        router=Router(codec, settings.topics.delivery_prefix),
        directory=holder,
        codec=codec,
        settings=config,
        topics=settings.topics,
        metrics=metrics,
        lag=LagMonitor(
            metrics.lag,
            topics=[settings.topics.inbound],
            committed=group_committed(reader),
            connect=reader,
            interval_s=config.lag_interval_s,
        ),
        limits=RebuildLimits(
            call_timeout_s=config.call_timeout_s,
            produce_timeout_s=overrides["delivery.timeout.ms"] / 1000,
        ),
        heartbeat=Heartbeat(),
    )
    health = Health(
        liveness={"loop": loop.heartbeat.check("the routing loop", config.liveness_timeout_s)},
        readiness={
            "broker": CachedCheck(
                topic_probe(lambda: make_admin(settings.kafka), settings.topics.inbound),
                config.readiness_interval_s,
            ),
            "group": loop.assignment.check,
            # Loaded before the loop exists (the build fails otherwise); a reload that fails
            # keeps the previous one, so there is always a directory in use.
            "directory": lambda: OK if holder.current.endpoints else "no endpoint in directory",
            "routing": loop.routing_check,
        },
        maintenance=MaintenanceFlag(config.maintenance_file),
    )
    health.register_metrics("router", registry)
    return RouterService(loop, holder, registry, txn_id, health)
