"""`lienthong trace DOCUMENT_ID`: where a document went and what became of it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.consumer.store.engine import parse_url, redacted
from lienthong.consumer.store.errors import StoreError
from lienthong.consumer.store.model import Timeline
from lienthong.consumer.store.store import Store
from lienthong.consumer.trace import trace_rows
from lienthong.contract.text import for_terminal, json_for_terminal

_AGENCY_WIDTH = 27


@click.command("trace")
@click.argument("document_id")
@click.option(
    "--db",
    "urls",
    multiple=True,
    metavar="URL",
    help="A store to read; repeat for several [LIENTHONG_CONSUMER_DATABASE_URL].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_runtime
def trace_command(
    runtime: Runtime, document_id: str, urls: tuple[str, ...], *, as_json: bool
) -> None:
    """Print a document's timeline: occurred, routed, persisted, each status, from every store.

    Example: lienthong trace '000.00.00.G22,2026/11/25,7816/VPCP-KSTT'
    --db sqlite:///vpcp.sqlite --db sqlite:///nghe-an.sqlite
    """
    urls = urls or (runtime.settings.consumer.database_url.get_secret_value(),)
    timelines: list[tuple[str, Timeline]] = []
    for url in urls:
        try:
            parsed = parse_url(url)
            if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
                raise click.ClickException(f"no store at {url}: the file does not exist")
            with Store.open(url, migrate=False) as store:
                timelines.append((redacted(url), store.timeline(document_id)))
        except StoreError as exc:
            raise click.ClickException(f"cannot read {redacted(url)}: {exc}") from None
    rows = trace_rows(timelines)
    stored = next((t.document for _, t in timelines if t.document is not None), None)
    if not rows and stored is None:
        raise click.ClickException(f"{document_id} is in none of the {len(urls)} stores read")
    if as_json:
        summary = None
        if stored is not None:
            summary = {
                "subject": stored.header.subject,
                "sender": stored.header.sender,
                "state": stored.state,
                "current_status": stored.current_status,
                "replaced_by": stored.replaced_by,
            }
        click.echo(
            json_for_terminal(
                json.dumps(
                    {
                        "document_id": document_id,
                        "document": summary,
                        "timeline": [r.as_json() for r in rows],
                    },
                    ensure_ascii=False,
                )
            )
        )
        return
    click.echo(f"document  {for_terminal(document_id)}")
    if stored is not None:
        click.echo(f"subject   {for_terminal(stored.header.subject)}")
        click.echo(
            f"state     {stored.state}  current status: {stored.current_status or '-'}"
            + (f"  replaced by: {stored.replaced_by}" if stored.replaced_by else "")
        )
    click.echo("")
    click.echo(f"{'time (UTC)':<23} {'step':<9} {'type':<8} {'agency':<27} detail")
    for row in rows:
        agency = row.agency if len(row.agency) <= _AGENCY_WIDTH else row.agency[:24] + "..."
        place = f"  [{row.where}]" if row.where else ""
        click.echo(
            f"{row.at:%Y-%m-%d %H:%M:%S.%f}"[:23] + f" {row.step:<9} {row.event_type:<8}"
            f" {for_terminal(agency):<27} {for_terminal(row.detail)}{place}"
        )
