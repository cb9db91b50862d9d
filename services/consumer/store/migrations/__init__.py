"""Alembic migrations of the consumer's store; run them with lienthong.consumer.store.migrate.

Write a new revision by hand in versions/ (copy the newest one, set `down_revision` to its id)
or generate one with `alembic.command.revision(migrate.alembic_config(URL), "message")`.
"""
