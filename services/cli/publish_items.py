"""What `lienthong publish` reads (JSON, a JSON list, JSON lines) and what it says of each event."""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import click

from lienthong.contract import strict_json
from lienthong.contract.schemas import EventType

ACCEPTED = 202
_PROGRESS_OVER = 1000  # events; fewer finish before anyone waits for news
_SEPARATORS = re.compile(r"[\s,]*")


class UsageProblem(click.ClickException):
    """Input or options that cannot be used: exit 2 with a one-line reason."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Item:
    """One event read from the input (with its line), or why it could not be read."""

    line: int
    event_type: EventType | None
    event: Any = None
    problem: str | None = None

    @property
    def event_id(self) -> str | None:
        """Return the event id (every readable event has one, assigned on reading if absent)."""
        return str(self.event["event_id"]) if isinstance(self.event, dict) else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one item: where it was written, or the status and each error."""

    item: Item
    status: int
    errors: tuple[tuple[str, str], ...] = ()
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    @property
    def ok(self) -> bool:
        """Tell whether the event was published."""
        return self.status == ACCEPTED

    def text(self) -> str:
        """Render the `ok` or `FAIL` line."""
        kind = self.item.event_type.value if self.item.event_type else "?"
        if self.ok:
            return f"ok    {kind} {self.item.event_id} {self.topic}[{self.partition}]@{self.offset}"
        shown = "; ".join(f"{pointer or '/'}: {message}" for pointer, message in self.errors)
        return f"FAIL  {kind} line {self.item.line}: {self.status} {shown}"

    def as_json(self) -> str:
        """Render as one JSON object."""
        return json.dumps(
            {
                "line": self.item.line,
                "ok": self.ok,
                "event_type": self.item.event_type.value if self.item.event_type else None,
                "event_id": self.item.event_id,
                "status": self.status,
                "topic": self.topic,
                "partition": self.partition,
                "offset": self.offset,
                "errors": [{"pointer": p, "message": m} for p, m in self.errors],
            },
            ensure_ascii=False,
        )


class Report:
    """Print outcomes on stdout; progress (at most once a second) and a summary on stderr."""

    def __init__(self, total: int, *, as_json: bool) -> None:
        self.total, self.as_json, self.ok, self.failed = total, as_json, 0, 0
        self.tty = sys.stderr.isatty()
        self.progress = self.tty or total > _PROGRESS_OVER
        # A progress line sharing the terminal with stdout is erased before each event line.
        self.shared = self.tty and sys.stdout.isatty()
        self.started = self.shown = time.monotonic()
        self.dirty = False

    def add(self, outcome: Outcome) -> None:
        """Print one outcome and, when due, the progress line."""
        if self.dirty and self.shared:
            click.echo("\r\x1b[K", err=True, nl=False)
            self.dirty = False
        click.echo(outcome.as_json() if self.as_json else outcome.text())
        self.ok, self.failed = self.ok + outcome.ok, self.failed + (not outcome.ok)
        now = time.monotonic()
        if self.progress and now - self.shown >= 1.0:
            self.shown, rate = now, self.ok / (now - self.started)
            line = f"... {self.ok}/{self.total} published ({rate:.0f}/s)"
            click.echo(f"\r{line}\x1b[K" if self.tty else line, err=True, nl=not self.tty)
            self.dirty = self.tty

    def summary(self) -> None:
        """Print `N published, M failed (of T) in X.Y s (R events/s)`."""
        elapsed = time.monotonic() - self.started
        if self.dirty:
            click.echo("\r\x1b[K", err=True, nl=False)
        click.echo(
            f"{self.ok} published, {self.failed} failed (of {self.total}) in {elapsed:.1f} s"
            f" ({self.ok / elapsed if elapsed > 0 else 0:.0f} events/s)",
            err=True,
        )


def failed(item: Item, status: int, message: str) -> Outcome:
    """Return the outcome of an item refused for one reason."""
    return Outcome(item, status, (("", message),))


def read_items(text: str, default_type: EventType | None) -> list[Item]:
    """Parse one JSON value, a JSON list or JSON lines; raise UsageProblem if it is none."""
    if not text.strip():
        return []  # nothing to publish is not an error: a pipeline may have had nothing today
    start = len(text) - len(text.lstrip())
    if text[start : start + 1] == "[":
        return [_item(line, value, default_type) for line, value in _array(text, start)]
    try:
        return [_item(text.count("\n", 0, start) + 1, strict_json.loads(text), default_type)]
    except strict_json.JsonRefused as exc:
        raise UsageProblem(f"not JSON the axis accepts: {exc}") from None
    except json.JSONDecodeError as whole:
        items = list(_json_lines(text, default_type))
        # Not one line parsed: a broken JSON document, better named once than line by line.
        if all((item.problem or "").startswith("not JSON") for item in items):
            raise UsageProblem(f"neither JSON nor JSON lines: {whole}") from None
        return items


def _array(text: str, start: int) -> Iterator[tuple[int, Any]]:
    """Yield each value of a JSON list with the line it starts on."""
    try:
        count = len(strict_json.loads(text))
    except (json.JSONDecodeError, strict_json.JsonRefused) as exc:
        raise UsageProblem(f"not a valid JSON list: {exc}") from None
    pos, line, counted = start + 1, 1, 0
    for _ in range(count):  # the list is valid: only blanks and commas between its values
        found = _SEPARATORS.match(text, pos)
        pos = found.end() if found else pos
        line, counted = line + text.count("\n", counted, pos), pos
        value, pos = strict_json.raw_decode(text, pos)
        yield line, value


def _json_lines(text: str, default_type: EventType | None) -> Iterator[Item]:
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                value = strict_json.loads(line)
            except json.JSONDecodeError as exc:
                yield Item(number, None, problem=f"not JSON: {exc.msg} at column {exc.colno}")
            except strict_json.JsonRefused as exc:
                yield Item(number, None, problem=f"not JSON the axis accepts: {exc}")
            else:
                yield _item(number, value, default_type)


def _item(line: int, value: Any, default_type: EventType | None) -> Item:
    if isinstance(value, dict) and value.keys() == {"type", "event"}:
        kind = value["type"]
        if not isinstance(kind, str) or kind not in {t.value for t in EventType}:
            return Item(line, None, problem=f"unknown type {kind!r} (document, report, status)")
        default_type, value = EventType(kind), value["event"]
    elif default_type is None:
        return Item(line, None, problem='no type: wrap as {"type": ..., "event": {...}} or --type')
    if not isinstance(value, dict):
        return Item(line, default_type, problem=f"a {default_type.value} must be a JSON object")
    if value.get("event_id") is None:
        # Chosen before the first attempt, so that a retried event is the same event.
        value = {**value, "event_id": str(uuid.uuid4())}
    return Item(line, default_type, value)
