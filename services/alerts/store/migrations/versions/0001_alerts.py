"""Alerts and their status history, as the store created them before migrations existed.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("flag_id", sa.String(64), primary_key=True),
        sa.Column("rule_id", sa.String(), nullable=False),
        sa.Column("rule_pack_version", sa.String(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("statutory", sa.Boolean(), nullable=False),
        sa.Column("person_key", sa.String(), nullable=False),
        sa.Column("child_ref", sa.String(), nullable=True),
        sa.Column("caseworker_id", sa.String(), nullable=True),
        sa.Column("team", sa.String(), nullable=True),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("exception", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_raised_at", TIMESTAMP, nullable=True),
        sa.Column("last_changed_at", TIMESTAMP, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.Column("times_raised", sa.Integer(), nullable=False),
    )
    op.create_index("ix_alerts_status_due_on", "alerts", ["status", "due_on"])
    op.create_index("ix_alerts_status_caseworker", "alerts", ["status", "caseworker_id"])
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("flag_id", sa.String(64), sa.ForeignKey("alerts.flag_id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("changed_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_alert_events_flag_id", "alert_events", ["flag_id"])
