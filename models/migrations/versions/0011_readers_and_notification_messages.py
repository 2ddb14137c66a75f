"""A person's time zone, calendar and digits; notifications as message ids.

People read the desk in their own language, zone, calendar and digits. A
notification keeps the catalogue id of what it says and its parameters, so each
reader sees it in their language; `title` and `body` keep the English text.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("timezone", sa.String(64), nullable=True))
    op.add_column("users", sa.Column("date_calendar", sa.String(16), nullable=True))
    op.add_column("users", sa.Column("digits", sa.String(16), nullable=True))
    op.add_column("notifications", sa.Column("message", sa.String(300), nullable=True))
    op.add_column("notifications", sa.Column("detail", sa.String(300), nullable=True))
    op.add_column(
        "notifications",
        sa.Column("params", JSONB(), server_default="{}", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("notifications", "params")
    op.drop_column("notifications", "detail")
    op.drop_column("notifications", "message")
    op.drop_column("users", "digits")
    op.drop_column("users", "date_calendar")
    op.drop_column("users", "timezone")
