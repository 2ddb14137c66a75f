"""The email channel: mailboxes the desk polls, every message it received or sent, the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class Mailbox(Base):
    """An existing mailbox the desk polls over IMAP or POP3.

    Its password is either named, never stored: `password_env` is the
    environment variable of the worker that holds it; or stored encrypted
    with the desk's secret key (`password_encrypted`, a Fernet token). One of
    the two, never both.
    """

    __tablename__ = "mailboxes"
    __table_args__ = (
        CheckConstraint("protocol IN ('imap', 'pop3')", name="protocol"),
        CheckConstraint(
            "(password_env IS NULL) <> (password_encrypted IS NULL)", name="one_password"
        ),
        CheckConstraint("record_type IN ('incident', 'service_request')", name="record_type"),
        CheckConstraint("NOT (tls AND starttls)", name="one_tls_mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(320))
    """The address customers write to; replies go out with it as Reply-To."""
    protocol: Mapped[str] = mapped_column(String(8))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    tls: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    """Implicit TLS (IMAPS 993, POP3S 995); off only for a server on a trusted network."""
    starttls: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    """Upgrade the plain connection (IMAP 143, POP3 110) with STARTTLS/STLS; never with `tls`."""
    tls_verify: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    """Check the server's certificate and host name; off only for a test server."""
    ca_certificate: Mapped[str | None] = mapped_column(Text)
    """PEM of the CA(s) to trust for this server (a private CA); None: the system's store."""
    username: Mapped[str] = mapped_column(String(320))
    password_env: Mapped[str | None] = mapped_column(String(100))
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(String(200), default="INBOX", server_default="INBOX")
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    """Group new tickets from this mailbox land in."""
    record_type: Mapped[str] = mapped_column(
        String(32), default="incident", server_default="incident"
    )
    poll_seconds: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    language: Mapped[str | None] = mapped_column(String(16))
    """Language of the mail templates for tickets from this mailbox; None: the desk's."""
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class MailMessage(Base):
    """One message as received or sent, raw bytes first, then what became of it.

    Inbound messages are unique on their Message-ID (a duplicate delivery is
    not stored twice); outbound ones carry the desk's own Message-IDs, so a
    reply naming one in In-Reply-To/References threads back to its ticket.
    """

    __tablename__ = "mail_messages"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        CheckConstraint(
            "status IN ('received', 'processed', 'ignored', 'quarantined', 'sent')", name="status"
        ),
        Index("ix_mail_messages_message_id", "message_id", unique=True),
        Index("ix_mail_messages_ticket_id", "ticket_id"),
        # The quarantine list: newest first, for one status.
        Index("ix_mail_messages_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    message_id: Mapped[str] = mapped_column(String(998))
    """As sent, with angle brackets; a message without one gets `<sha256@no-message-id>`."""
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    """Why it was ignored or quarantined, in words an admin can act on."""
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    ticket_id: Mapped[str | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    seq: Mapped[int | None] = mapped_column(Integer)
    """The ticket event it produced (inbound) or came from (outbound)."""
    linked_ticket_id: Mapped[str | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL")
    )
    """A ticket the message named by its tag without belonging to it."""
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    addresses: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    """{"to": [...], "cc": [...]}: who else the message went to (CC'd contacts of the ticket)."""
    created_at: Mapped[datetime] = created_at_column()
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MailOutbox(Base):
    """One outgoing mail per (ticket event, kind): the unique key makes sending exactly once."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'skipped')", name="status"),
        Index("ix_mail_outbox_key", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    """ticket id, event seq and kind, e.g. `ticket-…:7:reply`."""
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(998))
    recipients: Mapped[list[str]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
