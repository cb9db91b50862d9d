"""The store's schema as SQLAlchemy Core tables, all prefixed `lt_`.

Column types are portable between SQLite and PostgreSQL. There are deliberately no foreign
keys between documents, statuses, history and replacements: a status or a revoke may arrive
before its document (out-of-order arrivals are kept and linked later). Attachments and report
values belong to a row written in the same transaction, so they do reference it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from lienthong.consumer.store.columns import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
    }
)

ALEMBIC_VERSION_TABLE = "lt_alembic_version"

events = Table(
    "lt_events",
    metadata,
    Column("event_id", String, primary_key=True),
    Column("event_type", String, nullable=False),
    Column("sender", String, nullable=False),
    Column("business_key", String, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("schema_fingerprint", String, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("source_topic", String, nullable=False),
    Column("source_partition", Integer, nullable=False),
    Column("source_offset", BigInteger, nullable=False),
    Column("trace_id", String),
    Column("routed_at", UtcDateTime),
    Column("recipients", Text, nullable=False),  # comma-separated agency codes
    Column("persisted_at", UtcDateTime, nullable=False),
)

documents = Table(
    "lt_documents",
    metadata,
    Column("document_id", String, primary_key=True),
    Column("event_id", String, nullable=False),  # the event whose header this is
    Column("sender", String, nullable=False),
    Column("sender_name", Text, nullable=False),
    Column("code_number", String, nullable=False),
    Column("code_notation", String, nullable=False),
    Column("promulgation_place", Text, nullable=False),
    Column("promulgation_date", Date, nullable=False),
    Column("doc_type", Integer, nullable=False),
    Column("type_detail", Integer, nullable=False),
    Column("type_name", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("content_summary", Text),
    Column("signer_competence", Text),
    Column("signer_position", Text, nullable=False),
    Column("signer_full_name", Text, nullable=False),
    Column("due_date", Date),
    Column("steering_type", String, nullable=False),
    Column("priority", String, nullable=False),
    Column("addressed", Text, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    # Derived from history, replacements and statuses; recomputed by every write touching them.
    Column("state", String, nullable=False, server_default="ACTIVE"),
    Column("revoked_reason", Text),
    Column("replaced_by", String),
    Column("current_status", String),
    Column("current_status_at", UtcDateTime),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

attachments = Table(
    "lt_document_attachments",
    metadata,
    Column(
        "document_id",
        String,
        ForeignKey("lt_documents.document_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("media_type", String, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String, nullable=False),
    Column("uri", Text, nullable=False),
    Column("description", Text),
)

history = Table(
    "lt_document_history",
    metadata,
    Column("event_id", String, primary_key=True),
    Column("document_id", String, nullable=False),
    Column("action", String, nullable=False),  # NEW, REVOKE, UPDATE, REPLACE
    Column("reason", Text),
    Column("occurred_at", UtcDateTime, nullable=False),
    Index(None, "document_id", "occurred_at"),
)

replacements = Table(
    "lt_document_replacements",
    metadata,
    Column("new_document_id", String, primary_key=True),
    Column("old_document_id", String, primary_key=True),
    Column("event_id", String, nullable=False),
    Index(None, "old_document_id"),
)

statuses = Table(
    "lt_statuses",
    metadata,
    Column("event_id", String, primary_key=True),
    Column("document_id", String, nullable=False),
    Column("document_sender", String, nullable=False),
    Column("from_organ", String, nullable=False),
    Column("from_organ_name", Text, nullable=False),
    Column("status_code", String, nullable=False),
    Column("description", Text),
    Column("staff", Text),
    Column("occurred_at", UtcDateTime, nullable=False),
    # Serves "the latest status of a document" as an index-only descent.
    Index(None, "document_id", "occurred_at", "event_id"),
)

reports = Table(
    "lt_reports",
    metadata,
    Column("event_id", String, primary_key=True),
    Column("report_id", String, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("regime_code", String, nullable=False),
    Column("sender", String, nullable=False),
    Column("period_kind", String, nullable=False),
    Column("period_year", Integer, nullable=False),
    Column("period_number", Integer, nullable=False),
    Column("title", Text),
    Column("occurred_at", UtcDateTime, nullable=False),
    Index(None, "report_id", "revision"),
)

report_values = Table(
    "lt_report_values",
    metadata,
    Column(
        "event_id",
        String,
        ForeignKey("lt_reports.event_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("code", String, primary_key=True),
    Column("unit", String),
    Column("numeric_value", Float),
    Column("text_value", Text),
)

offsets = Table(
    "lt_offsets",
    metadata,
    Column("consumer", String, primary_key=True),
    Column("topic", String, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)

outbox = Table(
    "lt_outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("kind", String, nullable=False),  # "receipt" or "dead-letter"
    Column("event_id", String),
    Column("topic", String, nullable=False),
    Column("key", LargeBinary),
    Column("value", LargeBinary, nullable=False),
    Column("headers", Text, nullable=False),  # JSON [[name, base64 value], ...]
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    # Partial: only the unsent rows are indexed, so "unsent, oldest first" stays cheap however
    # many sent rows accumulate.
    Index(
        "ix_lt_outbox_unsent",
        "id",
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    ),
)
