"""idle tickets, customer reminders, agents' working hours, group skills, notifications by event

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sla_policies", sa.Column("idle_after", sa.Interval(), nullable=True))
    op.add_column("sla_policies", sa.Column("remind_customer_after", sa.Interval(), nullable=True))
    op.add_column("sla_policies", sa.Column("close_after_reminders", sa.Integer(), nullable=True))
    op.add_column("tickets", sa.Column("idle_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "groups",
        sa.Column(
            "required_skills",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    # The notifications of one event: whether to deliver them, and their delivery.
    op.create_index("ix_notifications_ticket_id_seq", "notifications", ["ticket_id", "seq"])
    op.add_column("users", sa.Column("calendar_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "fk_users_calendar_id_calendars",
        "users",
        "calendars",
        ["calendar_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint("fk_users_calendar_id_calendars", "users", type_="foreignkey")
    op.drop_column("users", "calendar_id")
    op.drop_column("groups", "required_skills")
    op.drop_index("ix_notifications_ticket_id_seq", table_name="notifications")
    op.drop_column("tickets", "idle_since")
    op.drop_column("sla_policies", "close_after_reminders")
    op.drop_column("sla_policies", "remind_customer_after")
    op.drop_column("sla_policies", "idle_after")
