"""Monitoring integrations, the alerts they send, and every event kept raw for audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class Integration(Base):
    """A monitoring tool allowed to open incidents: its token, defaults and mapping rules.

    The token (the routing key of the Events API) is a random secret; only its
    SHA-256 digest is stored, looked up by index on every event.
    """

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    """events (PagerDuty Events API v2 shape), alertmanager, or webhook (mapped JSON)."""
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    """The contact its incidents are raised by (created with the integration)."""
    token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str | None] = mapped_column(String(16))
    token_revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    service_id: Mapped[int | None] = mapped_column(Integer)
    group_id: Mapped[int | None] = mapped_column(Integer)
    resolve_mode: Mapped[str] = mapped_column(String(10), default="resolve")
    """resolve: a resolve from the source resolves the incident; note: it only adds a note."""
    flap_window_seconds: Mapped[int] = mapped_column(Integer, default=0)
    link_by: Mapped[str] = mapped_column(String(10), default="alert", server_default="alert")
    """alert: one incident per alert key; group: one per Alertmanager group (groupKey)."""
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """webhook only: JSON paths of dedup key, summary, severity, source, status."""
    created_at: Mapped[datetime] = created_at_column()
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Alert(Base):
    """One alert key of one integration, and the incident it currently feeds."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_integration_id_key", "integration_id", "key", unique=True),
        Index("ix_alerts_ticket_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    ticket_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    """firing, acknowledged or resolved, as the source last said."""
    summary: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20), default="")
    source: Mapped[str] = mapped_column(String(255), default="")
    occurrences: Mapped[int] = mapped_column(Integer, default=0)
    """Triggers counted on the current incident."""
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertEvent(Base):
    """One accepted event, stored raw before anything else happens to it."""

    __tablename__ = "alert_events"
    __table_args__ = (
        Index("ix_alert_events_ticket_id", "ticket_id", "id"),
        Index("ix_alert_events_integration_id_key", "integration_id", "key", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16))
    """trigger, acknowledge or resolve."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = created_at_column()
    ticket_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(40))
    """What the alert's workflow did with it: opened, repeated, reopened, resolved, ..."""
