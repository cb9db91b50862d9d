"""The consumer's store: documents, reports, statuses, the event log, offsets and outbox."""

from lienthong.consumer.store.engine import make_engine, redacted
from lienthong.consumer.store.errors import (
    MigrationError,
    StoreError,
    StoreRejected,
    StoreUnavailable,
)
from lienthong.consumer.store.migrate import current, head, upgrade
from lienthong.consumer.store.model import (
    Applied,
    LoggedEvent,
    OutboxEntry,
    StoredDocument,
    Timeline,
)
from lienthong.consumer.store.store import Store

__all__ = [
    "Applied",
    "LoggedEvent",
    "MigrationError",
    "OutboxEntry",
    "Store",
    "StoreError",
    "StoreRejected",
    "StoreUnavailable",
    "StoredDocument",
    "Timeline",
    "current",
    "head",
    "make_engine",
    "redacted",
    "upgrade",
]
