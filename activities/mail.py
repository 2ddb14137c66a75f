"""Outgoing mail: an agent's public reply goes to the requester, threaded, exactly once per event.

The outbox row is unique on (ticket, event seq, kind). The activity sends
only while that row is pending and marks it sent after the SMTP server
accepted the message, so a retried activity never sends an event twice once
the mark is written. Should the worker die in the instant between the
server's acceptance and the mark, the retry sends the same bytes with the same
Message-ID again, which receiving clients show as one message.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Any, cast

import apprise
from jinja2 import DictLoader, Environment, FileSystemLoader, TemplateNotFound
from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio import activity

from models import (
    Attachment,
    Mailbox,
    MailMessage,
    MailOutbox,
    Notification,
    Ticket,
    TicketEventRow,
    User,
    catalogues,
)
from models.mail_templates import (
    MailTemplateOverride,
    template_environment,
    template_name,
    ticket_view,
)
from models.secrets import SecretKeyError, decrypt
from workflows import ids
from workflows.choices import EventKind
from workflows.ticket import notices
from workflows.ticket.messages import TicketMail
from workflows.ticket.rules import STAFF_ROLES

TEMPLATES = Path(__file__).parent / "mail_templates"
"""Built-in templates, `<language>/<kind>.subject.txt|.txt|.html`; the override folder's
file of the same name wins over one, and an admin's stored text over both."""

_CC_KEPT = 20
"""At most this many CC'd contacts on one reply."""
_REFERENCES_KEPT = 20
"""References carries the thread's first message and the latest ones, as RFC 5322 suggests."""

_outbox = cast(Table, MailOutbox.__table__)
_messages = cast(Table, MailMessage.__table__)


@dataclass(frozen=True)
class MailConfig:
    """What sending needs; the worker builds it from the settings."""

    smtp_host: str | None
    smtp_port: int
    smtp_starttls: bool
    smtp_username: str | None
    smtp_password: str | None
    address: str
    from_name: str
    domain: str
    language: str
    templates_dir: Path | None
    secret_key: str | None = None
    """Decrypts people's Apprise URLs (TEMPODESK_SECRET_KEY)."""


def message_id_for(ticket: Ticket, seq: int, kind: str, domain: str) -> str:
    """The desk's own Message-ID of an event's mail; the intake knows it as one of ours.

    The same event always gets the same id (a retried send repeats it), and
    the id carries a digest of the ticket's workflow id, which only the
    people the mail went to have seen: a stranger cannot guess an id to put
    in In-Reply-To and so attach their mail to someone else's ticket.
    """
    token = hashlib.sha256(f"{ticket.id}:{seq}:{kind}".encode()).hexdigest()[:20]
    return f"<td.{ticket.number}.{seq}.{kind}.{token}@{domain}>"


_MAILED_EVENTS = frozenset({EventKind.REPLIED, EventKind.CUSTOMER_REMINDED})
"""Events mailed to the requester: the desk's public replies and its reminders to a
customer the ticket waits for (workflows/ticket/followup.py)."""


def _words(notification: Notification, language: str | None) -> tuple[str, str]:
    """A notification's title and body in the recipient's language (English where the desk
    has no catalogue in it; as stored for a notification from before message ids)."""
    if not notification.message:
        return notification.title, notification.body
    gettext = catalogues.translations(language or catalogues.SOURCE_LANGUAGE).gettext
    return notices.words(
        gettext, notification.message, notification.detail, notification.params, notification.body
    )


def ticket_tag(number: int) -> str:
    return f"TD#{number}"


