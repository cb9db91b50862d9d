"""Engines for the two databases the store runs on, configured for safe, fast batches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from lienthong.consumer.store.errors import StoreError

BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5
# Execution option naming the statement that starts a transaction on SQLite.
SQLITE_BEGIN = "lienthong_sqlite_begin"


def parse_url(url: str) -> URL:
    """Turn a database URL or a bare SQLite file path into a URL with its driver named."""
    if "://" not in url:
        return URL.create("sqlite", database=url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {exc}") from None
    if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg"}:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in {"sqlite", "sqlite+pysqlite"}:
        return parsed
    raise StoreError(
        f"unsupported database {parsed.drivername!r} in {redacted(url)}: "
        "use sqlite:///PATH, a file path, or postgresql://..."
    )


def redacted(url: str | URL) -> str:
    """Return the URL with its password masked, fit for logs and error messages."""
    if isinstance(url, str) and "://" not in url:
        return url
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparsable database URL>"
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """Build the engine for `url`; nothing connects until the first statement."""
    parsed = parse_url(url)
    # Bound parameters stay out of error messages: they hold whole payloads and personal data.
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S}
    # No pre-ping: it costs a round trip per checkout on the hot path, and a dead connection
    # already surfaces as StoreUnavailable, which every caller retries (SQLAlchemy drops the
    # pool's stale connections on that error, so the retry gets a fresh one).
    return create_engine(
        parsed, hide_parameters=True, pool_pre_ping=False, connect_args=connect_args
    )


def _configure_sqlite(engine: Engine) -> None:
    """Set the pragmas of every new SQLite connection, and let SQLAlchemy own BEGIN.

    WAL lets readers (trace, the outbox relay) run beside the writer. synchronous=NORMAL
    fsyncs the WAL only at checkpoints, not at every commit; that is still safe against
    process crashes (SIGKILL, OOM): a commit has written its pages to the WAL file with
    write(), so they are in the operating system's page cache and survive the process. Only
    an operating-system crash or power loss can drop the last commits, and then atomically:
    the rows and the Kafka offsets they came from go together, the database stays
    consistent, and the consumer reads those records again. Outbox receipts a relay already
    sent are sent again with the same event id, which downstream deduplicates.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module's own transaction handling starts transactions late and ends
        # them on its own; hand that to SQLAlchemy's BEGIN below (SQLAlchemy's documented
        # recipe), which also lets the journal mode be set outside a transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching a new file to WAL needs a lock another
            # connection may hold for a moment.
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # BEGIN IMMEDIATE (migrations) takes the write lock up front, so two processes
        # migrating one file queue on busy_timeout instead of failing on a stale snapshot.
        connection.exec_driver_sql(connection.get_execution_options().get(SQLITE_BEGIN, "BEGIN"))
