"""The store's business semantics, each on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from lienthong.consumer.store import Store
from lienthong.consumer.store import tables as t
from tests.support import store_rows as r

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    with Store.open(r.store_url(request)) as opened:
        yield opened


def test_applying_the_same_batch_twice_writes_nothing_the_second_time(store: Store) -> None:
    items = (r.document("D1"), r.status("D1", "01", minute=1), r.report("R1"))
    batch = r.batch(*items, dead=(r.dead_letter(),))

    first = store.apply(batch)
    counts, checksum = store.counts(), store.event_id_checksum()
    second = store.apply(batch)

    assert (first.new, first.duplicates, first.outbox_rows) == (3, 0, 2)
    assert first.new_event_ids == {m.event.event_id for m in items}
    # The dead letter belongs to the batch, not to an event: a replayed batch was rolled back
    # the first time, so writing it again is right; here it is the only new row.
    assert (second.new, second.duplicates, second.outbox_rows) == (0, 3, 1)
    assert second.new_event_ids == frozenset()
    assert store.counts() == {**counts, "lt_outbox": counts["lt_outbox"] + 1}
    assert store.event_id_checksum() == checksum


def test_a_redelivered_event_enqueues_no_second_receipt(store: Store) -> None:
    doc = r.document("D1")
    store.apply(r.batch(doc))
    store.apply(r.batch(doc, r.document("D2")))
    receipts = [e.event_id for e in store.pending_outbox(10)]
    assert receipts == [f"r-{doc.event.event_id}", receipts[1]]
    assert store.counts()["lt_events"] == 2


def test_an_event_twice_in_one_batch_is_written_once(store: Store) -> None:
    doc = r.document("D1")
    applied = store.apply(r.batch(doc, r.status("D1", "01", minute=1), doc))
    assert (applied.new, applied.duplicates) == (2, 1)
    assert store.counts()["lt_document_history"] == 1
    assert store.outbox_backlog() == 1


@pytest.mark.parametrize("batches", [1, 3], ids=["one-batch", "three-batches"])
def test_new_update_revoke_ends_revoked_with_the_updated_header(store: Store, batches: int) -> None:
    items = [
        r.document("D1", minute=0, subject="first", attachments=2),
        r.document("D1", "UPDATE", minute=1, subject="updated", attachments=1),
        r.document("D1", "REVOKE", minute=2, reason="ban hành nhầm"),
    ]
    if batches == 1:
        store.apply(r.batch(*items))
    else:
        for item in items:
            store.apply(r.batch(item))

    doc = store.timeline("D1").document
    assert doc is not None
    assert doc.header.subject == "updated"
    assert doc.header.event_id == items[1].event.event_id
    assert (doc.state, doc.revoked_reason, doc.replaced_by) == ("REVOKED", "ban hành nhầm", None)
    assert [a.name for a in doc.attachments] == ["file-0.pdf"]
    assert [h.action for h in store.timeline("D1").history] == ["NEW", "UPDATE", "REVOKE"]


def test_a_revoke_before_its_document_applies_when_the_document_arrives(store: Store) -> None:
    store.apply(r.batch(r.document("D1", "REVOKE", minute=5, reason="thu hồi")))
    assert store.timeline("D1").document is None

    store.apply(r.batch(r.document("D1", minute=0)))

    doc = store.timeline("D1").document
    assert doc is not None
    assert (doc.state, doc.revoked_reason) == ("REVOKED", "thu hồi")


def test_replace_marks_the_old_documents_replaced(store: Store) -> None:
    store.apply(r.batch(r.document("OLD-1"), r.document("OLD-2"), r.document("KEEP")))
    store.apply(r.batch(r.document("NEW-1", "REPLACE", minute=3, replaces=("OLD-1", "OLD-2"))))

    for old in ("OLD-1", "OLD-2"):
        doc = store.timeline(old).document
        assert doc is not None
        assert (doc.state, doc.replaced_by) == ("REPLACED", "NEW-1")
    new, keep = store.timeline("NEW-1"), store.timeline("KEEP").document
    assert new.document is not None
    assert new.document.state == "ACTIVE"
    assert new.replaces == ("OLD-1", "OLD-2")
    assert keep is not None
    assert keep.state == "ACTIVE"


def test_a_replacement_before_the_old_document_links_it_on_arrival(store: Store) -> None:
    store.apply(r.batch(r.document("NEW-1", "REPLACE", minute=3, replaces=("OLD-1",))))
    store.apply(r.batch(r.document("OLD-1", minute=0)))
    doc = store.timeline("OLD-1").document
    assert doc is not None
    assert (doc.state, doc.replaced_by) == ("REPLACED", "NEW-1")


def test_statuses_before_their_document_set_its_status_when_it_arrives(store: Store) -> None:
    store.apply(r.batch(r.status("D1", "01", minute=1), r.status("D1", "03", minute=2)))
    early = store.timeline("D1")
    assert early.document is None
    assert [s.status_code for s in early.statuses] == ["01", "03"]

    store.apply(r.batch(r.document("D1", minute=0)))

    doc = store.timeline("D1").document
    assert doc is not None
    assert (doc.current_status, doc.current_status_at) == ("03", r.at(2))


def test_the_latest_status_wins_by_occurred_at_whatever_the_arrival_order(store: Store) -> None:
    store.apply(r.batch(r.document("D1"), r.status("D1", "05", minute=5)))
    store.apply(r.batch(r.status("D1", "03", minute=3)))  # older, arrives later
    doc = store.timeline("D1").document
    assert doc is not None
    assert (doc.current_status, doc.current_status_at) == ("05", r.at(5))

    tie_a, tie_b = r.status("D1", "06", minute=9), r.status("D1", "04", minute=9)
    store.apply(r.batch(tie_b, tie_a))
    doc = store.timeline("D1").document
    assert doc is not None
    winner = max((tie_a, tie_b), key=lambda m: m.event.event_id)
    assert winner.status is not None
    assert doc.current_status == winner.status.status_code  # same time: the larger event id


def test_reports_are_stored_with_their_values(store: Store) -> None:
    first, second = r.report("R1", 1, values=2), r.report("R1", 2, values=3)
    store.apply(r.batch(first, second))
    with store.engine.connect() as conn:
        revisions = conn.execute(
            select(t.reports.c.revision).where(t.reports.c.report_id == "R1").order_by("revision")
        ).scalars()
        values = conn.execute(
            select(
                t.report_values.c.code,
                t.report_values.c.numeric_value,
                t.report_values.c.text_value,
            )
            .where(t.report_values.c.event_id == second.event.event_id)
            .order_by(t.report_values.c.code)
        ).all()
        assert list(revisions) == [1, 2]
    assert [tuple(v) for v in values] == [
        ("CT00", 0.0, None), ("CT01", 1.5, None), ("CT02", 3.0, None), ("NOTE", None, "không có"),
    ]  # fmt: skip
    assert store.counts()["lt_report_values"] == 3 + 4


def test_an_older_update_arriving_late_never_rolls_the_header_back(store: Store) -> None:
    # A DLQ replay or an archive reading several topics can hand over an old version late.
    store.apply(r.batch(r.document("D1", minute=0, subject="first", attachments=1)))
    store.apply(r.batch(r.document("D1", "UPDATE", minute=2, subject="newer", attachments=2)))
    store.apply(r.batch(r.document("D1", "UPDATE", minute=1, subject="older", attachments=3)))
    doc = store.timeline("D1").document
    assert doc is not None
    assert doc.header.subject == "newer"
    assert [a.name for a in doc.attachments] == ["file-0.pdf", "file-1.pdf"]
    # The late version is still history: nothing delivered is lost.
    assert [h.action for h in store.timeline("D1").history] == ["NEW", "UPDATE", "UPDATE"]


def test_offsets_only_move_forward(store: Store) -> None:
    # A member that lost its partitions can still apply its last batch: it must not move the
    # new owner's position back.
    behind = r.document("D1")
    ahead = r.document("D2")  # the next offset of the same partition
    partition = (ahead.event.source_topic, ahead.event.source_partition)
    store.apply(r.batch(behind))
    store.apply(r.batch(ahead))
    store.apply(r.batch(behind))
    assert store.offsets("h41", [partition]) == {partition: ahead.event.source_offset + 1}
