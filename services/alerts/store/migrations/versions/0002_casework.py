"""Casework on alerts (acknowledge, snooze, reassign, escalate) with a full audit trail;
journey snapshots, journey views and digest runs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    _casework_on_alerts()
    _audit_trail()
    op.create_table(
        "journeys",
        sa.Column("person_key", sa.String(), primary_key=True),
        sa.Column("child_ref", sa.String(), nullable=True),
        sa.Column("caseworker_id", sa.String(), nullable=True),
        sa.Column("team", sa.String(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
    )
    op.create_table(
        "journey_views",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("viewer", sa.String(), nullable=False),
        sa.Column("roles", sa.String(), nullable=False),
        sa.Column("flag_id", sa.String(64), nullable=False),
        sa.Column("person_key", sa.String(), nullable=False),
        sa.Column("viewed_at", TIMESTAMP, nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
    )
    op.create_index("ix_journey_views_person_key", "journey_views", ["person_key"])
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sent_at", TIMESTAMP, nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
    )


def _casework_on_alerts() -> None:
    # Columns only (no table copy): SQLite cannot copy a table other rows refer to.
    columns: list[sa.Column[object]] = [
        sa.Column("routing", sa.String(16), nullable=False, server_default="journey"),
        sa.Column("open_since", TIMESTAMP, nullable=True),
        sa.Column("acknowledged_at", TIMESTAMP, nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("snooze_reason", sa.Text(), nullable=True),
        sa.Column("escalated_at", TIMESTAMP, nullable=True),
        sa.Column("escalated_to", sa.String(), nullable=True),
    ]
    for column in columns:
        op.add_column("alerts", column)
    op.execute("UPDATE alerts SET open_since = last_changed_at WHERE status = 'open'")
    op.create_index("ix_alerts_status_team", "alerts", ["status", "team"])
    op.create_index("ix_alerts_person_key", "alerts", ["person_key"])


def _audit_trail() -> None:
    with op.batch_alter_table("alert_events") as batch:
        batch.add_column(sa.Column("action", sa.String(16), nullable=True))
        batch.add_column(sa.Column("actor", sa.String(), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("detail", sa.Text(), nullable=True))
    # Before casework, every history row was the flag opening or resolving its alert.
    op.execute(
        "UPDATE alert_events SET actor = 'journeys', "
        "action = CASE status WHEN 'open' THEN 'opened' ELSE 'resolved' END"
    )
    with op.batch_alter_table("alert_events") as batch:
        batch.alter_column("action", existing_type=sa.String(16), nullable=False)
        batch.alter_column("actor", existing_type=sa.String(), nullable=False)
    op.create_index("ix_alert_events_changed_at", "alert_events", ["changed_at"])
