"""Create the event log, documents, statuses, reports, offsets and outbox tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table of the first schema."""
    _events_and_documents()
    _statuses_and_reports()
    _offsets_and_outbox()


def downgrade() -> None:
    """Drop every table of the first schema."""
    for table in (
        "lt_outbox", "lt_offsets", "lt_report_values", "lt_reports", "lt_statuses",
        "lt_document_replacements", "lt_document_history", "lt_document_attachments",
        "lt_documents", "lt_events",
    ):  # fmt: skip
        op.drop_table(table)


def _events_and_documents() -> None:
    op.create_table(
        "lt_events",
        sa.Column("event_id", sa.String, primary_key=True),
        sa.Column("event_type", sa.String, nullable=False),
        sa.Column("sender", sa.String, nullable=False),
        sa.Column("business_key", sa.String, nullable=False),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("schema_fingerprint", sa.String, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("source_topic", sa.String, nullable=False),
        sa.Column("source_partition", sa.Integer, nullable=False),
        sa.Column("source_offset", sa.BigInteger, nullable=False),
        sa.Column("trace_id", sa.String),
        sa.Column("routed_at", _TS),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("persisted_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_lt_events"),
    )
    op.create_table(
        "lt_documents",
        sa.Column("document_id", sa.String),
        sa.Column("event_id", sa.String, nullable=False),
        sa.Column("sender", sa.String, nullable=False),
        sa.Column("sender_name", sa.Text, nullable=False),
        sa.Column("code_number", sa.String, nullable=False),
        sa.Column("code_notation", sa.String, nullable=False),
        sa.Column("promulgation_place", sa.Text, nullable=False),
        sa.Column("promulgation_date", sa.Date, nullable=False),
        sa.Column("doc_type", sa.Integer, nullable=False),
        sa.Column("type_detail", sa.Integer, nullable=False),
        sa.Column("type_name", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("content_summary", sa.Text),
        sa.Column("signer_competence", sa.Text),
        sa.Column("signer_position", sa.Text, nullable=False),
        sa.Column("signer_full_name", sa.Text, nullable=False),
        sa.Column("due_date", sa.Date),
        sa.Column("steering_type", sa.String, nullable=False),
        sa.Column("priority", sa.String, nullable=False),
        sa.Column("addressed", sa.Text, nullable=False),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("state", sa.String, nullable=False, server_default="ACTIVE"),
        sa.Column("revoked_reason", sa.Text),
        sa.Column("replaced_by", sa.String),
        sa.Column("current_status", sa.String),
        sa.Column("current_status_at", _TS),
        sa.Column("first_seen_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("document_id", name="pk_lt_documents"),
    )
    op.create_table(
        "lt_document_attachments",
        sa.Column("document_id", sa.String),
        sa.Column("position", sa.Integer),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("media_type", sa.String, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String, nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.PrimaryKeyConstraint("document_id", "position", name="pk_lt_document_attachments"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["lt_documents.document_id"],
            name="fk_lt_document_attachments_document_id",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "lt_document_history",
        sa.Column("event_id", sa.String),
        sa.Column("document_id", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_lt_document_history"),
    )
    op.create_index(
        "ix_lt_document_history_document_id_occurred_at",
        "lt_document_history",
        ["document_id", "occurred_at"],
    )
    op.create_table(
        "lt_document_replacements",
        sa.Column("new_document_id", sa.String),
        sa.Column("old_document_id", sa.String),
        sa.Column("event_id", sa.String, nullable=False),
        sa.PrimaryKeyConstraint(
            "new_document_id", "old_document_id", name="pk_lt_document_replacements"
        ),
    )
    op.create_index(
        "ix_lt_document_replacements_old_document_id",
        "lt_document_replacements",
        ["old_document_id"],
    )


def _statuses_and_reports() -> None:
    op.create_table(
        "lt_statuses",
        sa.Column("event_id", sa.String),
        sa.Column("document_id", sa.String, nullable=False),
        sa.Column("document_sender", sa.String, nullable=False),
        sa.Column("from_organ", sa.String, nullable=False),
        sa.Column("from_organ_name", sa.Text, nullable=False),
        sa.Column("status_code", sa.String, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("staff", sa.Text),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_lt_statuses"),
    )
    op.create_index(
        "ix_lt_statuses_document_id_occurred_at_event_id",
        "lt_statuses",
        ["document_id", "occurred_at", "event_id"],
    )
    op.create_table(
        "lt_reports",
        sa.Column("event_id", sa.String),
        sa.Column("report_id", sa.String, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("regime_code", sa.String, nullable=False),
        sa.Column("sender", sa.String, nullable=False),
        sa.Column("period_kind", sa.String, nullable=False),
        sa.Column("period_year", sa.Integer, nullable=False),
        sa.Column("period_number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_lt_reports"),
    )
    op.create_index("ix_lt_reports_report_id_revision", "lt_reports", ["report_id", "revision"])
    op.create_table(
        "lt_report_values",
        sa.Column("event_id", sa.String),
        sa.Column("code", sa.String),
        sa.Column("unit", sa.String),
        sa.Column("numeric_value", sa.Float),
        sa.Column("text_value", sa.Text),
        sa.PrimaryKeyConstraint("event_id", "code", name="pk_lt_report_values"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["lt_reports.event_id"],
            name="fk_lt_report_values_event_id",
            ondelete="CASCADE",
        ),
    )


def _offsets_and_outbox() -> None:
    op.create_table(
        "lt_offsets",
        sa.Column("consumer", sa.String),
        sa.Column("topic", sa.String),
        sa.Column("partition", sa.Integer),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("consumer", "topic", "partition", name="pk_lt_offsets"),
    )
    op.create_table(
        "lt_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("event_id", sa.String),
        sa.Column("topic", sa.String, nullable=False),
        sa.Column("key", sa.LargeBinary),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_lt_outbox"),
    )
    op.create_index(
        "ix_lt_outbox_unsent",
        "lt_outbox",
        ["id"],
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )
