"""Turn a JSON event into a record ready to encode, or every reason it is refused."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from lienthong.contract.schemas import EventType
from lienthong.producer.errors import InvalidEvent
from lienthong.producer.json_models import ApiModel
from lienthong.producer.rules import Problem, RuleContext, check

# Pydantic puts union branches and validator kinds into an error's location; they are not
# fields and have no place in a JSON pointer.
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "bytes", "date", "datetime", "uuid"})


def pointer(loc: Sequence[int | str]) -> str:
    """Render a pydantic error location as an RFC 6901 JSON pointer, dropping type tags."""
    parts = []
    for part in loc:
        text = str(part)
        if isinstance(part, str) and (
            part in _TYPE_TAGS or "[" in part or "-" in part or part[:1].isupper()
        ):
            continue
        parts.append(text.replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(parts) if parts else ""


def problems_of(error: ValidationError, prefix: str = "") -> list[Problem]:
    """Return one Problem per pointer, merging union-branch messages for the same field."""
    merged: dict[str, list[str]] = {}
    for err in error.errors(include_url=False):
        messages = merged.setdefault(prefix + pointer(err["loc"]), [])
        if err["msg"] not in messages:
            messages.append(err["msg"])
    return [Problem(p, "; ".join(m)) for p, m in merged.items()]


@dataclass(frozen=True, slots=True)
class EventValidator:
    """Validate JSON events of each type against the generated models and business rules."""

    models: Mapping[EventType, type[ApiModel]]

    def parse(self, event_type: EventType, data: Any) -> dict[str, Any]:
        """Check the shape against the schema model; return the record without defaults filled."""
        if not isinstance(data, dict):
            raise InvalidEvent((Problem("", f"a {event_type.value} must be a JSON object"),))
        try:
            model = self.models[event_type].model_validate(data)
        except ValidationError as exc:
            raise InvalidEvent(tuple(problems_of(exc))) from None
        return model.model_dump()

    def validate(self, event_type: EventType, data: Any, ctx: RuleContext) -> dict[str, Any]:
        """Parse, fill the server defaults (event id, time) and apply the business rules."""
        return self.validate_record(
            event_type, complete(self.parse(event_type, data), ctx.now), ctx
        )

    def validate_record(
        self, event_type: EventType, record: dict[str, Any], ctx: RuleContext
    ) -> dict[str, Any]:
        """Apply the business rules to a parsed, completed record; return it unchanged."""
        problems = check(event_type, record, ctx)
        if problems:
            raise InvalidEvent(tuple(problems))
        return record


def complete(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Fill a missing event id with a new UUID and a missing occurrence time with `now`."""
    if record.get("event_id") is None:
        record["event_id"] = uuid.uuid4()
    if record.get("occurred_at") is None:
        record["occurred_at"] = now
    return record
