"""`lienthong demo`: the whole axis on this machine, a realistic story, and a summary."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import FrameType

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.consumer.store.store import Store
from lienthong.demo.run import (
    CONSUMERS,
    DemoError,
    Layout,
    Published,
    build_stack,
    dead_letters,
    fresh_workdir,
    held,
    percentile,
    principals,
    publish,
    render_reasons,
    wait_until,
    wanted,
)
from lienthong.demo.scenario import expect, story
from lienthong.demo.stack import StackError
from lienthong.devtools.kafka import REPO_ROOT, LocalKafka
from lienthong.devtools.ports import free_port_pair, port_accepts
from lienthong.plumbing.kafka_confluent import make_admin
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.topics import apply_topics, plan_topics
from lienthong.security.errors import SecurityError
from lienthong.security.principals import OPERATOR, endpoint_user
from lienthong.security.provision import provision


@click.command("demo")
@click.option("--keep-running", is_flag=True, help="Leave everything up until Ctrl-C.")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=REPO_ROOT / ".local" / "demo",
    show_default=True,
    help="Where the broker, the stores and the logs go (emptied).",
)
@click.option("--timeout", default=90.0, show_default=True, help="Seconds to wait for receipts.")
@pass_runtime
def demo_command(runtime: Runtime, *, keep_running: bool, workdir: Path, timeout: float) -> None:
    """Start Kafka, the producer, the router and three consumers; publish a story; sum up.

    The story: a directive from the Government Office to all provinces, a document to two
    ministries and its revocation, monthly reports from four provinces, a status, a document
    to an unknown agency (refused by the API, then sent straight to Kafka: dead-lettered) and
    a broadcast a province may not make (dead-lettered). Exits 0 only if every store, receipt
    and dead letter is where it should be. Everything started is stopped on exit or Ctrl-C.

    Example: lienthong demo --keep-running
    """
    started = time.monotonic()

    def progress(message: str) -> None:
        click.echo(f"[{time.monotonic() - started:6.1f}s] {message}", err=True)

    signal.signal(signal.SIGTERM, _interrupt)
    directory = runtime.load_directory()
    fresh_workdir(workdir)
    kafka_port, controller = (9092, 9093) if not port_accepts(9092) else free_port_pair()
    broker = LocalKafka(home=workdir / "kafka", port=kafka_port, controller_port=controller)
    layout = Layout(workdir, broker.admin_settings(), runtime.settings.directory.path.resolve())
    stack = build_stack(layout, dict(os.environ))
    try:
        progress(f"starting Kafka on {broker.bootstrap} (first run: fetching the jars)")
        broker.start()
        admin = make_admin(layout.kafka)
        specs = plan_topics(runtime.settings.topics, directory.endpoints.values())
        apply_topics(admin, specs)
        progress(f"{len(specs)} topics created")
        made = provision(admin, directory, runtime.settings, layout.secrets)
        progress(
            f"{len(made.acls.created)} ACLs and {len(made.users.plan.create)} SCRAM users"
            f" created (passwords in {layout.secrets})"
        )
        stack.start(progress)
        events = story(directory)
        expected = expect(events, directory, CONSUMERS)
        published = publish(events, layout, progress)
        target = wanted(expected)
        dlq = runtime.settings.topics.dlq
        arrived = wait_until(
            lambda: (
                held(layout) == target
                and dead_letters(layout.as_user(OPERATOR), dlq) == expected.dead_letters
            ),
            timeout,
            progress,
            "every copy, receipt and dead letter",
        )
        _summary(layout, target, published, principals(stack, published), dlq=dlq, arrived=arrived)
        _check(arrived=arrived, logs=workdir / "logs")
        if keep_running:
            vpcp = environment(layout.as_user(endpoint_user("vpcp")))
            click.echo("\nEverything is up. To read vpcp's deliveries as vpcp's own principal:")
            for name, value in sorted(vpcp.items()):
                click.echo(f"  export {name}={value}")
            click.echo("  lienthong subscribe --endpoint vpcp\nCtrl-C stops it all.")
            while True:
                time.sleep(3600)
    except (StackError, DemoError, SecurityError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        progress("interrupted")
    finally:
        progress("stopping everything")
        stack.stop()
        broker.stop()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _check(*, arrived: bool, logs: Path) -> None:
    if not arrived:
        raise DemoError(f"the numbers do not add up (see above); the logs are in {logs}")


def _summary(
    layout: Layout,
    target: dict[str, dict[str, int]],
    published: Published,
    ran_as: dict[str, str],
    *,
    dlq: str,
    arrived: bool,
) -> None:
    found = held(layout)
    click.echo("\nPublished:")
    for pub, said in published.answers:
        click.echo(f"  {pub.title}: {said}")
    click.echo(
        f"\n{'endpoint':<14}{'events':>8}{'documents':>11}{'reports':>9}{'statuses':>10}"
        f"{'receipts sent':>15}  store"
    )
    for endpoint in CONSUMERS:
        row = found[endpoint]
        cells = "".join(
            f"{row[k]:>{w}}"
            for k, w in (
                ("events", 8),
                ("documents", 11),
                ("reports", 9),
                ("statuses", 10),
                ("receipts_sent", 15),
            )
        )
        mark = "" if row == target[endpoint] else f"   expected {target[endpoint]}"
        click.echo(f"{endpoint:<14}{cells}  {layout.store(endpoint)}{mark}")
    reasons = dead_letters(layout.as_user(OPERATOR), dlq)
    click.echo(f"\nDead-letter topic: {sum(reasons.values())} records: {render_reasons(reasons)}")
    delays = []
    for endpoint in CONSUMERS:
        with Store.open(layout.store(endpoint), migrate=False) as store:
            delays += [seconds for _, seconds in store.delays()]
    if delays:
        click.echo(
            f"End-to-end latency, occurred -> persisted, {len(delays)} events: "
            f"p50 {percentile(delays, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(delays, 0.99) * 1000:.0f} ms"
        )
    click.echo("Principals (set-up alone as the administrator lt-admin):")
    for who, user in ran_as.items():
        click.echo(f"  {who:<24}{user}")
    click.echo(f"Metrics: producer http://127.0.0.1:{layout.api_port}/metrics")
    click.echo(f"         router http://127.0.0.1:{layout.router_port}/metrics")
    for endpoint in CONSUMERS:
        click.echo(
            f"         consumer {endpoint} http://127.0.0.1:"
            f"{layout.consumer_ports[endpoint]}/metrics"
        )
    stores = " ".join(f"--db {layout.store(e)}" for e in CONSUMERS)
    click.echo(f"Trace:   lienthong trace '000.00.00.G22,2026/11/25,7816/VPCP-KSTT' {stores}")
    click.echo("\nAll accounted for." if arrived else "\nNOT all accounted for.")
