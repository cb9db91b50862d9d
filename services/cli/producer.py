"""`lienthong producer serve`: run the HTTP ingestion API."""

from __future__ import annotations

import click
import structlog
import uvicorn

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.plumbing.health import MaintenanceFlag
from lienthong.producer.api.app import service_health
from lienthong.producer.bootstrap import build_producer

log = structlog.get_logger("lienthong.producer")


@click.group("producer")
def producer_group() -> None:
    """Run the HTTP ingestion API for agency backends."""


@producer_group.command("serve")
@click.option("--host", help="Interface to listen on [LIENTHONG_PRODUCER_HOST, 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [LIENTHONG_PRODUCER_PORT, 8080].")
@pass_runtime
def serve(runtime: Runtime, host: str | None, port: int | None) -> None:
    """Serve POST /v1/documents, /v1/reports, /v1/statuses (and :batch), /readyz, /metrics.

    /readyz answers 503 while LIENTHONG_PRODUCER_MAINTENANCE_FILE exists (maintenance mode).

    Example: LIENTHONG_KAFKA_BOOTSTRAP=127.0.0.1:9092 lienthong producer serve --port 8080
    """
    settings = runtime.settings
    runtime.load_directory()  # fail fast, with every problem listed, before binding a port
    service = build_producer(settings)
    maintenance = settings.producer.maintenance_file
    service_health(service.app).maintenance = MaintenanceFlag(maintenance)
    service.publisher.start()  # the application's lifespan closes it when uvicorn shuts down
    bind_host = host or settings.producer.host
    bind_port = settings.producer.port if port is None else port
    log.info(
        "producer_starting",
        host=bind_host,
        port=bind_port,
        topic=settings.topics.inbound,
        broker=settings.kafka.bootstrap,
        broker_reachable=service.publisher.reachable,
        maintenance_file=str(maintenance) if maintenance else None,
    )
    config = uvicorn.Config(
        service.app,
        host=bind_host,
        port=bind_port,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    uvicorn.Server(config).run()
    log.info("producer_stopped")