class MailActivities:
    def __init__(self, engine: AsyncEngine, config: MailConfig) -> None:
        self._engine = engine
        self._config = config
        # Every template renders in the sandbox: the override folder's files and the
        # admins' stored texts are written by people, not shipped and reviewed with the code.
        self._built_in = template_environment(FileSystemLoader(str(TEMPLATES)))
        self._folder = (
            template_environment(FileSystemLoader(str(config.templates_dir)))
            if config.templates_dir is not None
            else None
        )

    @staticmethod
    async def _stored(conn: AsyncSession) -> Environment:
        """The templates admins edited in the app, read once per send (one small query)."""
        rows = await conn.execute(
            select(
                MailTemplateOverride.language,
                MailTemplateOverride.kind,
                MailTemplateOverride.part,
                MailTemplateOverride.body,
            )
        )
        bodies = {template_name(lang, kind, part): body for lang, kind, part, body in rows}
        return template_environment(DictLoader(bodies))

    def _render(
        self,
        kind: str,
        suffix: str,
        context: dict[str, Any],
        language: str | None = None,
        stored: Environment | None = None,
        problems: list[str] | None = None,
    ) -> str:
        """The template of `language`; where it has none, the desk's default language's,
        and English as the last resort (the only language every kind ships in).

        In each language an admin's stored text wins over the override folder's
        file, which wins over the built-in one. A stored or folder template that
        fails (it was checked with sample values only, or the file was never
        checked) does not lose the mail: the built-in template is used instead and
        the problem is logged and added to `problems`.
        """
        chosen = list(
            dict.fromkeys([language or self._config.language, self._config.language, "en"])
        )
        sources = [("stored", stored), ("folder", self._folder)]
        for lang in chosen:
            name = template_name(lang, kind, suffix)
            for source, environment in sources:
                if environment is None:
                    continue
                try:
                    return environment.get_template(name).render(context).strip()
                except TemplateNotFound:
                    continue
                except Exception as exc:  # an admin's text may raise anything
                    problem = (
                        f"the {source} template {name} failed ({type(exc).__name__}: {exc}); "
                        "the built-in template was used"
                    )
                    activity.logger.warning("%s", problem)
                    if problems is not None:
                        problems.append(problem)
                    return self._render_built_in(kind, suffix, context, chosen)
            try:
                return self._built_in.get_template(name).render(context).strip()
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template_name(chosen[-1], kind, suffix))

    def _render_built_in(
        self, kind: str, suffix: str, context: dict[str, Any], languages: list[str]
    ) -> str:
        names = [template_name(lang, kind, suffix) for lang in languages]
        return self._built_in.select_template(names).render(context).strip()

    @activity.defn(name=ids.SEND_TICKET_MAIL)
    async def send_ticket_mail(self, mail: TicketMail) -> str:
        """Send the mail of one ticket event; returns the outbox status (sent or skipped).

        `reply` mails an agent's public reply to the requester; `notification`
        mails each person the event's in-app notifications went to. Idempotent:
        an outbox row already sent or skipped is not sent again. SMTP errors
        raise, and Temporal retries with backoff.
        """
        if mail.kind == "notification":
            return await self._notifications(mail)
        return await self._reply(mail)

    async def _reply(self, mail: TicketMail) -> str:
        key = f"{mail.ticket_id}:{mail.seq}:{mail.kind}"
        async with AsyncSession(self._engine) as conn:
            if await self._finished(conn, key):
                return "sent"
            found = (
                await conn.execute(
                    select(Ticket, TicketEventRow, User.name)
                    .join(TicketEventRow, TicketEventRow.ticket_id == Ticket.id)
                    .outerjoin(User, User.id == TicketEventRow.actor_id)
                    .where(Ticket.id == mail.ticket_id, TicketEventRow.seq == mail.seq)
                )
            ).one_or_none()
            if found is None:
                raise RuntimeError(f"event {mail.seq} of {mail.ticket_id} is not projected yet")
            ticket, event, author = found
            requester = (
                await conn.execute(
                    select(User.email, User.name, User.language).where(
                        User.id == ticket.requester_id
                    )
                )
            ).one_or_none()
            # A ticket that came in through a polled mailbox is answered from that
            # address, in that mailbox's language unless the requester chose their own.
            origin = (
                await conn.execute(
                    select(Mailbox.address, Mailbox.language)
                    .join(MailMessage, MailMessage.mailbox_id == Mailbox.id)
                    .where(MailMessage.ticket_id == mail.ticket_id, MailMessage.direction == "in")
                    .order_by(MailMessage.created_at)
                    .limit(1)
                )
            ).one_or_none()
            reply_to, language = origin if origin is not None else (None, None)
            thread = list(
                (
                    await conn.execute(
                        select(_messages.c.message_id, _messages.c.direction)
                        .where(_messages.c.ticket_id == mail.ticket_id)
                        .order_by(_messages.c.created_at)
                    )
                ).tuples()
            )
            copied = await self._copied(conn, mail.ticket_id, requester)
            files = await self._files(conn, mail.ticket_id, event)
            stored = await self._stored(conn)
        message_id = message_id_for(ticket, mail.seq, mail.kind, self._config.domain)
        skip = self._skip_reason(event, requester)
        stray = [f for f in files if isinstance(f, str)]
        if stray and skip is None:
            # Never mail a reply without a file it announces; the outbox says which.
            skip = f"the reply's attachment {stray[0]} is not a public file of the ticket"
        recipients = [requester[0], *copied] if requester is not None else []
        if not await self._claim(key, mail, message_id, recipients, skip):
            return "skipped"
        assert requester is not None
        problems: list[str] = []
        message = self._compose(
            ticket,
            event,
            author,
            requester,
            thread,
            message_id,
            reply_to or self._config.address,
            requester[2] or language or self._config.language,
            [f for f in files if not isinstance(f, str)],
            stored,
            problems,
        )
        if copied:
            message["Cc"] = ", ".join(copied)
        await asyncio.to_thread(self._deliver, message)
        await self._sent(key, mail, message, recipients, thread=True, problems=problems)
        return "sent"

    async def _notifications(self, mail: TicketMail) -> str:
        """One mail per person notified of the event, each with its own outbox row."""
        async with AsyncSession(self._engine) as conn:
            ticket = await conn.get(Ticket, mail.ticket_id)
            if ticket is None:
                raise RuntimeError(f"ticket {mail.ticket_id} is not projected yet")
            rows = (
                await conn.execute(
                    select(
                        Notification,
                        User.email,
                        User.name,
                        User.notification_prefs,
                        User.language,
                    )
                    .join(User, User.id == Notification.user_id)
                    .where(
                        Notification.ticket_id == mail.ticket_id,
                        Notification.seq == mail.seq,
                        User.active.is_(True),
                    )
                    .order_by(Notification.user_id)
                )
            ).all()
            stored = await self._stored(conn)
        statuses = []
        for notification, email, name, prefs, language in rows:
            prefs = prefs or {}
            muted = notification.kind in (prefs.get("muted") or [])
            if prefs.get("apprise") and not muted:
                statuses.append(
                    await self._push(mail, notification, ticket, str(prefs["apprise"]), language)
                )
            if muted or not prefs.get("email", True):
                statuses.append("skipped")
                continue
            kind = f"notification-{notification.user_id}"
            key = f"{mail.ticket_id}:{mail.seq}:{kind}"
            async with AsyncSession(self._engine) as conn:
                if await self._finished(conn, key):
                    statuses.append("sent")
                    continue
            message_id = message_id_for(ticket, mail.seq, kind, self._config.domain)
            skip = self._skip_reason(None, (email, name))
            if not await self._claim(key, mail, message_id, [email], skip, kind):
                statuses.append("skipped")
                continue
            title, body = _words(notification, language)
            context = {
                "ticket": ticket_view(ticket),
                "tag": ticket_tag(ticket.number),
                "title": title,
                "body": body,
                "name": name,
                "desk_name": self._config.from_name,
            }
            message = self._envelope(message_id, (name, email), self._config.address)
            # RFC 3834: machine-made, so no vacation responder answers it; the
            # second header asks Exchange for the same.
            message["Auto-Submitted"] = "auto-generated"
            message["X-Auto-Response-Suppress"] = "All"
            problems: list[str] = []
            parts = {
                part: self._render("notification", part, context, language, stored, problems)
                for part in ("subject.txt", "txt", "html")
            }
            message["Subject"] = " ".join(parts["subject.txt"].split())
            message.set_content(parts["txt"])
            message.add_alternative(parts["html"], subtype="html")
            await asyncio.to_thread(self._deliver, message)
            await self._sent(key, mail, message, [email], thread=False, problems=problems)
            statuses.append("sent")
        return "sent" if "sent" in statuses else "skipped"

    async def _push(
        self,
        mail: TicketMail,
        notification: Notification,
        ticket: Ticket,
        secret: str,
        language: str | None,
    ) -> str:
        """Push one notification to the person's Apprise URL, once (its own outbox row)."""
        key = f"{mail.ticket_id}:{mail.seq}:apprise-{notification.user_id}"
        async with AsyncSession(self._engine) as conn:
            if await self._finished(conn, key):
                return "sent"
        try:
            url = decrypt(self._config.secret_key, secret)
        except SecretKeyError as exc:
            await self._claim(key, mail, key, [], str(exc), f"apprise-{notification.user_id}")
            return "skipped"
        if not await self._claim(key, mail, key, [], None, f"apprise-{notification.user_id}"):
            return "skipped"
        words, body = _words(notification, language)
        title = f"{ticket_tag(ticket.number)} {words}"
        pusher = apprise.Apprise()
        pusher.add(url)
        delivered = await asyncio.to_thread(pusher.notify, title=title, body=body or title)
        if not delivered:
            # Temporal retries the activity; rows already sent are not sent again.
            raise RuntimeError(f"the Apprise push for {key} failed")
        async with self._engine.begin() as conn:
            await conn.execute(
                update(_outbox)
                .where(_outbox.c.key == key)
                .values(status="sent", sent_at=datetime.now(UTC))
            )
        return "sent"

    async def _copied(self, conn: AsyncSession, ticket_id: str, requester: Any) -> list[str]:
        """The ticket's CC'd contacts: everyone its received mail came from or went to,
        except the requester, the desk's own addresses and staff (they use the app)."""
        rows = await conn.execute(
            select(_messages.c.sender, _messages.c.addresses).where(
                _messages.c.ticket_id == ticket_id, _messages.c.direction == "in"
            )
        )
        seen: dict[str, None] = {}
        for sender, addresses in rows.tuples():
            for address in [sender, *addresses.get("to", []), *addresses.get("cc", [])]:
                if address:
                    seen[str(address).lower()] = None
        desk = {self._config.address.lower()}
        desk |= {a.lower() for a in await conn.scalars(select(Mailbox.address))}
        staff = set(
            await conn.scalars(
                select(User.email).where(User.email.in_(list(seen)), User.role != "customer")
            )
        )
        own = requester[0].lower() if requester is not None else None
        return [a for a in seen if a != own and a not in desk and a not in staff][:_CC_KEPT]

    @staticmethod
    async def _files(
        conn: AsyncSession, ticket_id: str, event: TicketEventRow
    ) -> list[tuple[str, str, bytes] | str]:
        """The files the reply carries (filename, content type, bytes), in the agent's order;
        the id alone for one that is not a public file of this ticket.

        The workflow checked they are on the ticket and the API that they are
        public; the filter here keeps an internal file out of a customer's mail
        even if one were named.
        """
        wanted = [str(i) for i in event.data.get("attachment_ids") or []]
        if not wanted:
            return []
        rows = await conn.execute(
            select(Attachment.id, Attachment.filename, Attachment.content_type, Attachment.data)
            .where(Attachment.ticket_id == ticket_id, Attachment.public.is_(True))
            .where(Attachment.id.in_([uuid.UUID(i) for i in wanted]))
        )
        found = {str(i): (name, kind, data) for i, name, kind, data in rows.tuples()}
        return [found.get(i, i) for i in wanted]

    @staticmethod
    async def _finished(conn: AsyncSession, key: str) -> bool:
        status = await conn.scalar(
            select(_outbox.c.status).where(
                _outbox.c.key == key, _outbox.c.status.in_(["sent", "skipped"])
            )
        )
        return status is not None

    async def _claim(
        self,
        key: str,
        mail: TicketMail,
        message_id: str,
        recipients: list[str],
        skip: str | None,
        kind: str | None = None,
    ) -> bool:
        """Write the outbox row (once) and count the attempt; False when it is not to be sent."""
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(_outbox)
                .values(
                    key=key,
                    ticket_id=mail.ticket_id,
                    seq=mail.seq,
                    kind=kind or mail.kind,
                    message_id=message_id,
                    recipients=recipients,
                    status="skipped" if skip else "pending",
                    reason=skip,
                )
                .on_conflict_do_nothing(index_elements=["key"])
            )
            await conn.execute(
                update(_outbox).where(_outbox.c.key == key).values(attempts=_outbox.c.attempts + 1)
            )
        if skip is not None:
            activity.logger.info("mail for %s not sent: %s", key, skip)
            return False
        return True

    async def _sent(
        self,
        key: str,
        mail: TicketMail,
        message: EmailMessage,
        recipients: list[str],
        *,
        thread: bool,
        problems: list[str] | None = None,
    ) -> None:
        """Mark the row sent; mail of the ticket's thread is kept so answers thread back.

        A template that failed and was replaced by the built-in one is noted in the
        row's `reason`, where admins look for why a mail looks the way it does.
        """
        now = datetime.now(UTC)
        note = "; ".join(problems) if problems else None
        async with self._engine.begin() as conn:
            await conn.execute(
                update(_outbox)
                .where(_outbox.c.key == key)
                .values(status="sent", sent_at=now, reason=note)
            )
            if not thread:
                return
            raw = message.as_bytes()
            await conn.execute(
                insert(_messages)
                .values(
                    direction="out",
                    message_id=str(message["Message-ID"]),
                    status="sent",
                    raw=raw,
                    sha256=_sha256(raw),
                    ticket_id=mail.ticket_id,
                    seq=mail.seq,
                    sender=self._config.address,
                    subject=str(message["Subject"]),
                    addresses={"to": recipients, "cc": []},
                    processed_at=now,
                )
                .on_conflict_do_nothing(index_elements=["message_id"])
            )

    def _skip_reason(self, event: TicketEventRow | None, recipient: Any) -> str | None:
        """Why this mail is not sent (the event is a reply's; None for notifications)."""
        if self._config.smtp_host is None:
            return "no SMTP server is configured (TEMPODESK_SMTP_HOST)"
        public_reply = event is None or (
            event.kind in _MAILED_EVENTS and event.public and event.actor_role in STAFF_ROLES
        )
        if not public_reply:
            return "the event is not a public agent reply"
        if recipient is None or not recipient[0]:
            return "there is no recipient with an email address"
        return None

    def _envelope(self, message_id: str, to: tuple[str, str], reply_to: str) -> EmailMessage:
        message = EmailMessage()
        message["Message-ID"] = message_id
        message["Date"] = formatdate(localtime=False)
        message["From"] = formataddr((self._config.from_name, self._config.address))
        message["Reply-To"] = reply_to
        message["To"] = formataddr(to)
        return message

    @staticmethod
    def _body(event: TicketEventRow, language: str) -> str:
        """What a mailed event says: a reply's text as its author wrote it, a reminder
        written in the recipient's language."""
        if event.kind == EventKind.CUSTOMER_REMINDED:
            catalogue = catalogues.translations(language)
            return notices.reminder_text(catalogue.gettext, catalogue.ngettext, event.data)
        return str(event.data.get("body", ""))

    def _compose(
        self,
        ticket: Ticket,
        event: TicketEventRow,
        author: str | None,
        requester: Any,
        thread: list[tuple[str, str]],
        message_id: str,
        reply_to: str,
        language: str,
        files: list[tuple[str, str, bytes]],
        stored: Environment | None = None,
        problems: list[str] | None = None,
    ) -> EmailMessage:
        config = self._config
        context = {
            "ticket": ticket_view(ticket),
            "tag": ticket_tag(ticket.number),
            "body": self._body(event, language),
            "author": author or config.from_name,
            "desk_name": config.from_name,
            "requester_name": requester[1],
        }
        message = self._envelope(message_id, (requester[1], requester[0]), reply_to)
        subject = self._render("reply", "subject.txt", context, language, stored, problems)
        message["Subject"] = " ".join(subject.split())
        earlier = [mid for mid, _ in thread if mid != message_id]
        inbound = [mid for mid, direction in thread if direction == "in"]
        parent = inbound[-1] if inbound else (earlier[-1] if earlier else None)
        if parent is not None:
            message["In-Reply-To"] = parent
            kept = earlier[:1] + earlier[1:][-(_REFERENCES_KEPT - 1) :]
            message["References"] = " ".join(kept)
        message["X-Tempodesk-Ticket"] = str(ticket.number)
        message.set_content(self._render("reply", "txt", context, language, stored, problems))
        html = self._render("reply", "html", context, language, stored, problems)
        message.add_alternative(html, subtype="html")
        for filename, content_type, data in files:
            maintype, _, subtype = content_type.partition("/")
            if not subtype:
                maintype, subtype = "application", "octet-stream"
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        return message

    def _deliver(self, message: EmailMessage) -> None:
        config = self._config
        assert config.smtp_host is not None
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=60) as smtp:
            if config.smtp_starttls:
                smtp.starttls()
            if config.smtp_username and config.smtp_password:
                smtp.login(config.smtp_username, config.smtp_password)
            smtp.send_message(message)


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
