"""Send events through the ingestion API's batch endpoints, retrying what was answered 503/429."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx

from lienthong.cli.publish_items import ACCEPTED, Item, Outcome
from lienthong.contract.schemas import EventType

KINDS = {EventType.DOCUMENT: "documents", EventType.REPORT: "reports", EventType.STATUS: "statuses"}
UNAVAILABLE = 503
TOO_MANY = 429  # over the endpoint's fair-use rate: nothing published, retry after Retry-After
_RETRIED = frozenset({UNAVAILABLE, TOO_MANY})
BAD_GATEWAY = 502
TOO_LARGE = 413
UNPROCESSABLE = 422
_BACKOFF_S, _BACKOFF_CAP_S, _RETRY_AFTER_CAP_S = 0.5, 8.0, 60.0

Errors = tuple[tuple[str, str], ...]


class _Answer(NamedTuple):
    status: int
    errors: Errors
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


def backoff_s(attempt: int, retry_after_s: float | None) -> float:
    """Return the wait before retry `attempt` (from 0): capped, jittered, at least Retry-After."""
    # Full-range jitter would allow near-zero waits; half of it still spreads a herd of clients.
    jittered = min(_BACKOFF_CAP_S, _BACKOFF_S * 2.0**attempt) * random.uniform(0.5, 1.0)  # noqa: S311
    return min(_RETRY_AFTER_CAP_S, max(jittered, retry_after_s or 0.0))


@dataclass(frozen=True, slots=True)
class HttpSender:
    """Post chunks of one event type to `/v1/<kind>:batch`; the client carries URL and key."""

    client: httpx.Client
    retries: int = 3
    sleep: Callable[[float], None] = time.sleep

    def __call__(self, chunk: list[Item]) -> list[Outcome]:
        """Return the outcome of each event of the chunk, in order."""
        outcomes = self._with_retries(chunk)
        if len(chunk) > 1 and all(_too_big(o) for o in outcomes):
            # Over the API's body or batch limit: halves fit, and one huge event fails alone.
            half = len(chunk) // 2
            return self(chunk[:half]) + self(chunk[half:])
        return outcomes

    def _with_retries(self, chunk: list[Item]) -> list[Outcome]:
        done: dict[int, Outcome] = {}
        todo = list(range(len(chunk)))
        for attempt in range(self.retries + 1):
            retry_after_s = self._attempt(chunk, todo, done)
            # Only 503s and 429s go again, with the event ids they had: the API deduplicates.
            todo = [i for i in todo if done[i].status in _RETRIED]
            if not todo or attempt == self.retries:
                break
            self.sleep(backoff_s(attempt, retry_after_s))
        return [done[i] for i in range(len(chunk))]

    def _attempt(
        self, chunk: list[Item], todo: list[int], done: dict[int, Outcome]
    ) -> float | None:
        """Post the events at `todo`, record each outcome in `done`; return any Retry-After."""
        kind = KINDS[chunk[0].event_type or EventType.DOCUMENT]
        events = [chunk[i].event for i in todo]
        try:
            response = self.client.post(f"/v1/{kind}:batch", json={"events": events})
        except httpx.HTTPError as exc:
            message = f"no answer from {self.client.base_url}: {type(exc).__name__}: {exc}"
            for i in todo:
                done[i] = Outcome(chunk[i], UNAVAILABLE, (("", message),))
            return None
        for i, answer in zip(todo, _answers(response, len(todo)), strict=True):
            done[i] = Outcome(chunk[i], *answer)
        return _retry_after_s(response)


def _answers(response: httpx.Response, count: int) -> list[_Answer]:
    """Read a batch answer, or a whole-request error, into one answer per event sent."""
    try:
        body = response.json()
        if response.status_code != httpx.codes.OK:
            return [_Answer(response.status_code, _reasons(body))] * count
        missing = _Answer(BAD_GATEWAY, (("", "the API's answer has no result for this event"),))
        answers = [missing] * count
        for result in body["results"]:
            where = (result.get("topic"), result.get("partition"), result.get("offset"))
            reasons = () if result["status"] == ACCEPTED else _reasons(result)
            answers[result["index"]] = _Answer(result["status"], reasons, *where)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        # A proxy's HTML page or a half-written body: say what came back, keep its status.
        status = response.status_code if response.status_code != httpx.codes.OK else BAD_GATEWAY
        shown = response.text[:200].replace("\n", " ")
        return [_Answer(status, (("", f"unexpected answer: {shown!r}"),))] * count
    return answers


def _reasons(body: dict[str, Any]) -> Errors:
    """Return a problem body's errors, or its title when it names none."""
    errors = tuple((str(e["pointer"]), str(e["message"])) for e in body.get("errors") or ())
    return errors or (("", str(body["title"])),)


def _too_big(outcome: Outcome) -> bool:
    """Tell whether the whole batch was refused for its size, not for its events."""
    # 413: over the body size limit; 422 pointing at /events: more events than a batch holds.
    at_events = any(pointer == "/events" for pointer, _ in outcome.errors)
    return outcome.status == TOO_LARGE or (outcome.status == UNPROCESSABLE and at_events)


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    # Only the delay-seconds form: the API sends it, and a date would need a trusted clock.
    return float(value) if value.isdigit() else None
