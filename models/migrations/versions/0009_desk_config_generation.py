"""a generation number that every change of the desk's configuration raises

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

The worker keeps the configuration a new ticket is opened with (desk settings,
routing rules, SLA policies and their calendars) and reads only this number to
know whether it is still current: one statement per opening instead of three
or more. Statement-level triggers raise it in the same transaction as the
change, so the first opening after the commit sees the new configuration.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("desk_settings", "routing_rules", "sla_policies", "calendars", "calendar_days")


def upgrade() -> None:
    op.create_table(
        "desk_config_generation",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_desk_config_generation_one_row")),
    )
    op.execute("INSERT INTO desk_config_generation (id, generation) VALUES (1, 1)")
    op.execute(
        """
        CREATE FUNCTION raise_desk_config_generation() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE desk_config_generation SET generation = generation + 1 WHERE id = 1;
            RETURN NULL;
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_raise_generation "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION raise_desk_config_generation()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_raise_generation ON {table}")
    op.execute("DROP FUNCTION raise_desk_config_generation()")
    op.drop_table("desk_config_generation")
