"""What the desk does with a received message: store it raw, then thread it onto a ticket.

Every message is committed raw before anything reads it, so nothing is lost;
then it is parsed and acted on through the same service functions and
workflow updates as the portal. Whatever goes wrong while acting, the message
ends in quarantine with the reason and the next one is processed: one bad
message never blocks a mailbox. Acting is idempotent (the ticket of a message
is keyed by its Message-ID, replies and attachments by update ids derived
from it), so reprocessing from quarantine never doubles anything.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.service import RPCError

from api.auth import Principal
from api.errors import ApiError, from_violation
from api.mail.parse import ParsedMail, ParseError, message_id_of, parse
from api.schemas import TicketCreate, UserCreate
from api.services import directory, ticket_actions
from api.services.attachments import clean_filename
from api.settings import Settings
from models import (
    Attachment,
    GroupMember,
    Mailbox,
    MailMessage,
    Organisation,
    Ticket,
    TicketEventRow,
    User,
)
from workflows.choices import Channel, Role, Status, TicketType
from workflows.ticket.client import TicketClient
from workflows.ticket.errors import RuleViolation
from workflows.ticket.fields import BODY_MAX, SUBJECT_MAX
from workflows.ticket.messages import (
    SYSTEM,
    AddNote,
    Assign,
    Attach,
    Reopen,
    Reply,
    TicketState,
)

log = logging.getLogger("tempodesk.mail")

_ATTACH_NAMESPACE = uuid.UUID("5f0c1d4e-3a57-4d2b-9f0e-6d1f1c0a7b21")
_TRUNCATED = "\n\n[shortened: the full message is kept with the ticket's mail]"


@dataclass
class Outcome:
    status: str
    reason: str | None = None
    ticket_id: str | None = None
    seq: int | None = None
    linked_ticket_id: str | None = None


@dataclass
class Received:
    """What the intake answers: the stored row (None for a duplicate) and what became of it."""

    id: int | None
    status: str
    reason: str | None = None
    ticket_number: int | None = None


def _key(message_id: str, what: str = "") -> str:
    return "mail-" + hashlib.sha256(f"{message_id}\x00{what}".encode()).hexdigest()[:40]


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(_TRUNCATED)] + _TRUNCATED


class MailUnavailable(Exception):
    """The database or the workflow engine is away: the message stays received, to be
    processed when it is delivered (or fetched) again; it is not the message's fault."""


def _transient(exc: Exception) -> bool:
    if isinstance(exc, ApiError):
        return exc.status in (503, 504)
    return isinstance(exc, RPCError | DBAPIError | OSError)


