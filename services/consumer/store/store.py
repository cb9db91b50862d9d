"""The consumer's store: one interface over SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Engine, func, select

from lienthong.consumer.rows import PersistBatch
from lienthong.consumer.store import reads
from lienthong.consumer.store import tables as t
from lienthong.consumer.store.columns import chunks
from lienthong.consumer.store.engine import SQLITE_BEGIN, make_engine, redacted
from lienthong.consumer.store.errors import translated
from lienthong.consumer.store.migrate import upgrade
from lienthong.consumer.store.model import Applied, OutboxEntry, Timeline
from lienthong.consumer.store.writes import apply_batch

__all__ = ["Applied", "Clock", "OutboxEntry", "Store", "Timeline", "utc_now"]

Clock = Callable[[], datetime]

_ERROR_TEXT_LIMIT = 2000
_PRUNE_CHUNK = 5000


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


class Store:
    """Rows, offsets and outbox of the consumer, written in one transaction per batch.

    Every method runs in its own transaction and raises StoreUnavailable when the database
    cannot be reached (pause and retry) or StoreError for anything else.
    """

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        # On SQLite a batch takes the write lock at BEGIN: what it looks up stays true until
        # it commits, and a busy database makes it wait (busy_timeout) instead of failing.
        self._writer = engine.execution_options(**{SQLITE_BEGIN: "BEGIN IMMEDIATE"})
        self._clock = clock

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, clock: Clock = utc_now) -> Store:
        """Build the engine for `url` and bring its schema up to date."""
        engine = make_engine(url)
        try:
            if migrate:
                upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock=clock)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for tests and benchmarks."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def apply(self, batch: PersistBatch) -> Applied:
        """Write a batch in one transaction: new events' rows, outbox rows, offsets."""
        with translated("apply a batch"), self._writer.begin() as conn:
            return apply_batch(conn, batch, self._clock())

    def offsets(
        self, consumer: str, partitions: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        """Return the next offset to read of each partition the store has one for."""
        o = t.offsets
        wanted = set(partitions)
        topics = sorted({topic for topic, _ in wanted})
        with translated("read offsets"), self._engine.connect() as conn:
            rows = conn.execute(
                select(o.c.topic, o.c.partition, o.c.next_offset).where(
                    o.c.consumer == consumer, o.c.topic.in_(topics)
                )
            ).all()
        return {
            (r.topic, r.partition): r.next_offset for r in rows if (r.topic, r.partition) in wanted
        }

    def pending_outbox(self, limit: int = 500) -> list[OutboxEntry]:
        """Return up to `limit` unsent outbox rows, oldest first."""
        with translated("read the outbox"), self._engine.connect() as conn:
            return reads.pending_outbox(conn, limit)

    def mark_sent(self, ids: Iterable[int]) -> None:
        """Mark outbox rows as published."""
        o = t.outbox
        wanted = list(ids)
        with translated("mark outbox rows sent"), self._engine.begin() as conn:
            for part in chunks(wanted):
                conn.execute(o.update().where(o.c.id.in_(part)).values(sent_at=self._clock()))

    def mark_failed(self, entry_id: int, error: str) -> None:
        """Record a failed publication of an outbox row; it stays pending."""
        o = t.outbox
        with translated("mark an outbox row failed"), self._engine.begin() as conn:
            conn.execute(
                o.update()
                .where(o.c.id == entry_id)
                .values(attempts=o.c.attempts + 1, last_error=error[:_ERROR_TEXT_LIMIT])
            )

    def prune_outbox(self, sent_before: datetime, *, dry_run: bool = False) -> int:
        """Delete outbox rows published before `sent_before`; return how many (would) go.

        Unsent rows are never touched. Deleted in chunks, one short transaction each, so a
        running consumer's batches are not held up behind one long delete.
        """
        o = t.outbox
        sent = o.c.sent_at.is_not(None) & (o.c.sent_at < sent_before)
        if dry_run:
            with translated("count prunable outbox rows"), self._engine.connect() as conn:
                return int(conn.execute(select(func.count()).where(sent)).scalar_one())
        removed = 0
        with translated("prune the outbox"):
            while True:
                with self._writer.begin() as conn:
                    query = select(o.c.id).where(sent).order_by(o.c.id).limit(_PRUNE_CHUNK)
                    part = list(conn.execute(query).scalars())
                    if part:
                        conn.execute(o.delete().where(o.c.id.in_(part)))
                removed += len(part)
                if len(part) < _PRUNE_CHUNK:
                    return removed

    def outbox_backlog(self) -> int:
        """Count the outbox rows not yet published."""
        with translated("count the outbox"), self._engine.connect() as conn:
            return reads.outbox_backlog(conn)

    def timeline(self, document_id: str) -> Timeline:
        """Return what the store knows about one document, for `lienthong trace`."""
        with translated("read a timeline"), self._engine.connect() as conn:
            return reads.timeline(conn, document_id)

    def counts(self) -> dict[str, int]:
        """Count the rows of every table."""
        with translated("count rows"), self._engine.connect() as conn:
            return reads.counts(conn)

    def event_id_checksum(self) -> str:
        """Return a checksum of every stored event id, independent of arrival order."""
        with translated("checksum event ids"), self._engine.connect() as conn:
            return reads.event_id_checksum(conn)

    def delays(self) -> list[tuple[str, float]]:
        """Return (event type, seconds from occurred_at to persisted_at) per stored event."""
        with translated("read delays"), self._engine.connect() as conn:
            return reads.delays(conn)

    def outbox_by_kind(self) -> dict[str, tuple[int, int]]:
        """Return kind -> (sent, pending) outbox rows."""
        with translated("count the outbox"), self._engine.connect() as conn:
            return reads.outbox_by_kind(conn)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({redacted(self._engine.url)})"
