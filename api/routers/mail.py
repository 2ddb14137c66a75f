"""Mail administration (admins only): mailboxes to poll, the quarantine of unreadable mail,
and the templates outgoing mail is written from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from api.deps import AdminUser, SessionDep, SettingsDep, StaffUser, TemporalDep, TicketsDep
from api.mail.process import MailProcessor
from api.mail.schemas import (
    MailboxCreate,
    MailboxPublic,
    MailMessagePublic,
    MailTemplatePreview,
    MailTemplatePublic,
    MailTemplateSet,
    MailTemplateText,
    QuarantinedPublic,
    Reprocessed,
    TemplateKind,
    TemplatePart,
)
from api.schemas import MAX_BIGINT, MAX_INT, Language
from api.services import mail as service
from api.services import mail_templates as templates

MailboxId = Annotated[int, Path(ge=1, le=MAX_INT)]
MessageId = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="The stored message's id")]

mailboxes_router = APIRouter(prefix="/mailboxes", tags=["mail"])
quarantine_router = APIRouter(prefix="/mail/quarantine", tags=["mail"])
messages_router = APIRouter(prefix="/mail/messages", tags=["mail"])
templates_router = APIRouter(prefix="/mail/templates", tags=["mail"])


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


# Typed as APIRouter's `responses` parameter, whose OpenAPI fragments are free-form.
_RAW: dict[int | str, dict[str, Any]] = {200: {"content": {"message/rfc822": {}}}}


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
    tickets: TicketsDep,
    settings: SettingsDep,
) -> Reprocessed:
    """Process a quarantined message again; it leaves the quarantine unless it fails again."""
    processor = MailProcessor(request.app.state.sessions, tickets, settings)
    return await service.reprocess(session, processor, message_id)


TemplateLanguage = Annotated[
    Language, Path(description="e.g. de; a new language is added by saving a part in it")
]
_PART = "/{language}/{kind}/{part}"


@templates_router.get("")
async def list_templates(
    user: AdminUser, session: SessionDep, settings: SettingsDep
) -> list[MailTemplateSet]:
    """Every language and kind of mail; whether each part is stored, in the folder or built in."""
    return await templates.list_templates(
        session, settings.mail_templates_dir, settings.mail_language
    )


@templates_router.get(_PART)
async def get_template(
    language: TemplateLanguage,
    kind: TemplateKind,
    part: TemplatePart,
    user: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
) -> MailTemplatePublic:
    """One part: the text in effect and the built-in text."""
    return await templates.get_template(
        session, language, kind, part, settings.mail_templates_dir, settings.mail_language
    )


@templates_router.put(_PART)
async def save_template(
    language: TemplateLanguage,
    kind: TemplateKind,
    part: TemplatePart,
    body: MailTemplateText,
    user: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
) -> MailTemplatePublic:
    """Store an admin's text for one part; 422 on body (with the line) if it does not render."""
    return await templates.save_template(
        session,
        user,
        language,
        kind,
        part,
        body.body,
        templates_dir=settings.mail_templates_dir,
        default=settings.mail_language,
        desk_name=settings.mail_from_name,
    )


@templates_router.delete(_PART, status_code=status.HTTP_204_NO_CONTENT)
async def reset_template(
    language: TemplateLanguage,
    kind: TemplateKind,
    part: TemplatePart,
    user: AdminUser,
    session: SessionDep,
) -> None:
    """Delete the stored text: the folder's or the built-in text applies again."""
    await templates.reset_template(session, language, kind, part)


@templates_router.post(_PART + "/preview")
async def preview_template(
    language: TemplateLanguage,
    kind: TemplateKind,
    part: TemplatePart,
    body: MailTemplateText,
    user: AdminUser,
    settings: SettingsDep,
) -> MailTemplatePreview:
    """Render a text with sample values of its kind, without storing it."""
    return templates.preview(language, kind, part, body.body, settings.mail_from_name)
