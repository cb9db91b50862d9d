"""A document's timeline across stores, as rows for `lienthong trace`. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lienthong.consumer.store.model import Timeline
from lienthong.producer.rules import STATUS_CODES


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One step in a document's life: what happened, when, by whom, where it is recorded."""

    at: datetime
    step: str  # occurred, routed, persisted, status
    event_type: str
    event_id: str
    agency: str
    detail: str
    where: str
    store: str

    def as_json(self) -> dict[str, Any]:
        """Return the row as JSON-ready data."""
        return {
            "at": self.at.isoformat(),
            "step": self.step,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "agency": self.agency,
            "detail": self.detail,
            "where": self.where,
            "store": self.store,
        }


def trace_rows(timelines: Iterable[tuple[str, Timeline]]) -> list[TraceRow]:
    """Merge the timelines of one document read from several stores, in time order."""
    rows: dict[tuple[str, str, str], TraceRow] = {}
    for store, timeline in timelines:
        actions = {h.event_id: h for h in timeline.history}
        statuses = {s.event_id: s for s in timeline.statuses}
        for event in timeline.events:
            where = f"{event.source_topic}[{event.source_partition}]@{event.source_offset}"
            what = _what(event.event_id, actions, statuses)
            # The same event occurs once, whatever the number of stores it reached.
            rows.setdefault(
                ("occurred", event.event_id, ""),
                TraceRow(
                    event.occurred_at,
                    "occurred",
                    event.event_type,
                    event.event_id,
                    event.sender,
                    what,
                    "",
                    store,
                ),
            )
            if event.routed_at is not None:
                rows[("routed", event.event_id, where)] = TraceRow(
                    event.routed_at,
                    "routed",
                    event.event_type,
                    event.event_id,
                    ",".join(event.recipients),
                    f"to {len(event.recipients)} agencies",
                    event.source_topic,
                    store,
                )
            rows[("persisted", event.event_id, store)] = TraceRow(
                event.persisted_at,
                "persisted",
                event.event_type,
                event.event_id,
                ",".join(event.recipients),
                what,
                where,
                store,
            )
    return sorted(rows.values(), key=lambda r: (r.at, _ORDER[r.step], r.store))


_ORDER = {"occurred": 0, "routed": 1, "persisted": 2}


def _what(event_id: str, actions: dict[str, Any], statuses: dict[str, Any]) -> str:
    if event_id in statuses:
        status = statuses[event_id]
        meaning = STATUS_CODES.get(status.status_code, "?")
        text = f"status {status.status_code} {meaning}"
        return f"{text}: {status.description}" if status.description else text
    if event_id in actions:
        action = actions[event_id]
        return f"{action.action}: {action.reason}" if action.reason else action.action
    return ""
