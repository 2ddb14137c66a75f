"""Notifications a person receives (in the app, and through further channels later)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
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
    message: Mapped[str | None] = mapped_column(String(300))
    """What it says, as a catalogue message id filled from `params` in each reader's
    language (`workflows.ticket.notices`); None for notifications stored before ids."""
    detail: Mapped[str | None] = mapped_column(String(300))
    """A second line, also a message id filled from `params`."""
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    title: Mapped[str] = mapped_column(String(300))
    """`message` written in English, for the API and whoever reads no catalogue."""
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    """People's own words that came with it (a note, a question), shown as they are."""
    created_at: Mapped[datetime] = created_at_column()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


NOTIFY_CHANNEL = "tempodesk_notifications"
"""The PostgreSQL channel on which the worker announces new notification rows.

The API's listener (`api/live.py`) wakes open streams with it. A payload names
rows, never their text: "<user id>:<notification id>" pairs separated by spaces.
"""

_PAYLOAD_LIMIT = 7_000
# PostgreSQL refuses payloads of 8000 bytes or more; a broadcast to many people is
# split into several announcements instead.


def announcements(rows: list[tuple[int, int]]) -> list[str]:
    """The payloads that announce `(user_id, notification_id)` rows, each under the limit."""
    payloads: list[str] = []
    current: list[str] = []
    size = 0
    for user_id, notification_id in rows:
        pair = f"{user_id}:{notification_id}"
        if current and size + len(pair) + 1 > _PAYLOAD_LIMIT:
            payloads.append(" ".join(current))
            current, size = [], 0
        current.append(pair)
        size += len(pair) + 1
    if current:
        payloads.append(" ".join(current))
    return payloads


def announced(payload: str) -> list[tuple[int, int]]:
    """The `(user_id, notification_id)` pairs of a payload; malformed parts are skipped."""
    pairs: list[tuple[int, int]] = []
    for part in payload.split():
        user, _, notification = part.partition(":")
        if user.isdecimal() and notification.isdecimal():
            pairs.append((int(user), int(notification)))
    return pairs
