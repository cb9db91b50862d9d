"""The producer package's exceptions: what a publisher (API, client, CLI) can be told."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lienthong.producer.rules import Problem


class ProducerError(Exception):
    """Root of every error raised by lienthong.producer."""


class InvalidEvent(ProducerError):
    """The event breaks its schema or a business rule; nothing was published."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(f"{p.pointer or '/'}: {p.message}" for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""  # noqa: PLR2004
        super().__init__(f"invalid event: {shown}{more}")


class NotAuthorised(ProducerError):
    """The caller may not publish for the event's sender; nothing was published."""


class BrokerUnavailable(ProducerError):
    """Kafka did not acknowledge the write in time; nothing half-published, retry later."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
