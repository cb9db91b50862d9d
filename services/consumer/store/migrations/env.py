"""Alembic environment: run the revisions on the connection the caller hands over.

There is no alembic.ini: `lienthong.consumer.store.migrate` builds the configuration in code
and passes an open connection in `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from lienthong.consumer.store.tables import ALEMBIC_VERSION_TABLE, metadata

# Any fixed number: consumers starting together on one PostgreSQL database queue on this lock,
# so exactly one of them creates the schema and the others find it done.
_PG_MIGRATION_LOCK = 0x4C54_5354  # "LTST"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=ALEMBIC_VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        transactional_ddl=True,  # both databases roll DDL back; a failed upgrade leaves nothing
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise TypeError("run migrations through lienthong.consumer.store.migrate")
    _run(connection)


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
_main()
