"""A person's time zone, calendar and digits for the pages they read.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("timezone", sa.String(64), nullable=True))
    op.add_column("users", sa.Column("date_calendar", sa.String(16), nullable=True))
    op.add_column("users", sa.Column("digits", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "digits")
    op.drop_column("users", "date_calendar")
    op.drop_column("users", "timezone")
