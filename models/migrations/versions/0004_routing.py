"""routing: group strategies and offer timeouts, member skills, agent availability, reminders

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("conditions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column(
            "skills", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column("tickets", sa.Column("offer_agent_id", sa.Integer(), nullable=True))
    op.create_index("ix_tickets_offer_agent_id", "tickets", ["offer_agent_id"])
    op.add_column(
        "tickets", sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("tickets", sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "users",
        sa.Column("availability", sa.String(length=10), server_default="online", nullable=False),
    )
    op.add_column("users", sa.Column("max_open_tickets", sa.Integer(), nullable=True))
    op.add_column(
        "users",
        sa.Column(
            "notification_prefs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column(
        "groups",
        sa.Column("strategy", sa.String(length=16), server_default="manual", nullable=False),
    )
    op.add_column(
        "groups",
        sa.Column("offer_timeout_seconds", sa.Integer(), server_default="300", nullable=False),
    )
    op.add_column("groups", sa.Column("last_offered_id", sa.Integer(), nullable=True))
    op.add_column(
        "group_members",
        sa.Column(
            "skills",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_table("routing_rules")
    op.drop_index("ix_tickets_offer_agent_id", table_name="tickets")
    op.drop_column("tickets", "offer_agent_id")
    op.drop_column("tickets", "offer_expires_at")
    op.drop_column("tickets", "remind_at")
    op.drop_column("group_members", "skills")
    op.drop_column("groups", "last_offered_id")
    op.drop_column("groups", "offer_timeout_seconds")
    op.drop_column("groups", "strategy")
    op.drop_column("users", "max_open_tickets")
    op.drop_column("users", "notification_prefs")
    op.drop_column("users", "availability")
