"""SLA configuration a process owner keeps: business calendars and SLA policies.

Tickets do not read these rows while they run: a ticket keeps a snapshot of
the policy that matched it (`workflows.sla.SlaPolicy`), so editing a policy
changes open tickets only when the change is applied to them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Interval,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


def _updated_at_column() -> Mapped[datetime]:
    return mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class Calendar(Base):
    """Business hours: a time zone, weekly working ranges and the days off of a country."""

    __tablename__ = "calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    """IANA zone name, e.g. Europe/Berlin."""
    week: Mapped[list[list[dict[str, int]]]] = mapped_column(JSONB)
    """Seven days, Monday first; each a list of {"start": minute, "end": minute}."""
    holiday_country: Mapped[str | None] = mapped_column(String(8))
    """ISO country code whose public holidays (from the `holidays` package) are days off."""
    holiday_subdivision: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at_column()


class CalendarDay(Base):
    """A day with its own hours: a manual holiday (no hours) or a half-day."""

    __tablename__ = "calendar_days"

    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("calendars.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hours: Mapped[list[dict[str, int]]] = mapped_column(JSONB)
    """Working ranges of that day; empty means closed."""
    label: Mapped[str] = mapped_column(String(200), default="", server_default="")


class SlaPolicyRow(Base):
    """Targets per priority in a calendar's business time, and when they apply.

    Policies are tried in `position` order; the first whose conditions all
    hold applies, else the default one. `version` grows with every edit, so a
    ticket can tell whether its snapshot is the policy's latest.
    """

    __tablename__ = "sla_policies"
    __table_args__ = (
        # Reordering swaps positions inside one transaction: check at commit.
        UniqueConstraint(
            "position", name="uq_sla_policies_position", deferrable=True, initially="DEFERRED"
        ),
        Index(
            "ix_sla_policies_one_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="RESTRICT"))
    conditions: Mapped[dict[str, list[Any]]] = mapped_column(JSONB)
    """Lists of types, priorities, service_ids, organisation_ids, group_ids; empty = any."""
    targets: Mapped[dict[str, dict[str, float | None]]] = mapped_column(JSONB)
    """By priority ("1".."5"): first_response, next_update, resolution in business seconds."""
    pause_statuses: Mapped[list[str]] = mapped_column(JSONB)
    warnings: Mapped[list[int]] = mapped_column(JSONB)
    escalations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    on_reopen: Mapped[str] = mapped_column(String(16))
    idle_after: Mapped[timedelta | None] = mapped_column(Interval)
    """Business time without activity after which an open ticket is idle; None: never."""
    remind_customer_after: Mapped[timedelta | None] = mapped_column(Interval)
    """While the ticket waits for the customer: remind them after this long; None: never."""
    close_after_reminders: Mapped[int | None] = mapped_column(Integer)
    """Close a ticket still waiting after this many reminders; None: never."""
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at_column()
