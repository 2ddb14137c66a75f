"""People and the groups they work in, and how they prove who they are."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class Organisation(Base):
    """A customer organisation. Its customers see only its tickets."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    shared_tickets: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    """When set, every customer of the organisation sees all of its tickets, not only their own."""
    created_at: Mapped[datetime] = created_at_column()


class OrganisationDomain(Base):
    """A mail domain of an organisation: unknown senders from it become its contacts.

    The domain is the key, so one domain belongs to one organisation at most;
    the database enforces it even when two admins save at the same moment.
    """

    __tablename__ = "organisation_domains"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    """Lower case, IDNA (ASCII) form, e.g. `acme.example`."""
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )


class User(Base):
    """Anyone who logs in: customers, agents, managers and admins."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('customer', 'agent', 'manager', 'admin')", name="role"),
        CheckConstraint("email = lower(email)", name="email_lower"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    password_hash: Mapped[str | None] = mapped_column(Text)
    """argon2id hash; None for users who cannot log in with a password."""
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at_column()
    availability: Mapped[str] = mapped_column(String(10), default="online", server_default="online")
    """Agents: online, away or offline; only online agents are offered tickets."""
    max_open_tickets: Mapped[int | None] = mapped_column(Integer)
    """Agents: no offers while this many tickets are open and assigned to them."""
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("calendars.id", ondelete="SET NULL"))
    """Agents: working hours; outside them no offers, as if away. None: always."""
    notification_prefs: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default="{}"
    )
    """{"email": bool, "muted": [kinds not mailed], "apprise": encrypted Apprise URL}."""
    mail_bounced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When mail to this person last bounced (a delivery status notification came back)."""
    mail_bounce_reason: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    """This person's language: of the pages they read (where the desk has a catalogue in it)
    and of the mail they receive (where templates exist in it); None: the desk's default
    for mail, the browser's choice for pages."""
    timezone: Mapped[str | None] = mapped_column(String(64))
    """IANA zone the pages show instants in; None: UTC."""
    date_calendar: Mapped[str | None] = mapped_column(String(16))
    """`workflows.choices.DateCalendar`; None: Gregorian."""
    digits: Mapped[str | None] = mapped_column(String(16))
    """`workflows.choices.Digits`; None: the language's usual digits."""


class Group(Base):
    """A team (queue) of agents that tickets are assigned to."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    """The agent escalations and unassigned work are reported to."""
    created_at: Mapped[datetime] = created_at_column()
    strategy: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")
    """manual, round_robin, least_loaded or skills (workflows/routing.py)."""
    offer_timeout_seconds: Mapped[int] = mapped_column(Integer, default=300, server_default="300")
    required_skills: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    """Skills every ticket of the group needs (the skills strategy adds them to its own)."""
    last_offered_id: Mapped[int | None] = mapped_column(Integer)
    """Round robin's position: kept here so it is fair across restarts and workers."""


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    skills: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")


class ApiToken(Base):
    """A bearer token for API clients. Only the SHA-256 digest of the secret is stored.

    The secret is 256 random bits, so a fast digest is as safe as a slow hash
    here and costs microseconds per request instead of hundreds of milliseconds.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """The first characters of the secret, shown so a person can tell tokens apart."""
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A browser login. The cookie holds the secret; the row holds its digest and the CSRF token."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires_at", "expires_at"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoutingRuleRow(Base):
    """An ordered routing rule: the first whose conditions hold places a new ticket in its
    group, with the skills it needs. A rule without conditions last is the default group."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    skills: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    created_at: Mapped[datetime] = created_at_column()
