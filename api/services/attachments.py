"""Files on tickets: upload (stored first, then recorded by the ticket's workflow), list,
download. Customers see only the public files of tickets they can see."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any
from urllib.parse import quote

from fastapi import Response
from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from api.auth import Principal
from api.errors import missing, refused
from api.schemas import AttachmentPublic
from api.services import tickets as views
from api.services.ticket_actions import act
from models import Attachment, Ticket
from workflows.choices import N_
from workflows.ticket.client import TicketClient
from workflows.ticket.messages import Attach

_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")
_CHUNK = 64 * 1024


def _attachment_public(a: Attachment) -> AttachmentPublic:
    return AttachmentPublic(
        id=a.id,
        filename=a.filename,
        content_type=a.content_type,
        size=a.size,
        sha256=a.sha256,
        public=a.public,
        created_at=a.created_at,
        uploaded_by=a.uploaded_by,
    )


def clean_filename(name: str | None) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    return base[:255] or "attachment"


async def add_attachment(
    session: AsyncSession,
    tickets: TicketClient,
    principal: Principal,
    number: int,
    upload: UploadFile,
    *,
    public: bool,
    max_bytes: int,
) -> AttachmentPublic:
    """Store the file, then have the workflow record it. A rejected file is deleted again."""
    ticket = await views.get_row(session, principal, number)
    hasher = hashlib.sha256()
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise refused(
                413,
                N_("file is larger than the limit of %(limit)s KiB"),
                field="file",
                code="too_large",
                limit=max_bytes // 1024,
            )
        hasher.update(chunk)
        chunks.append(chunk)
    if size == 0:
        raise refused(422, N_("the file is empty"), field="file", code="invalid_field")
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    if not _MIME.match(content_type):
        content_type = "application/octet-stream"
    attachment = Attachment(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        filename=clean_filename(upload.filename),
        content_type=content_type,
        size=size,
        sha256=hasher.hexdigest(),
        public=public or not principal.is_staff,
        data=b"".join(chunks),
        uploaded_by=principal.id,
    )
    attachment_id = attachment.id
    session.add(attachment)
    await session.commit()
    msg = Attach(
        actor=principal.actor(),
        attachment_id=str(attachment_id),
        filename=attachment.filename,
        content_type=content_type,
        size=size,
        public=attachment.public,
    )
    try:
        await act(session, tickets, principal, number, msg)
    except BaseException:
        await session.rollback()
        await session.execute(delete(Attachment).where(Attachment.id == attachment_id))
        await session.commit()
        raise
    await session.refresh(attachment)
    return _attachment_public(attachment)


def _attachment_visible(principal: Principal) -> Any:
    if principal.is_staff:
        return Attachment.seq.is_not(None)
    return and_(Attachment.seq.is_not(None), Attachment.public.is_(True))


async def list_attachments(
    session: AsyncSession, principal: Principal, number: int
) -> list[AttachmentPublic]:
    ticket = await views.get_row(session, principal, number)
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.ticket_id == ticket.id, _attachment_visible(principal))
        .order_by(Attachment.created_at)
    )
    return [_attachment_public(a) for a in rows]


async def get_attachment(
    session: AsyncSession, principal: Principal, attachment_id: uuid.UUID
) -> Attachment:
    attachment = await session.scalar(
        select(Attachment)
        .join(Ticket, Ticket.id == Attachment.ticket_id)
        .where(
            Attachment.id == attachment_id,
            views.visible_to(principal),
            _attachment_visible(principal),
        )
    )
    if attachment is None:
        raise missing(N_("attachment not found"))
    return attachment


def attachment_response(attachment: Attachment) -> Response:
    """The file with its stored content type, always downloaded, never rendered by the browser."""
    return Response(
        content=attachment.data,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, max-age=0",
        },
    )
