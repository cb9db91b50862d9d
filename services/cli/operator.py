"""What the operator commands share: time and offset arguments, one-line failures."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from lienthong.contract.text import for_terminal, json_for_terminal
from lienthong.operations.errors import OperationsError
from lienthong.operations.when import HINT, parse_when

F = TypeVar("F", bound=Callable[..., Any])


def when_value(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """Read a point in time (an option callback): ISO 8601, or back from now, in UTC."""
    if value is None:
        return None
    try:
        return parse_when(value, datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def offset_values(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[int, int], ...]:
    """Read DLQ offsets (an argument callback), `OFFSET` (partition 0) or `PARTITION:OFFSET`."""
    offsets = []
    for text in values:
        partition, _, offset = text.rpartition(":")
        if not offset.isdigit() or not (partition == "" or partition.isdigit()):
            raise click.BadParameter(f"{text!r} is not an offset: use 17 or 0:17", ctx, param)
        offsets.append((int(partition or 0), int(offset)))
    return tuple(offsets)


def offset_value(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    """Read one DLQ offset (an argument callback), like `offset_values`."""
    return offset_values(ctx, param, (value,))[0]


WHEN_HELP = f"Accepts {HINT}; a time without a zone is UTC."


def timeout_option(func: F) -> F:
    """Add `--timeout`: how long to wait for the broker before failing with one line."""
    return click.option(
        "--timeout",
        default=15.0,
        show_default=True,
        metavar="SECONDS",
        help="Give up on an unreachable broker after this long.",
    )(func)


def json_option(func: F) -> F:
    """Add `--json`: one JSON document on stdout instead of the table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def echo_json(data: Any) -> None:
    """Print one JSON document, non-ASCII kept (agency names are Vietnamese), C1 and bidi not."""
    click.echo(json_for_terminal(json.dumps(data, ensure_ascii=False, indent=2)))


def echo_line(line: str) -> None:
    """Print one line of a record's text, its control and bidi characters shown as escapes.

    What a record says is the sender's: raw, an ANSI escape in a subject would clear the
    operator's terminal or paint a fake status on it.
    """
    click.echo(for_terminal(line))


@contextmanager
def one_line_failure() -> Iterator[None]:
    """Turn an operations error into click's one-line `Error: ...` and exit status 1."""
    try:
        yield
    except OperationsError as exc:
        raise click.ClickException(str(exc)) from None
