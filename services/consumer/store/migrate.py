"""Bring a database to the schema this code needs, and tell which revision it is at."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine

from lienthong.consumer.store.engine import SQLITE_BEGIN, make_engine
from lienthong.consumer.store.errors import MigrationError, first_line, translated
from lienthong.consumer.store.tables import ALEMBIC_VERSION_TABLE


class _DropChatter(logging.Filter):
    """Keep Alembic's "Running upgrade" lines; drop its per-connection dialect chatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))


_CHATTER = _DropChatter()
# Alembic's `context` and `op` are process-wide proxies: two upgrades in two threads of one
# process would run on each other's connections. Processes are kept apart by the database
# (an advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite).
_ONE_AT_A_TIME = threading.Lock()


def alembic_config() -> Config:
    """Return an Alembic configuration pointing at the migrations shipped in this package."""
    config = Config()
    location = resources.files("lienthong.consumer.store.migrations")
    config.set_main_option("script_location", str(location))
    return config


def head() -> str:
    """Return the newest revision this code knows."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise MigrationError("no migration revisions are shipped")
    return revision


def upgrade(target: str | Engine, revision: str = "head") -> str | None:
    """Upgrade the database (a URL or an engine) to `revision`; return the revision it is at.

    Safe to run again and from several processes at once: a database already at the revision
    is left alone.
    """
    with _engine(target) as engine, _ONE_AT_A_TIME:
        config = alembic_config()
        try:
            locked = engine.execution_options(**{SQLITE_BEGIN: "BEGIN IMMEDIATE"})
            with translated("upgrade the schema"), locked.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except CommandError as exc:
            raise MigrationError(f"upgrade the schema: {first_line(exc)}") from exc
        return current(engine)


def current(target: str | Engine) -> str | None:
    """Return the database's revision, or None for a database never migrated."""
    with (
        _engine(target) as engine,
        translated("read the schema revision"),
        engine.connect() as connection,
    ):
        context = MigrationContext.configure(
            connection, opts={"version_table": ALEMBIC_VERSION_TABLE}
        )
        return context.get_current_revision()


@contextmanager
def _engine(target: str | Engine) -> Iterator[Engine]:
    """Yield the given engine, or one built for a URL and disposed of afterwards."""
    logger = logging.getLogger("alembic.runtime.migration")
    if _CHATTER not in logger.filters:
        logger.addFilter(_CHATTER)
    if not isinstance(target, str):
        yield target
        return
    engine = make_engine(target)
    try:
        yield engine
    finally:
        engine.dispose()
