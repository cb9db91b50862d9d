"""Recompute what a document's history says about it, in one set-based UPDATE.

The derived columns are never patched event by event: they are recomputed from the rows, so
an arrival order the mapping did not foresee (a status before its document, a revoke before
the document, a replacement naming a document not yet seen) still ends in the right state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, case, exists, literal, or_, select

from lienthong.consumer.store import tables as t
from lienthong.consumer.store.columns import one_of

ACTIVE = "ACTIVE"
REVOKED = "REVOKED"
REPLACED = "REPLACED"

# Above this, one UPDATE per slice: SQLite caps bound parameters per statement.
_SLICE = 500


def recompute_documents(conn: Connection, document_ids: Sequence[str], now: datetime) -> None:
    """Set state, revoked_reason, replaced_by and the current status of these documents."""
    for start in range(0, len(document_ids), _SLICE):
        _recompute(conn, document_ids[start : start + _SLICE], now)


def _recompute(conn: Connection, document_ids: Sequence[str], now: datetime) -> None:
    d, s, h, r, e = t.documents, t.statuses, t.history, t.replacements, t.events
    # The latest status by occurred_at, ties broken by event id: the same answer whatever
    # order the statuses were applied in.
    latest_status = (
        select(s.c.status_code, s.c.occurred_at)
        .where(s.c.document_id == d.c.document_id)
        .order_by(s.c.occurred_at.desc(), s.c.event_id.desc())
        .limit(1)
    )
    revokes = select(h.c.reason).where(h.c.document_id == d.c.document_id, h.c.action == "REVOKE")
    latest_revoke = revokes.order_by(h.c.occurred_at.desc(), h.c.event_id.desc()).limit(1)
    replaced = (
        select(r.c.new_document_id)
        .join(e, e.c.event_id == r.c.event_id)
        .where(r.c.old_document_id == d.c.document_id)
    )
    latest_replacement = replaced.order_by(e.c.occurred_at.desc(), r.c.event_id.desc()).limit(1)
    state = case(
        (exists(revokes), literal(REVOKED)),
        (exists(replaced), literal(REPLACED)),
        else_=literal(ACTIVE),
    )
    # A document with none of these rows keeps the defaults it was inserted with: skipping it
    # saves rewriting every new document of a batch.
    derivable = or_(exists(latest_status), exists(revokes), exists(replaced))
    conn.execute(
        d.update()
        .where(one_of(d.c.document_id, document_ids, conn.dialect), derivable)
        .values(
            current_status=latest_status.with_only_columns(s.c.status_code).scalar_subquery(),
            current_status_at=latest_status.with_only_columns(s.c.occurred_at).scalar_subquery(),
            state=state,
            revoked_reason=latest_revoke.scalar_subquery(),
            replaced_by=latest_replacement.scalar_subquery(),
            updated_at=now,
        )
    )
