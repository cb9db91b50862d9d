"""Delivered records -> one PersistBatch: rows for those that map, dead letters for the rest.

Pure but for the log line of an unexpected error: the sink loop does the I/O around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from lienthong.consumer.mapping import Receipts, Unmappable, map_record
from lienthong.consumer.rows import Mapped, OutboxRow, PersistBatch
from lienthong.consumer.store.errors import StoreRejected
from lienthong.contract.codec import Codec
from lienthong.plumbing.consuming import next_offsets
from lienthong.plumbing.deadletter import dead_letter
from lienthong.plumbing.envelope import Envelope

log = structlog.get_logger("lienthong.consumer")

Dead = list[tuple[Envelope, Unmappable]]


@dataclass(frozen=True, slots=True)
class Batcher:
    """What building a batch needs to know about this consumer."""

    name: str
    codec: Codec
    dlq_topic: str
    receipts: Receipts | None

    def build(
        self, envelopes: Sequence[Envelope], now: datetime, refused: Unmappable | None = None
    ) -> tuple[PersistBatch, Dead]:
        """Map every record; those that do not map (or all, when `refused`) become dead letters.

        The batch's offsets cover every record, dead or not: the batch commits past them.
        """
        items: list[Mapped] = []
        dead: Dead = []
        for env in envelopes:
            if refused is not None:
                dead.append((env, refused))
                continue
            try:
                items.append(map_record(env, self.codec, now, self.receipts))
            except Unmappable as exc:
                dead.append((env, exc))
            except Exception as exc:  # a bug must not halt the endpoint: park the record, loudly
                log.exception("consumer_unexpected_error", source=env.coordinates)
                dead.append((env, Unmappable("unexpected-error", f"{type(exc).__name__}: {exc}")))
        at_ms = int(now.timestamp() * 1000)
        letters = tuple(self._letter(env, why, at_ms) for env, why in dead)
        return PersistBatch(self.name, tuple(items), letters, next_offsets(envelopes)), dead

    def _letter(self, env: Envelope, why: Unmappable, at_ms: int) -> OutboxRow:
        record = dead_letter(
            env,
            topic=self.dlq_topic,
            reason=why.reason,
            error="Unmappable",
            detail=str(why),
            stage="consumer",
            at_ms=at_ms,
        )
        return OutboxRow(
            record.topic, record.key, record.value, tuple(record.headers), None, "dead-letter"
        )


def store_rejected(exc: StoreRejected, items: Sequence[Mapped]) -> Unmappable:
    """Return the dead-letter reason for the one record a store refused, with its identity."""
    refused = Unmappable("store-rejected", f"the store refused the record: {exc}")
    if items:
        refused.event_id = items[0].event.event_id
        refused.event_type = items[0].event.event_type
        refused.sender = items[0].event.sender
    return refused
