"""Notifications a person receives (in the app, and through further channels later)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class Notification(Base):
    """One message to one person, unique on (user_id, key) so a retried write adds none.

    The key names what caused it (e.g. the ticket, the event sequence number
    and the SLA checkpoint), which is what makes delivery exactly once.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_key", "user_id", "key", unique=True),
        Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        Index("ix_notifications_ticket_id_seq", "ticket_id", "seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[str | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    seq: Mapped[int | None] = mapped_column(Integer)
    """The ticket event that caused it."""
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = created_at_column()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
