"""Tickets: create, list, read, timeline, comments and attachments. Each action's own
endpoint is made from the action registry (`api.routers.ticket_actions`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Path, Query, Response, UploadFile, status

from api.deps import CurrentUser, SessionDep, SettingsDep, TicketsDep
from api.errors import refused
from api.schemas import (
    MAX_BIGINT,
    MAX_INT,
    SEARCH_MAX,
    AttachmentPublic,
    CommentCreate,
    CommentPublic,
    EventPublic,
    Queue,
    SlaFilter,
    SortKey,
    TicketCreate,
    TicketPage,
    TicketPublic,
)
from api.services import attachments, ticket_actions
from api.services import tickets as service
from workflows.choices import N_, PRIORITIES, Status, TicketType

router = APIRouter(prefix="/tickets", tags=["tickets"])

TicketNumber = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="The ticket's number")]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Repeat a request with the same key to get its first result again",
    ),
]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_ticket(
    body: TicketCreate,
    user: CurrentUser,
    session: SessionDep,
    tickets: TicketsDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Open a ticket (retry-safe with Idempotency-Key)."""
    return await ticket_actions.create_ticket(session, tickets, user, body, idempotency_key)


@router.get("")
async def list_tickets(
    user: CurrentUser,
    session: SessionDep,
    queue: Queue = "all",
    status: Annotated[list[Status], Query()] = [],  # noqa: B006
    priority: Annotated[list[int], Query()] = [],  # noqa: B006
    type: Annotated[list[TicketType], Query()] = [],  # noqa: B006
    sla: Annotated[list[SlaFilter], Query(description="SLA state")] = [],  # noqa: B006
    q: Annotated[str | None, Query(max_length=SEARCH_MAX, pattern=r"^[^\x00]*$")] = None,
    group_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    assignee_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    sort: SortKey = "-updated_at",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 25,
) -> TicketPage:
    """List tickets the caller may see, filtered and keyset-paginated."""
    for p in priority:
        if p not in PRIORITIES:
            raise refused(
                422, N_("priority must be one of 1..5"), field="priority", code="invalid_field"
            )
    filters = service.TicketFilters(
        queue=queue,
        status=status,
        priority=priority,
        type=type,
        sla=sla,
        q=q,
        group_id=group_id,
        assignee_id=assignee_id,
        sort=sort,
        limit=limit,
    )
    return await service.list_tickets(session, user, filters, cursor)


@router.get("/{number}")
async def get_ticket(number: TicketNumber, user: CurrentUser, session: SessionDep) -> TicketPublic:
    """One ticket with the actions the caller may take."""
    return await service.get_ticket(session, user, number)


@router.get("/{number}/timeline")
async def get_timeline(
    number: TicketNumber, user: CurrentUser, session: SessionDep
) -> list[EventPublic]:
    """Every change, oldest first (customers see public entries only)."""
    return await service.timeline(session, user, number)


@router.get("/{number}/comments")
async def list_comments(
    number: TicketNumber, user: CurrentUser, session: SessionDep
) -> list[CommentPublic]:
    """Replies and (for staff) internal notes."""
    return await service.comments(session, user, number)


@router.post("/{number}/comments")
async def add_comment(
    number: TicketNumber,
    body: CommentCreate,
    user: CurrentUser,
    session: SessionDep,
    tickets: TicketsDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Reply publicly (with files of the ticket), or add an internal note with `public: false`."""
    return await ticket_actions.comment(session, tickets, user, number, body, idempotency_key)


@router.get("/{number}/attachments")
async def list_attachments(
    number: TicketNumber, user: CurrentUser, session: SessionDep
) -> list[AttachmentPublic]:
    """Files on the ticket (customers see public ones only)."""
    return await attachments.list_attachments(session, user, number)


@router.post("/{number}/attachments", status_code=status.HTTP_201_CREATED)
async def add_attachment(
    number: TicketNumber,
    user: CurrentUser,
    session: SessionDep,
    tickets: TicketsDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The file; its content type is kept")],
    public: Annotated[bool, Form()] = True,
) -> AttachmentPublic:
    """Upload a file to the ticket (multipart, size-limited)."""
    return await attachments.add_attachment(
        session, tickets, user, number, file, public=public, max_bytes=settings.max_attachment_bytes
    )


attachments_router = APIRouter(prefix="/attachments", tags=["tickets"])


@attachments_router.get("/{attachment_id}", response_class=Response)
async def download_attachment(
    attachment_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Response:
    """Download a file with its original content type (always as an attachment)."""
    attachment = await attachments.get_attachment(session, user, attachment_id)
    return attachments.attachment_response(attachment)
