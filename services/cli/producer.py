"""`lienthong producer serve`: run the HTTP ingestion API."""

from __future__ import annotations

import hashlib
import ipaddress
import signal

import click
import structlog
import uvicorn

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.directory.model import Directory
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
    The directory file is reloaded when it changes (checked every
    LIENTHONG_PRODUCER_DIRECTORY_CHECK_INTERVAL_S) and on SIGHUP: a revoked key stops working.

    Example: LIENTHONG_KAFKA_BOOTSTRAP=127.0.0.1:9092 lienthong producer serve --port 8080
    """
    settings = runtime.settings
    directory = runtime.load_directory()  # fail fast, every problem listed, before binding
    bind_host = host or settings.producer.host
    demo = demo_keys_in(directory)
    if demo and not is_loopback(bind_host):
        raise click.ClickException(
            f"refusing to listen on {bind_host}: endpoints {', '.join(demo)} accept the"
            " published demo keys (demo-key-<endpoint id>); give them their own credentials"
            " in the directory, or listen on 127.0.0.1"
        )
    service = build_producer(settings, directory=directory, live=True)  # parsed once, above
    signal.signal(signal.SIGHUP, lambda _signum, _frame: service.reload())
    maintenance = settings.producer.maintenance_file
    service_health(service.app).maintenance = MaintenanceFlag(maintenance)
    service.publisher.start()  # the application's lifespan closes it when uvicorn shuts down
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


def demo_keys_in(directory: Directory) -> list[str]:
    """Return the endpoints whose credential is the published demo key `demo-key-<id>`."""
    return sorted(
        e.id
        for e in directory.endpoints.values()
        if e.credential_sha256 == hashlib.sha256(f"demo-key-{e.id}".encode()).hexdigest()
    )


def is_loopback(host: str) -> bool:
    """Tell whether a bind address only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
