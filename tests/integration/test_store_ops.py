"""The store's plumbing on SQLite and a real PostgreSQL: schema, offsets, outbox, outages."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, cast

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from lienthong.consumer.rows import PersistBatch
from lienthong.consumer.store import Store, StoreError, StoreUnavailable, current, head, upgrade
from lienthong.consumer.store import tables as t
from tests.support import store_rows as r

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.support.postgres import LocalPostgres

BOTH = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BOTH)
def url(request: pytest.FixtureRequest) -> str:
    return r.store_url(request)


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with Store.open(url) as opened:
        yield opened


def test_migrations_create_exactly_the_declared_schema_and_rerun_as_a_no_op(url: str) -> None:
    assert current(url) is None
    assert upgrade(url) == head()
    assert upgrade(url) == head()  # again: nothing to do, no error

    with Store.open(url) as store, store.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        drift = compare_metadata(
            MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": t.ALEMBIC_VERSION_TABLE}
            ),
            t.metadata,
        )
    assert names == {table.name for table in t.metadata.sorted_tables} | {"lt_alembic_version"}
    assert drift == []  # the revision creates what tables.py declares, indexes included


def test_offsets_round_trip_per_consumer_and_partition(store: Store) -> None:
    key_0, key_1 = ("lienthong.deliver.h41", 0), ("lienthong.deliver.h41", 1)
    assert store.offsets("h41", [key_0, key_1]) == {}

    store.apply(PersistBatch("h41", (), offsets={key_0: 10, key_1: 3}))
    store.apply(PersistBatch("h41", (), offsets={key_0: 25}))
    store.apply(PersistBatch("archive", (), offsets={key_0: 99}))

    assert store.offsets("h41", [key_0, key_1, ("other", 0)]) == {key_0: 25, key_1: 3}
    assert store.offsets("archive", [key_0, key_1]) == {key_0: 99}


def test_a_failing_batch_writes_neither_rows_nor_offsets(store: Store) -> None:
    store.apply(r.batch(r.document("D0")))
    before, offsets = store.counts(), store.offsets("h41", [(r.TOPIC, 0)])
    good, bad = r.document("D1"), r.document("D2")
    assert bad.document is not None
    broken = replace(bad, document=replace(bad.document, subject=cast("str", None)))

    with pytest.raises(StoreError) as raised:
        store.apply(r.batch(good, r.status("D1", "01", minute=1), broken))

    assert not isinstance(raised.value, StoreUnavailable)
    assert store.counts() == before
    assert store.offsets("h41", [(r.TOPIC, 0)]) == offsets
    assert store.apply(r.batch(good)).new == 1  # nothing of the failed batch was kept


def test_naive_timestamps_are_refused_and_zones_come_back_as_utc(store: Store) -> None:
    hanoi = timezone(timedelta(hours=7))
    doc = r.document("D1")
    local = replace(doc, event=replace(doc.event, occurred_at=r.T0.astimezone(hanoi)))
    store.apply(r.batch(local))
    logged = store.timeline("D1").events[0]
    assert logged.occurred_at == r.T0
    assert logged.occurred_at.tzinfo is not None
    assert logged.occurred_at.utcoffset() == timedelta(0)

    naive = r.document("D2")
    naive = replace(naive, event=replace(naive.event, occurred_at=datetime(2026, 1, 1)))  # noqa: DTZ001
    with pytest.raises(StoreError, match="naive datetime"):
        store.apply(r.batch(naive))


def test_outbox_pending_sent_failed_and_backlog(store: Store) -> None:
    docs = [r.document(f"D{i}") for i in range(3)]
    store.apply(r.batch(*docs, dead=(r.dead_letter("unmappable"),)))
    assert store.outbox_backlog() == 4

    pending = store.pending_outbox(10)
    assert [e.kind for e in pending] == ["receipt"] * 3 + ["dead-letter"]
    assert [e.event_id for e in pending[:3]] == [f"r-{d.event.event_id}" for d in docs]
    assert pending[0].row == docs[0].outbox[0]  # key, value and headers byte for byte
    assert pending[3].row == r.dead_letter("unmappable")
    assert [e.id for e in store.pending_outbox(2)] == [e.id for e in pending[:2]]

    store.mark_failed(pending[0].id, "broker down " * 500)
    store.mark_sent([pending[1].id, pending[3].id])

    left = store.pending_outbox(10)
    assert [e.id for e in left] == [pending[0].id, pending[2].id]
    assert left[0].attempts == 1
    assert store.outbox_backlog() == 2
    store.mark_sent(e.id for e in left)
    assert store.outbox_backlog() == 0
    assert store.pending_outbox(10) == []


def test_timeline_shows_each_event_with_where_and_when_it_travelled(store: Store) -> None:
    new, update = r.document("D1", minute=0), r.document("D1", "UPDATE", minute=1)
    received = r.status("D1", "01", minute=2)
    other = r.document("D9")
    store.apply(r.batch(new, received, other))
    store.apply(r.batch(update))

    line = store.timeline("D1")

    assert line.document is not None
    assert line.document.current_status == "01"
    assert [e.event_id for e in line.events] == [
        m.event.event_id for m in (new, update, received)
    ]  # by occurred_at, not by arrival
    first = line.events[0]
    assert (first.source_topic, first.source_partition) == (r.TOPIC, 0)
    assert first.source_offset == new.event.source_offset
    assert first.routed_at == new.event.routed_at
    assert first.recipients == new.event.recipients
    assert first.persisted_at.utcoffset() == timedelta(0)
    assert first.persisted_at <= line.events[1].persisted_at
    assert [s.status_code for s in line.statuses] == ["01"]
    empty = store.timeline("nothing-here")
    assert (empty.document, empty.history, empty.statuses, empty.events) == (None, (), (), ())


def test_two_writers_racing_on_the_same_events_store_each_once(url: str) -> None:
    items = tuple(r.document(f"D{i}", attachments=2) for i in range(40))
    start = threading.Barrier(2)
    results: list[int | BaseException] = []

    def write(consumer: str) -> None:
        try:
            with Store.open(url) as store:
                start.wait(timeout=30)
                results.append(store.apply(r.batch(*items, consumer=consumer)).new)
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            results.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in ("h41", "archive")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(isinstance(n, int) for n in results), results
    assert sum(n for n in results if isinstance(n, int)) == 40
    with Store.open(url) as store:
        counts = store.counts()
    assert (counts["lt_events"], counts["lt_documents"], counts["lt_outbox"]) == (40, 40, 40)
    assert counts["lt_document_attachments"] == 80


@pytest.mark.postgres
def test_a_stopped_postgres_raises_store_unavailable_until_it_is_back(
    postgres: LocalPostgres, postgres_url: str
) -> None:
    store = Store.open(postgres_url)
    store.apply(r.batch(r.document("D1")))
    doc = r.document("D2")
    try:
        postgres.stop("fast")
        with pytest.raises(StoreUnavailable):
            store.apply(r.batch(doc))
        with pytest.raises(StoreUnavailable):
            store.offsets("h41", [(r.TOPIC, 0)])
    finally:
        postgres.start()
    try:
        assert store.apply(r.batch(doc)).new == 1  # the pool reconnects on its own
        assert store.counts()["lt_documents"] == 2
    finally:
        store.close()


def test_an_unreachable_postgres_fails_open_as_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match=r"Connection refused|connection failed"):
        Store.open("postgresql://lienthong:secret@127.0.0.1:9/none")


def test_prune_outbox_deletes_only_rows_sent_before_the_cutoff(url: str) -> None:
    now = [r.at(0)]
    with Store.open(url, clock=lambda: now[0]) as store:
        docs = [r.document(f"D{i}") for i in range(3)]
        store.apply(r.batch(*docs))
        old, recent, unsent = store.pending_outbox(10)
        store.mark_sent([old.id])
        now[0] = r.at(60)  # an hour later
        store.mark_sent([recent.id])

        assert store.prune_outbox(r.at(30), dry_run=True) == 1
        assert store.prune_outbox(r.at(30)) == 1
        assert store.prune_outbox(r.at(30)) == 0
        assert store.counts()["lt_outbox"] == 2
        assert [e.id for e in store.pending_outbox(10)] == [unsent.id]
