"""Mail administration: mailboxes (and their polling workflows) and the quarantine."""

from __future__ import annotations

import ssl
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from api.auth import Principal
from api.errors import ApiError, missing, refused
from api.mail.process import MailProcessor, MailUnavailable
from api.mail.schemas import (
    MailboxCreate,
    MailboxPublic,
    MailMessagePublic,
    QuarantinedPublic,
    Reprocessed,
)
from api.services.tickets import get_row
from models import Group, Mailbox, MailMessage, secrets
from workflows import ids
from workflows.choices import N_
from workflows.mailbox import MailboxWorkflow, PollMailbox


def mailbox_public(mailbox: Mailbox) -> MailboxPublic:
    return MailboxPublic.model_validate(
        {
            **{f: getattr(mailbox, f) for f in MailboxPublic.model_fields if hasattr(mailbox, f)},
            "password_stored": mailbox.password_encrypted is not None,
        }
    )


async def start_polling(client: Client, mailbox_id: int) -> None:
    """Start the mailbox's polling workflow; one already running is left as it is."""
    await client.start_workflow(
        MailboxWorkflow.run,
        PollMailbox(mailbox_id=mailbox_id),
        id=ids.mailbox_workflow_id(mailbox_id),
        task_queue=ids.TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def _check_group(session: AsyncSession, group_id: int | None) -> None:
    if group_id is not None and await session.get(Group, group_id) is None:
        raise refused(
            422,
            N_("%(name)s %(value)s is not a group"),
            field="group_id",
            code="invalid_field",
            name="group_id",
            value=group_id,
        )


def _values(body: MailboxCreate, secret_key: str | None, *, creating: bool) -> dict[str, Any]:
    """The row's columns; the password encrypted, or named, or (PUT, neither given) kept."""
    if body.password is not None and body.password_env is not None:
        raise refused(
            422,
            N_("give either password or password_env, not both"),
            field="password",
            code="invalid_field",
        )
    if creating and body.password is None and body.password_env is None:
        raise refused(
            422,
            N_("password or password_env is required"),
            field="password_env",
            code="invalid_field",
        )
    if body.tls and body.starttls:
        raise refused(
            422,
            N_("choose tls (implicit TLS) or starttls, not both"),
            field="starttls",
            code="invalid_field",
        )
    if body.ca_certificate is not None:
        if not (body.tls or body.starttls):
            raise refused(
                422,
                N_("ca_certificate needs tls or starttls: without TLS no certificate is checked"),
                field="ca_certificate",
                code="invalid_field",
            )
        try:
            ssl.create_default_context(cadata=body.ca_certificate)
        except (ssl.SSLError, ValueError) as exc:
            # The SSL library's account of the fault is English: a parameter, as it stands.
            raise refused(
                422,
                N_(
                    "ca_certificate is not a PEM certificate (%(fault)s); paste the CA's "
                    "-----BEGIN CERTIFICATE----- block"
                ),
                field="ca_certificate",
                code="invalid_field",
                fault=str(exc),
            ) from None
    values = body.model_dump(exclude={"password"})
    values["address"] = str(body.address).lower()
    values["record_type"] = body.record_type.value
    if body.password is not None:
        try:
            values["password_encrypted"] = secrets.encrypt(secret_key, body.password)
        except secrets.SecretKeyError as exc:
            raise ApiError(422, str(exc), field="password", code="invalid_field") from exc
        values["password_env"] = None
    elif body.password_env is not None:
        values["password_encrypted"] = None
    else:
        del values["password_env"]  # keep whatever is stored
    return values


async def list_mailboxes(session: AsyncSession) -> list[MailboxPublic]:
    rows = await session.scalars(select(Mailbox).order_by(Mailbox.name))
    return [mailbox_public(m) for m in rows]


async def get_mailbox(session: AsyncSession, mailbox_id: int) -> Mailbox:
    mailbox = await session.get(Mailbox, mailbox_id)
    if mailbox is None:
        raise missing(N_("mailbox %(id)s not found"), id=mailbox_id)
    return mailbox


async def _save(session: AsyncSession, mailbox: Mailbox, name: str) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise refused(
            409,
            N_("a mailbox named %(name)s already exists"),
            field="name",
            code="conflict",
            name=repr(name),
        ) from exc
    await session.refresh(mailbox)


async def create_mailbox(
    session: AsyncSession, client: Client, body: MailboxCreate, secret_key: str | None
) -> MailboxPublic:
    """Store the mailbox and, when active, start polling it."""
    await _check_group(session, body.group_id)
    mailbox = Mailbox(**_values(body, secret_key, creating=True))
    session.add(mailbox)
    await _save(session, mailbox, body.name)
    if mailbox.active:
        await start_polling(client, mailbox.id)
    return mailbox_public(mailbox)


async def replace_mailbox(
    session: AsyncSession,
    client: Client,
    mailbox_id: int,
    body: MailboxCreate,
    secret_key: str | None,
) -> MailboxPublic:
    """Change the mailbox; its workflow reads the new settings on its next round."""
    mailbox = await get_mailbox(session, mailbox_id)
    await _check_group(session, body.group_id)
    for name, value in _values(body, secret_key, creating=False).items():
        setattr(mailbox, name, value)
    await _save(session, mailbox, body.name)
    if mailbox.active:
        await start_polling(client, mailbox.id)
    return mailbox_public(mailbox)


async def delete_mailbox(session: AsyncSession, mailbox_id: int) -> None:
    """Remove it; its workflow ends on its next round. Received mail stays."""
    mailbox = await get_mailbox(session, mailbox_id)
    await session.delete(mailbox)
    await session.commit()


async def list_quarantine(session: AsyncSession, limit: int) -> list[QuarantinedPublic]:
    rows = await session.execute(
        select(
            MailMessage.id,
            MailMessage.message_id,
            MailMessage.sender,
            MailMessage.subject,
            MailMessage.reason,
            func.length(MailMessage.raw).label("size"),
            MailMessage.mailbox_id,
            MailMessage.created_at,
            MailMessage.processed_at,
        )
        .where(MailMessage.status == "quarantined")
        .order_by(MailMessage.created_at.desc(), MailMessage.id.desc())
        .limit(limit)
    )
    return [QuarantinedPublic.model_validate(row, from_attributes=True) for row in rows]


async def quarantined(session: AsyncSession, message_id: int) -> MailMessage:
    message = await session.get(MailMessage, message_id)
    if message is None or message.status != "quarantined":
        raise missing(N_("quarantined message %(id)s not found"), id=message_id)
    return message


async def reprocess(
    session: AsyncSession, processor: MailProcessor, message_id: int
) -> Reprocessed:
    """Act on a quarantined message again (after fixing what its reason names)."""
    await quarantined(session, message_id)
    try:
        received = await processor.process(message_id)
    except MailUnavailable as exc:
        raise refused(
            503, N_("the desk cannot process mail right now; try again"), code="unavailable"
        ) from exc
    return Reprocessed(
        id=message_id,
        status=received.status,
        reason=received.reason,
        ticket_number=received.ticket_number,
    )


async def ticket_mail(
    session: AsyncSession, principal: Principal, number: int
) -> list[MailMessagePublic]:
    """The mail a ticket received and sent, oldest first (staff only: it is the whole
    message, quoted history and CC'd addresses included)."""
    ticket = await get_row(session, principal, number)
    rows = await session.execute(
        select(
            MailMessage.id,
            MailMessage.direction,
            MailMessage.message_id,
            MailMessage.status,
            MailMessage.sender,
            MailMessage.subject,
            MailMessage.seq,
            func.length(MailMessage.raw).label("size"),
            MailMessage.created_at,
        )
        .where(MailMessage.ticket_id == ticket.id)
        .order_by(MailMessage.created_at, MailMessage.id)
    )
    return [MailMessagePublic.model_validate(row, from_attributes=True) for row in rows]


async def stored_message(session: AsyncSession, message_id: int) -> MailMessage:
    message = await session.get(MailMessage, message_id)
    if message is None:
        raise missing(N_("mail message %(id)s not found"), id=message_id)
    return message
