"""Tickets: create, list, read, timeline, comments, attachments and one endpoint per action."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Path, Query, Response, UploadFile, status

from api.deps import CurrentUser, SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.schemas import (
    MAX_BIGINT,
    MAX_INT,
    SEARCH_MAX,
    AssignBody,
    AttachmentPublic,
    ClassifyBody,
    CommentCreate,
    CommentPublic,
    Empty,
    EventPublic,
    PendBody,
    Queue,
    ReopenBody,
    ResolveBody,
    SlaFilter,
    SortKey,
    TicketCreate,
    TicketPage,
    TicketPublic,
)
from api.services import tickets as service
from workflows.choices import Status, TicketType
from workflows.ticket_model import (
    Assign,
    Close,
    Pend,
    Reopen,
    Resolve,
    Resume,
)

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
    client: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Open a ticket (retry-safe with Idempotency-Key)."""
    return await service.create_ticket(session, client, user, body, idempotency_key)


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
        if p not in (1, 2, 3, 4, 5):
            raise ApiError(
                422, "priority must be one of 1..5", field="priority", code="invalid_field"
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
    client: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Reply publicly (with files of the ticket), or add an internal note with `public: false`."""
    return await service.comment(session, client, user, number, body, idempotency_key)


@router.post("/{number}/classify")
async def classify(
    number: TicketNumber,
    body: ClassifyBody,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Set impact, urgency and service; priority and SLA targets follow."""
    return await service.classify(session, client, user, number, body, idempotency_key)


@router.post("/{number}/assign")
async def assign(
    number: TicketNumber,
    body: AssignBody,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Set group and assignee (null clears)."""
    msg = Assign(
        actor=user.actor(), group_id=body.group_id, assignee_id=body.assignee_id, note=body.note
    )
    return await service.assign(session, client, user, number, msg, idempotency_key)


@router.post("/{number}/pend")
async def pend(
    number: TicketNumber,
    body: PendBody,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Set pending with a reason."""
    msg = Pend(actor=user.actor(), reason=body.reason, awaiting_customer=body.awaiting_customer)
    return await service.act(session, client, user, number, msg, idempotency_key)


@router.post("/{number}/resume")
async def resume(
    number: TicketNumber,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    body: Empty | None = None,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Resume a pending ticket."""
    return await service.act(
        session, client, user, number, Resume(actor=user.actor()), idempotency_key
    )


@router.post("/{number}/resolve")
async def resolve(
    number: TicketNumber,
    body: ResolveBody,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Resolve with a resolution code; the reopen window starts."""
    msg = Resolve(actor=user.actor(), resolution_code=body.resolution_code.value, note=body.note)
    return await service.act(session, client, user, number, msg, idempotency_key)


@router.post("/{number}/reopen")
async def reopen(
    number: TicketNumber,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    body: ReopenBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Reopen a resolved ticket within the reopen window."""
    msg = Reopen(actor=user.actor(), reason=body.reason if body else "")
    return await service.act(session, client, user, number, msg, idempotency_key)


@router.post("/{number}/close")
async def close(
    number: TicketNumber,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    body: Empty | None = None,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """Close a resolved ticket before its reopen window ends."""
    return await service.act(
        session, client, user, number, Close(actor=user.actor()), idempotency_key
    )


@router.get("/{number}/attachments")
async def list_attachments(
    number: TicketNumber, user: CurrentUser, session: SessionDep
) -> list[AttachmentPublic]:
    """Files on the ticket (customers see public ones only)."""
    return await service.list_attachments(session, user, number)


@router.post("/{number}/attachments", status_code=status.HTTP_201_CREATED)
async def add_attachment(
    number: TicketNumber,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The file; its content type is kept")],
    public: Annotated[bool, Form()] = True,
) -> AttachmentPublic:
    """Upload a file to the ticket (multipart, size-limited)."""
    return await service.add_attachment(
        session, client, user, number, file, public=public, max_bytes=settings.max_attachment_bytes
    )


attachments_router = APIRouter(prefix="/attachments", tags=["tickets"])


@attachments_router.get("/{attachment_id}", response_class=Response)
async def download_attachment(
    attachment_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Response:
    """Download a file with its original content type (always as an attachment)."""
    attachment = await service.get_attachment(session, user, attachment_id)
    return service.attachment_response(attachment)
