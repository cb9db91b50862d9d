"""`lienthong subscribe --endpoint ID`: tail an endpoint's delivery topic, decoded."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.contract.jsonform import to_json
from lienthong.contract.schemas import EventType
from lienthong.contract.text import for_terminal, json_for_terminal
from lienthong.contract.typed import Document, Record, Report
from lienthong.producer.rules import STATUS_CODES
from lienthong.subscriber import Event, Subscriber, SubscriberError, UnreadableEvent
from lienthong.subscriber.dedupe import DEFAULT_WINDOW

SUMMARY_MAX = 100
RECIPIENTS_SHOWN = 3


def _summary(record: Record) -> str:
    """Say what the event is about: a document's subject, a report's title, a status code."""
    if isinstance(record, Document):
        code = f"{record.code.code_number}/{record.code.code_notation}"
        text = f"{record.business.action} {code}: {record.subject}"
    elif isinstance(record, Report):
        period = f"{record.period.kind} {record.period.number}/{record.period.year}"
        text = f"{record.title or record.regime_code} ({period}, revision {record.revision})"
    else:
        meaning = STATUS_CODES.get(record.status_code, "?")
        text = f"{record.status_code} {meaning}: {record.response_for.document_id}"
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def readable_line(event: Event[Record]) -> str:
    """Render one event for a terminal: time, type, id, sender → recipients, what, where."""
    at = event.record.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:23]
    shown = list(event.recipients[:RECIPIENTS_SHOWN])
    if len(event.recipients) > RECIPIENTS_SHOWN:
        shown.append(f"+{len(event.recipients) - RECIPIENTS_SHOWN}")
    route = f"{event.headers.sender} → {','.join(shown) or '-'}"
    return (
        f"{at}  {event.event_type.value:<8} {event.event_id}  {route}  {_summary(event.record)}"
        f"  [{event.coordinates}]"
    )


def json_line(event: Event[Record]) -> str:
    """Render one event as a JSON line: the record, its coordinates and its headers."""
    envelope = event.envelope
    out: dict[str, Any] = {
        "topic": envelope.topic,
        "partition": envelope.partition,
        "offset": envelope.offset,
        "key": event.key,
        "event_type": event.event_type.value,
        "writer_version": event.writer.version,
        "headers": {k: v.decode("utf-8", "replace") for k, v in envelope.headers},
        "record": to_json(event.data),
    }
    return json.dumps(out, ensure_ascii=False)


def _unreadable(error: UnreadableEvent, *, as_json: bool) -> str:
    if as_json:
        said = {"error": error.reason, "detail": str(error.error), "at": error.coordinates}
        return json.dumps(said, ensure_ascii=False)
    return f"unreadable record at {error.coordinates}: {error.reason}: {error.error}"


@click.command("subscribe")
@click.option("--endpoint", "endpoint_id", required=True, help="Endpoint whose topic to read.")
@click.option(
    "--from-beginning",
    is_flag=True,
    help="Start at the oldest retained event (default: only new ones). With --group, only"
    " when the group has no committed offsets.",
)
@click.option(
    "--type",
    "types",
    multiple=True,
    type=click.Choice([t.value for t in EventType]),
    help="Show only this event type; repeat for several.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines (for jq).")
@click.option(
    "--group",
    help="Read in this consumer group and commit what was shown. Without it nothing is"
    " committed and no group's offsets move.",
)
@click.option("--count", type=click.IntRange(min=1), help="Exit after showing this many events.")
@click.option(
    "--keep-duplicates",
    is_flag=True,
    help="Show an event again when the topic holds it twice (same sender and event id; see"
    " docs/contract.md, Duplicates). By default the second copy is dropped.",
)
@pass_runtime
def subscribe_command(
    runtime: Runtime,
    endpoint_id: str,
    types: tuple[str, ...],
    group: str | None,
    count: int | None,
    *,
    from_beginning: bool,
    as_json: bool,
    keep_duplicates: bool,
) -> None:
    """Show an endpoint's deliveries as they arrive, one line per event; Ctrl-C stops.

    Example: lienthong subscribe --endpoint tinh-nghe-an --from-beginning --type document
    """
    directory = runtime.load_directory()
    endpoint = directory.endpoints.get(endpoint_id)
    if endpoint is None:
        known = ", ".join(sorted(directory.endpoints))
        raise click.ClickException(f"unknown endpoint {endpoint_id!r}; the directory has {known}")
    settings = runtime.settings
    topic = endpoint.delivery_topic(settings.topics.delivery_prefix)
    wanted = {EventType(t) for t in types} or set(EventType)
    sub = Subscriber(
        topic,
        group,
        kafka=settings.kafka,
        from_beginning=from_beginning,
        client_id=f"{settings.kafka.client_id}-subscribe",
        dedupe_window=0 if keep_duplicates else DEFAULT_WINDOW,
    )
    shown = 0
    with sub:
        sub.stop_on_signals()
        try:
            sub.open()
        except SubscriberError as exc:
            raise click.ClickException(str(exc)) from None
        start = "the oldest retained event" if from_beginning else "new events"
        click.echo(f"reading {topic} from {start}; Ctrl-C stops", err=True)
        while True:
            try:
                for event in sub:
                    if event.event_type not in wanted:
                        continue
                    line = json_line(event) if as_json else readable_line(event)
                    click.echo(json_for_terminal(line) if as_json else for_terminal(line))
                    shown += 1
                    if count is not None and shown >= count:
                        sub.stop()  # the loop's next step finishes this event, then ends
            except UnreadableEvent as error:
                click.echo(_unreadable(error, as_json=as_json), err=not as_json)
                sub.skip(error)
                continue
            break
    dropped = f", dropped {sub.duplicates_dropped} duplicate(s)" if sub.duplicates_dropped else ""
    click.echo(f"stopped after {shown} events{dropped}", err=True)
