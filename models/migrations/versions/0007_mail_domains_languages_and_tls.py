"""several mail domains per organisation, people's template language, mailbox TLS options

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation_domains",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_domains_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_organisation_domains")),
    )
    op.create_index(
        op.f("ix_organisation_domains_organisation_id"),
        "organisation_domains",
        ["organisation_id"],
        unique=False,
    )
    # The one domain an organisation had becomes the first of its list.
    op.execute(
        "INSERT INTO organisation_domains (domain, organisation_id) "
        "SELECT lower(domain), id FROM organisations WHERE domain IS NOT NULL AND domain <> ''"
    )
    op.drop_constraint(op.f("uq_organisations_domain"), "organisations", type_="unique")
    op.drop_column("organisations", "domain")

    op.add_column("users", sa.Column("language", sa.String(length=16), nullable=True))

    op.add_column(
        "mailboxes", sa.Column("starttls", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column(
        "mailboxes", sa.Column("tls_verify", sa.Boolean(), server_default="true", nullable=False)
    )
    op.add_column("mailboxes", sa.Column("ca_certificate", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_mailboxes_one_tls_mode"), "mailboxes", "NOT (tls AND starttls)"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_mailboxes_one_tls_mode"), "mailboxes", type_="check")
    op.drop_column("mailboxes", "ca_certificate")
    op.drop_column("mailboxes", "tls_verify")
    op.drop_column("mailboxes", "starttls")

    op.drop_column("users", "language")

    op.add_column("organisations", sa.Column("domain", sa.String(length=255), nullable=True))
    # One domain per organisation fits the old column: the alphabetically first is kept.
    op.execute(
        "UPDATE organisations o SET domain = d.domain FROM ("
        "SELECT organisation_id, min(domain) AS domain FROM organisation_domains "
        "GROUP BY organisation_id) d WHERE d.organisation_id = o.id"
    )
    op.create_unique_constraint(op.f("uq_organisations_domain"), "organisations", ["domain"])
    op.drop_index(
        op.f("ix_organisation_domains_organisation_id"), table_name="organisation_domains"
    )
    op.drop_table("organisation_domains")
