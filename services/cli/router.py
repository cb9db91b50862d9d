"""`lienthong router run`: the exactly-once fan-out process."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
import structlog

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.plumbing.metrics_http import serve_metrics
from lienthong.router.bootstrap import build_router
from lienthong.router.clients import RouterGaveUp

log = structlog.get_logger("lienthong.router")


@click.group("router")
def router_group() -> None:
    """Route inbound events to the endpoints of their recipients."""


@router_group.command("run")
@click.option("--instance-id", help="Stable id of this process [LIENTHONG_ROUTER_INSTANCE_ID].")
@click.option("--metrics-port", type=int, help="/metrics port [LIENTHONG_ROUTER_METRICS_PORT].")
@pass_runtime
def run(runtime: Runtime, instance_id: str | None, metrics_port: int | None) -> None:
    """Consume lienthong.inbound and fan each event out, one Kafka transaction per batch.

    SIGTERM or Ctrl-C finishes the batch at hand and stops; SIGHUP reloads the directory.
    /metrics, /healthz and /readyz are served on LIENTHONG_ROUTER_METRICS_PORT (9101).

    Example: LIENTHONG_ROUTER_INSTANCE_ID=router-0 lienthong router run
    """
    settings = runtime.settings
    runtime.load_directory()  # every problem listed, before joining the group
    router = settings.router.model_copy(
        update={
            k: v
            for k, v in (("instance_id", instance_id), ("metrics_port", metrics_port))
            if v is not None
        }
    )
    settings = settings.model_copy(update={"router": router})
    service = build_router(settings)
    metrics = serve_metrics(
        service.registry, router.metrics_host, router.metrics_port, health=service.health
    )
    stop = threading.Event()

    def on_stop(signum: int, _: FrameType | None) -> None:
        log.info("router_stopping", signal=signal.Signals(signum).name)
        stop.set()

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        service.directory.request()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    log.info(
        "router_starting",
        transactional_id=service.transactional_id,
        metrics=metrics.url,
        broker=settings.kafka.bootstrap,
        maintenance_file=str(router.maintenance_file) if router.maintenance_file else None,
    )
    try:
        service.loop.run(stop)
    except RouterGaveUp as exc:
        log.error(  # noqa: TRY400 - the reason says it all; a traceback adds nothing
            "router_gave_up", reason=str(exc), fix="its supervisor restarts it: safe"
        )
        raise click.exceptions.Exit(1) from None
    finally:
        metrics.close()
