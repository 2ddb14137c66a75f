"""The ticket projection: one row per ticket and its append-only timeline.

Only the ticket's workflow writes these rows (through the projection
activity); lists, search and reports read them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column

TICKET_NUMBER_SEQ = Sequence("ticket_number_seq", start=1000)
"""Human-readable ticket numbers; gaps are possible (a retried open), duplicates are not."""


class Ticket(Base):
    """A ticket (incident or service request) as its workflow last wrote it."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_assignee_status_updated", "assignee_id", "status", "updated_at"),
        Index("ix_tickets_group_status_updated", "group_id", "status", "updated_at"),
        Index("ix_tickets_status_updated", "status", "updated_at"),
        Index("ix_tickets_requester_updated", "requester_id", "updated_at"),
        Index("ix_tickets_organisation_updated", "organisation_id", "updated_at"),
        Index("ix_tickets_search", "search", postgresql_using="gin"),
        # Newest first, the lists' default order: a search for a common word walks it and
        # stops at the first page instead of sorting every match (docs/benchmarks.md).
        Index("ix_tickets_updated_number", "updated_at", "number"),
        # "Due soonest" within a status; also the at-risk and breached lists.
        Index("ix_tickets_status_sla_due_at", "status", "sla_due_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The workflow id."""
    number: Mapped[int] = mapped_column(
        BigInteger, TICKET_NUMBER_SEQ, server_default=TICKET_NUMBER_SEQ.next_value(), unique=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    """Sequence number of the last event applied; guards against out-of-order writes."""
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    impact: Mapped[int] = mapped_column(SmallInteger)
    urgency: Mapped[int] = mapped_column(SmallInteger)
    priority: Mapped[int] = mapped_column(SmallInteger)
    pending_reason: Mapped[str | None] = mapped_column(Text)
    resolution_code: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopen_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # No foreign keys on these two: the workflow writes this row for the ticket's
    # whole life, and a write must never fail because a service or policy was
    # removed meanwhile. The API checks them when a person sets them.
    service_id: Mapped[int | None] = mapped_column(Integer)
    sla_policy_id: Mapped[int | None] = mapped_column(Integer)
    sla_policy_version: Mapped[int | None] = mapped_column(Integer)
    sla_state: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    """none, running, paused, at_risk, breached or met (see workflows.sla.summary)."""
    sla_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Earliest due instant of a running SLA clock."""
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    first_response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_update_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sla_clocks: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """Every clock as workflows.sla.clock_report gives it: state, target, elapsed, outcome."""
    major: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    parent_number: Mapped[int | None] = mapped_column(BigInteger, index=True)
    """The major incident this one is a child of (its number)."""
    offer_agent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    """The agent the ticket is offered to now (their task list; routing counts it as load)."""
    offer_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    remind_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    idle_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Set when nobody has acted on the open ticket for its policy's idle time."""
    search: Mapped[Any] = mapped_column(TSVECTOR, nullable=False, deferred=True)
    """Subject and description as `models.search.document` tokenises them, written by
    the projection with the row; queries match it with `models.search.query`."""


class TicketEventRow(Base):
    """A timeline entry, unique on (ticket_id, seq): a retried write replaces, never duplicates."""

    __tablename__ = "ticket_events"

    ticket_id: Mapped[str] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(16))
    public: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)


class Attachment(Base):
    """A file on a ticket. Stored by the API first; linked once the workflow records it (`seq`)."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_ticket_id", "ticket_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    seq: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
