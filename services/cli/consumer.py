"""`lienthong consumer run`: persist an endpoint's deliveries (or all of them, as an archive)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
import structlog
from confluent_kafka import KafkaError, KafkaException

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.consumer.bootstrap import build_consumer
from lienthong.plumbing.metrics_http import serve_metrics

log = structlog.get_logger("lienthong.consumer")

# librdkafka's codes for a static member replaced by another with its group.instance.id.
_FENCED = (KafkaError._FENCED, KafkaError.FENCED_INSTANCE_ID)


@click.group("consumer")
def consumer_group() -> None:
    """Persist delivered events into SQLite or PostgreSQL, exactly once."""


@consumer_group.command("run")
@click.option("--endpoint", "endpoint_id", help="Endpoint whose delivery topic to persist.")
@click.option("--all", "archive", is_flag=True, help="Persist every delivery topic (an archive).")
@click.option("--metrics-port", type=int, help="/metrics port [LIENTHONG_CONSUMER_METRICS_PORT].")
@pass_runtime
def run(
    runtime: Runtime, endpoint_id: str | None, *, archive: bool, metrics_port: int | None
) -> None:
    """Consume a delivery topic; rows and offsets commit together; receipts go back to senders.

    The store is LIENTHONG_CONSUMER_DATABASE_URL (sqlite:///lienthong.sqlite by default, or a
    postgresql:// URL); its schema is migrated on start. SIGTERM or Ctrl-C stops cleanly.
    /metrics, /healthz and /readyz are served on LIENTHONG_CONSUMER_METRICS_PORT (9102).

    Example: LIENTHONG_CONSUMER_DATABASE_URL=sqlite:///nghe-an.sqlite lienthong consumer run
    --endpoint tinh-nghe-an
    """
    if archive == (endpoint_id is not None):
        raise click.UsageError("give exactly one of --endpoint ID or --all")
    directory = runtime.load_directory()
    if endpoint_id is not None and endpoint_id not in directory.endpoints:
        known = ", ".join(sorted(directory.endpoints))
        raise click.ClickException(f"unknown endpoint {endpoint_id!r}; the directory has {known}")
    settings = runtime.settings
    service = build_consumer(settings, directory, endpoint_id=endpoint_id)
    port = settings.consumer.metrics_port if metrics_port is None else metrics_port
    metrics = serve_metrics(
        service.registry, settings.consumer.metrics_host, port, health=service.health
    )
    stop = threading.Event()

    def on_stop(signum: int, _: FrameType | None) -> None:
        log.info("consumer_stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    relay = threading.Thread(target=service.relay.run, args=(stop,), name="outbox", daemon=True)
    relay.start()
    log.info(
        "consumer_starting",
        name=service.name,
        topics=list(service.topics),
        metrics=metrics.url,
        receipts=endpoint_id is not None,
        maintenance_file=str(settings.consumer.maintenance_file or "") or None,
    )
    try:
        service.sink.run(stop)
    except KafkaException as exc:  # fatal: raised by the sink loop, which cannot go on
        error = exc.args[0] if exc.args else None
        fenced = isinstance(error, KafkaError) and error.code() in _FENCED
        log.error(  # noqa: TRY400 - a known condition; the fix says more than a traceback
            "consumer_fatal_error",
            name=service.name,
            error=str(error),
            fix=(
                f"another consumer runs with group.instance.id {service.instance_id}: give"
                " each replica of an endpoint its own LIENTHONG_CONSUMER_INSTANCE_ID"
            )
            if fenced
            else "restart the consumer; it resumes from the offsets in its store",
        )
        raise click.exceptions.Exit(1) from None
    finally:
        stop.set()
        relay.join(timeout=60)
        service.store.close()
        metrics.close()
