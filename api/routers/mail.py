"""Mail administration (admins only): mailboxes to poll and the quarantine of unreadable mail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from api.deps import AdminUser, SessionDep, SettingsDep, StaffUser, TemporalDep
from api.mail.process import MailProcessor
from api.mail.schemas import (
    MailboxCreate,
    MailboxPublic,
    MailMessagePublic,
    QuarantinedPublic,
    Reprocessed,
)
from api.schemas import MAX_BIGINT, MAX_INT
from api.services import mail as service

MailboxId = Annotated[int, Path(ge=1, le=MAX_INT)]
MessageId = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="The stored message's id")]

mailboxes_router = APIRouter(prefix="/mailboxes", tags=["mail"])
quarantine_router = APIRouter(prefix="/mail/quarantine", tags=["mail"])
messages_router = APIRouter(prefix="/mail/messages", tags=["mail"])


@mailboxes_router.get("")
async def list_mailboxes(user: AdminUser, session: SessionDep) -> list[MailboxPublic]:
    """Every configured mailbox with its last poll and error."""
    return await service.list_mailboxes(session)


@mailboxes_router.post("", status_code=status.HTTP_201_CREATED)
async def create_mailbox(
    body: MailboxCreate,
    user: AdminUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> MailboxPublic:
    """Add a mailbox; polling starts at once when it is active."""
    return await service.create_mailbox(session, client, body, settings.secret_key)


@mailboxes_router.get("/{mailbox_id}")
async def get_mailbox(mailbox_id: MailboxId, user: AdminUser, session: SessionDep) -> MailboxPublic:
    """One mailbox."""
    return service.mailbox_public(await service.get_mailbox(session, mailbox_id))


@mailboxes_router.put("/{mailbox_id}")
async def replace_mailbox(
    mailbox_id: MailboxId,
    body: MailboxCreate,
    user: AdminUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> MailboxPublic:
    """Change a mailbox; the next poll uses the new settings."""
    return await service.replace_mailbox(session, client, mailbox_id, body, settings.secret_key)


@mailboxes_router.delete("/{mailbox_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_mailbox(mailbox_id: MailboxId, user: AdminUser, session: SessionDep) -> None:
    """Remove a mailbox; polling stops, received mail stays."""
    await service.delete_mailbox(session, mailbox_id)


@quarantine_router.get("")
async def list_quarantine(
    user: AdminUser, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[QuarantinedPublic]:
    """Messages the desk could not act on, newest first, with the reason."""
    return await service.list_quarantine(session, limit)


def _raw(message_id: int, raw: bytes) -> Response:
    return Response(
        content=raw,
        media_type="message/rfc822",
        headers={
            "Content-Disposition": f'attachment; filename="message-{message_id}.eml"',
            "X-Content-Type-Options": "nosniff",
        },
    )


_RAW = {200: {"content": {"message/rfc822": {}}}}


@quarantine_router.get("/{message_id}/raw", response_class=Response, responses=_RAW)
async def raw_message(message_id: MessageId, user: AdminUser, session: SessionDep) -> Response:
    """The message exactly as received."""
    return _raw(message_id, (await service.quarantined(session, message_id)).raw)


@messages_router.get("")
async def ticket_mail(
    user: StaffUser,
    session: SessionDep,
    ticket: Annotated[int, Query(ge=1, le=MAX_BIGINT, description="The ticket's number")],
) -> list[MailMessagePublic]:
    """The mail a ticket received and sent, oldest first."""
    return await service.ticket_mail(session, user, ticket)


@messages_router.get("/{message_id}/raw", response_class=Response, responses=_RAW)
async def raw_stored_message(
    message_id: MessageId, user: StaffUser, session: SessionDep
) -> Response:
    """A stored message exactly as received or sent: the full text the ticket shows cut."""
    return _raw(message_id, (await service.stored_message(session, message_id)).raw)


@quarantine_router.post("/{message_id}/reprocess")
async def reprocess(
    message_id: MessageId,
    request: Request,
    user: AdminUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Reprocessed:
    """Process a quarantined message again; it leaves the quarantine unless it fails again."""
    processor = MailProcessor(request.app.state.sessions, client, settings)
    return await service.reprocess(session, processor, message_id)