class MailProcessor:
    """Stores and acts on received mail; one per intake process or worker."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], tickets: TicketClient, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._tickets = tickets
        self._settings = settings

    # ------------------------------------------------------------ storing

    async def store(self, raw: bytes, mailbox_id: int | None = None) -> int | None:
        """Commit the raw message; the row to process, or None for a duplicate already handled.

        A message stored earlier but never processed (the process died before
        it answered, so the sender delivers again) is returned for processing:
        acting is idempotent, so that finishes the job instead of losing it.
        """
        message_id = message_id_of(raw)
        async with self._sessions() as session:
            row_id = await session.scalar(
                insert(MailMessage)
                .values(
                    direction="in",
                    message_id=message_id,
                    status="received",
                    raw=raw,
                    sha256=hashlib.sha256(raw).hexdigest(),
                    mailbox_id=mailbox_id,
                )
                .on_conflict_do_nothing(index_elements=["message_id"])
                .returning(MailMessage.id)
            )
            if row_id is None:
                row_id = await session.scalar(
                    select(MailMessage.id).where(
                        MailMessage.message_id == message_id,
                        MailMessage.direction == "in",
                        MailMessage.status == "received",
                    )
                )
            await session.commit()
        return row_id

    async def receive(self, raw: bytes, mailbox_id: int | None = None) -> Received:
        """Store, then process. Raises only when the raw message could not be stored."""
        row_id = await self.store(raw, mailbox_id)
        if row_id is None:
            log.info("duplicate delivery of %s ignored", message_id_of(raw))
            return Received(
                None, "duplicate", "a message with this Message-ID was already received"
            )
        return await self.process(row_id)

    async def process(self, row_id: int) -> Received:
        """Act on a stored message; a failure of the message puts it in quarantine with the
        reason. Raises MailUnavailable (leaving it received) when the desk itself is away."""
        async with self._sessions() as session:
            row = await session.get(MailMessage, row_id)
            if row is None:
                raise ApiError(404, f"no received message {row_id}", code="not_found")
            raw, mailbox_id = row.raw, row.mailbox_id
            mailbox = await session.get(Mailbox, mailbox_id) if mailbox_id else None
        parsed: ParsedMail | None = None
        try:
            parsed = parse(raw, self._settings.mail_domain)
            outcome = await self._act(parsed, mailbox)
        except ParseError as exc:
            outcome = Outcome("quarantined", str(exc))
        except Exception as exc:  # never let one message stop the intake
            if _transient(exc):
                log.warning("message %s waits: the desk is unavailable (%s)", row_id, exc)
                raise MailUnavailable(str(exc)) from exc
            if isinstance(exc, ApiError):
                outcome = Outcome("quarantined", f"the desk refused it: {exc.detail}")
            else:
                log.exception("message %s could not be processed", row_id)
                outcome = Outcome("quarantined", f"{type(exc).__name__}: {exc}"[:2000])
        number = None
        async with self._sessions() as session:
            values: dict[str, Any] = {
                "status": outcome.status,
                "reason": outcome.reason,
                "ticket_id": outcome.ticket_id,
                "seq": outcome.seq,
                "linked_ticket_id": outcome.linked_ticket_id,
                "processed_at": datetime.now(UTC),
            }
            if parsed is not None:
                values |= {
                    "sender": parsed.sender[:320],
                    "subject": parsed.subject,
                    "addresses": {"to": parsed.to, "cc": parsed.cc},
                }
            await session.execute(
                update(MailMessage).where(MailMessage.id == row_id).values(**values)
            )
            await session.commit()
            if outcome.ticket_id is not None:
                number = await session.scalar(
                    select(Ticket.number).where(Ticket.id == outcome.ticket_id)
                )
        if outcome.status == "quarantined":
            log.warning("message %s quarantined: %s", row_id, outcome.reason)
        return Received(row_id, outcome.status, outcome.reason, number)

    # ------------------------------------------------------------ acting

    async def _act(self, mail: ParsedMail, mailbox: Mailbox | None) -> Outcome:
        if mail.automatic is not None:
            await self._record_bounces(mail)
            return Outcome("ignored", mail.automatic)
        async with self._sessions() as session:
            if await self._from_desk(session, mail.sender):
                # Mail the desk sent to itself (an alias, a forward): answering it would loop.
                return Outcome("ignored", f"sent from the desk's own address {mail.sender}")
            principal = await self._sender(session, mail)
            ticket, linked = await self._thread(session, mail, principal)
        if ticket is not None and ticket.status == Status.CLOSED:
            ticket, linked = None, ticket
        if ticket is not None:
            seq = await self._reply(ticket, mail, principal)
            if seq is not None:
                await self._attach(ticket.id, mail, principal)
                return Outcome("processed", None, ticket.id, seq)
            linked, ticket = ticket, None  # resolved and no longer reopenable
        return await self._open(mail, principal, mailbox, linked)

    async def _from_desk(self, session: AsyncSession, sender: str) -> bool:
        if sender == self._settings.mail_address.lower():
            return True
        own = await session.scalar(
            select(Mailbox.id).where(func.lower(Mailbox.address) == sender).limit(1)
        )
        return own is not None

    async def _sender(self, session: AsyncSession, mail: ParsedMail) -> Principal:
        """The person who wrote; an unknown sender becomes a customer contact."""
        user = await session.scalar(select(User).where(User.email == mail.sender))
        if user is None:
            name = mail.sender_name or mail.sender.split("@", 1)[0]
            try:
                body = UserCreate(email=mail.sender, name=name[:200], role=Role.CUSTOMER)
            except ValidationError as exc:
                reason = exc.errors()[0].get("msg", "invalid")
                raise ParseError(
                    f"the sender {mail.sender!r} is not a valid address: {reason}"
                ) from None
            try:
                await directory.create_user(session, body)
            except ApiError as exc:
                if exc.status != 409:  # 409: created meanwhile by a parallel delivery
                    raise
            user = await session.scalar(select(User).where(User.email == str(body.email).lower()))
            if user is None:
                raise ParseError(f"the contact {mail.sender} could not be created")
        if not user.active:
            raise ParseError(f"the sender {user.email} is deactivated")
        shared = False
        if user.organisation_id is not None:
            shared = bool(
                await session.scalar(
                    select(Organisation.shared_tickets).where(
                        Organisation.id == user.organisation_id
                    )
                )
            )
        group_ids: list[int] = []
        if user.role != Role.CUSTOMER:
            group_ids = list(
                await session.scalars(
                    select(GroupMember.group_id).where(GroupMember.user_id == user.id)
                )
            )
        return Principal(
            id=user.id,
            email=user.email,
            name=user.name,
            role=Role(user.role),
            organisation_id=user.organisation_id,
            organisation_shared=shared,
            via="mail",
            group_ids=group_ids,
        )

    async def _thread(
        self, session: AsyncSession, mail: ParsedMail, principal: Principal
    ) -> tuple[Ticket | None, Ticket | None]:
        """(the ticket the message belongs to, a ticket it names without belonging to it)."""
        known = [i for i in mail.in_reply_to + mail.references if i != mail.message_id]
        if known:
            ticket = await session.scalar(
                select(Ticket)
                .join(MailMessage, MailMessage.ticket_id == Ticket.id)
                .where(MailMessage.message_id.in_(known))
                .order_by(MailMessage.created_at.desc())
                .limit(1)
            )
            if ticket is not None:
                return ticket, None
        number = mail.tag
        if number is None:
            return None, None
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is None:
            return None, None
        if await self._on_ticket(session, ticket, principal):
            return ticket, None
        return None, ticket

    async def _on_ticket(self, session: AsyncSession, ticket: Ticket, principal: Principal) -> bool:
        """Whether the sender is the requester, a CC'd contact or an agent of the ticket."""
        if principal.id == ticket.requester_id:
            return True
        if principal.is_staff:
            if principal.id == ticket.assignee_id:
                return True
            if ticket.group_id is not None and ticket.group_id in principal.group_ids:
                return True
            acted = await session.scalar(
                select(TicketEventRow.seq)
                .where(
                    TicketEventRow.ticket_id == ticket.id,
                    TicketEventRow.actor_id == principal.id,
                )
                .limit(1)
            )
            return acted is not None
        # A contact is CC'd when a message of the ticket went to them.
        rows = await session.scalars(
            select(MailMessage.addresses).where(MailMessage.ticket_id == ticket.id)
        )
        return any(
            principal.email in (addresses.get("to", []) + addresses.get("cc", []))
            for addresses in rows
        )

    async def _update(self, workflow_id: str, msg: BaseModel, update_id: str) -> TicketState:
        try:
            return await self._tickets.act(workflow_id, msg, update_id=update_id)
        except RuleViolation as exc:
            raise from_violation(exc) from exc

    async def _reply(self, ticket: Ticket, mail: ParsedMail, principal: Principal) -> int | None:
        """Add the message to the ticket; its seq, or None when the ticket can take no reply."""
        body = _fit(mail.reply or mail.text or "(no text; see the attachments)", BODY_MAX)
        actor = principal.actor()
        if ticket.status == Status.RESOLVED:
            if principal.is_staff:
                state = await self._update(
                    ticket.id,
                    AddNote(actor=actor, body=body),
                    _key(mail.message_id, "note"),
                )
                return int(state.seq)
            try:
                await self._update(
                    ticket.id,
                    Reopen(actor=actor, reason="the customer replied by email"),
                    _key(mail.message_id, "reopen"),
                )
            except ApiError as exc:
                if exc.status == 409:
                    return None  # the reopen window is over: a new ticket instead
                raise
        try:
            state = await self._update(
                ticket.id,
                Reply(actor=actor, body=body),
                _key(mail.message_id),
            )
        except ApiError as exc:
            if exc.status != 403:
                raise
            # A CC'd contact outside the requester's organisation may not write
            # public replies; staff still see what they said.
            note = AddNote(
                actor=SYSTEM, body=_fit(f"Email from {mail.sender}:\n\n{body}", BODY_MAX)
            )
            state = await self._update(ticket.id, note, _key(mail.message_id, "note"))
        return int(state.seq)

    async def _open(
        self,
        mail: ParsedMail,
        principal: Principal,
        mailbox: Mailbox | None,
        linked: Ticket | None,
    ) -> Outcome:
        subject = mail.clean_subject or "(no subject)"
        body = TicketCreate(
            type=TicketType(mailbox.record_type) if mailbox else TicketType.INCIDENT,
            subject=subject[:SUBJECT_MAX],
            description=_fit(mail.text, BODY_MAX),
        )
        async with self._sessions() as session:
            ticket = await ticket_actions.create_ticket(
                session,
                self._tickets,
                principal,
                body,
                _key(mail.message_id, "open"),
                default_channel=Channel.EMAIL,
            )
        workflow_id = ticket.workflow_id
        seq = 1  # the message opened the ticket: its first event
        if mailbox is not None and mailbox.group_id is not None and not principal.is_staff:
            await self._update_tolerant(
                workflow_id,
                Assign(actor=SYSTEM, group_id=mailbox.group_id, note=f"mailbox {mailbox.name}"),
                _key(mail.message_id, "assign"),
            )
        if linked is not None:
            await self._update_tolerant(
                workflow_id,
                AddNote(
                    actor=SYSTEM,
                    body=(
                        f"Linked to ticket #{linked.number}: this email named it in its subject, "
                        f"but {mail.sender} is not on that ticket (or it is closed), "
                        "so it was opened as a ticket of its own."
                    ),
                ),
                _key(mail.message_id, "link"),
            )
        await self._attach(workflow_id, mail, principal)
        return Outcome(
            "processed", None, workflow_id, seq, linked.id if linked is not None else None
        )

    async def _update_tolerant(self, workflow_id: str, msg: BaseModel, uid: str) -> None:
        """An update whose refusal (e.g. a repeat on reprocessing) changes nothing worth failing."""
        try:
            await self._update(workflow_id, msg, uid)
        except ApiError as exc:
            if exc.status not in (403, 409, 422):
                raise
            log.info("%s on %s left out: %s", type(msg).__name__, workflow_id, exc.detail)

    async def _attach(self, workflow_id: str, mail: ParsedMail, principal: Principal) -> None:
        """Store every attachment within the size limit and record it on the ticket."""
        limit = self._settings.max_attachment_bytes
        too_large: list[str] = []
        for index, part in enumerate(mail.attachments):
            filename = clean_filename(part.filename)
            if len(part.data) > limit:
                too_large.append(f"{filename} ({len(part.data) // 1024} KiB)")
                continue
            attachment_id = uuid.uuid5(_ATTACH_NAMESPACE, f"{mail.message_id}\x00{index}")
            async with self._sessions() as session:
                await session.execute(
                    insert(Attachment)
                    .values(
                        id=attachment_id,
                        ticket_id=workflow_id,
                        filename=filename,
                        content_type=part.content_type,
                        size=len(part.data),
                        sha256=hashlib.sha256(part.data).hexdigest(),
                        public=True,
                        data=part.data,
                        uploaded_by=principal.id,
                    )
                    .on_conflict_do_nothing(index_elements=["id"])
                )
                await session.commit()
            msg = Attach(
                actor=principal.actor(),
                attachment_id=str(attachment_id),
                filename=filename,
                content_type=part.content_type,
                size=len(part.data),
            )
            uid = _key(mail.message_id, f"attach-{index}")
            try:
                await self._update(workflow_id, msg, uid)
            except ApiError as exc:
                if exc.status != 403:
                    log.info("attachment %s left out: %s", filename, exc.detail)
                    continue
                # Sent by a CC'd contact who may not attach: the desk records it.
                msg.actor = SYSTEM
                await self._update_tolerant(workflow_id, msg, uid + "-desk")
        if too_large:
            note = AddNote(
                actor=SYSTEM,
                body=(
                    f"Attachments over the limit of {limit // 1024} KiB were not stored: "
                    f"{', '.join(too_large)}. The full message is kept in the mail log."
                ),
            )
            await self._update_tolerant(workflow_id, note, _key(mail.message_id, "too-large"))

    async def _record_bounces(self, mail: ParsedMail) -> None:
        if not mail.bounced:
            return
        async with self._sessions() as session:
            for address, diagnostic in mail.bounced:
                await session.execute(
                    update(User)
                    .where(User.email == address)
                    .values(
                        mail_bounced_at=datetime.now(UTC),
                        mail_bounce_reason=diagnostic or "delivery failed",
                    )
                )
            await session.commit()
