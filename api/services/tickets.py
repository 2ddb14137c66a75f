"""Ticket service: create, act, list and read, for the API and the web UI alike.

Writes go to the ticket's workflow as Updates (the workflow is the only writer);
reads come from the PostgreSQL projection.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Response, UploadFile
from sqlalchemy import Select, and_, delete, false, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from api.auth import Principal
from api.errors import ApiError, from_temporal, from_violation, not_found
from api.schemas import (
    AttachmentPublic,
    ClassifyBody,
    CommentCreate,
    CommentPublic,
    EventPublic,
    GroupRef,
    ServiceRef,
    SlaClockPublic,
    TicketCreate,
    TicketPage,
    TicketPublic,
    UserRef,
)
from api.services.sla import check_service
from api.temporal import send_action
from api.text import sanitise
from models import Attachment, Group, Service, Ticket, TicketEventRow, User
from workflows import ids
from workflows.choices import Channel, Role, Status, TicketType
from workflows.lifecycle import RuleViolation, ViolationKind, check_open, legal_actions
from workflows.sla import CLOCK_LABELS, ClockName, clock_report
from workflows.sla import summary as sla_summary
from workflows.ticket import TicketWorkflow
from workflows.ticket_model import (
    AddNote,
    Assign,
    Attach,
    Classify,
    OpenTicket,
    Reply,
    TicketInput,
    TicketState,
    action_name,
)

Requester = aliased(User, name="requester")
Assignee = aliased(User, name="assignee")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass
class TicketFilters:
    queue: str = "all"
    status: Sequence[Status] = ()
    priority: Sequence[int] = ()
    type: Sequence[TicketType] = ()
    sla: Sequence[str] = ()
    q: str | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    requester_id: int | None = None
    sort: str = "-updated_at"
    limit: int = 25


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ApiError(
            422,
            "Idempotency-Key must be 1 to 200 printable ASCII characters without spaces",
            field="Idempotency-Key",
            code="invalid_field",
        )
    return key


def _update_id(principal: Principal, key: str | None) -> str | None:
    if key is None:
        return None
    return "req-" + hashlib.sha256(f"{principal.id}\x00{key}".encode()).hexdigest()[:32]


# ---------------------------------------------------------------- reading


def visible_to(principal: Principal) -> Any:
    """SQL condition: tickets this caller may see. Customers see their own, or their
    organisation's when it shares tickets; staff see all."""
    if principal.is_staff:
        return True
    own = Ticket.requester_id == principal.id
    if principal.organisation_shared and principal.organisation_id is not None:
        return or_(own, Ticket.organisation_id == principal.organisation_id)
    return own


_WITH_NAMES: Select[Any] = (
    select(Ticket, Requester.name, Assignee.name, Group.name, Service.name)
    .outerjoin(Requester, Requester.id == Ticket.requester_id)
    .outerjoin(Assignee, Assignee.id == Ticket.assignee_id)
    .outerjoin(Group, Group.id == Ticket.group_id)
    .outerjoin(Service, Service.id == Ticket.service_id)
)
"""Tickets with the names they show (built once: statements are immutable)."""


def _sla_clocks(report: dict[str, Any] | None) -> list[SlaClockPublic]:
    report = report or {}
    return [
        SlaClockPublic(name=name, label=CLOCK_LABELS[ClockName(name)], **report[name])
        for name in (c.value for c in ClockName)
        if name in report
    ]


def state_of(ticket: Ticket) -> TicketState:
    """The projection row as the workflow's state model (for the pure rules)."""
    return TicketState(
        id=ticket.id,
        number=ticket.number,
        seq=ticket.seq,
        status=Status(ticket.status),
        type=TicketType(ticket.type),
        channel=Channel(ticket.channel),
        subject=ticket.subject,
        description=ticket.description,
        requester_id=ticket.requester_id,
        organisation_id=ticket.organisation_id,
        group_id=ticket.group_id,
        assignee_id=ticket.assignee_id,
        impact=ticket.impact,
        urgency=ticket.urgency,
        priority=ticket.priority,
        pending_reason=ticket.pending_reason,
        resolution_code=ticket.resolution_code,
        resolution_note=ticket.resolution_note,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        reopen_until=ticket.reopen_until,
        reopen_count=ticket.reopen_count,
        service_id=ticket.service_id,
        major=ticket.major,
        parent_number=ticket.parent_number,
        idle_since=ticket.idle_since,
    )


@dataclass(frozen=True)
class _Shown:
    """What a ticket shows besides its state: names, and the SLA as the projection has it."""

    requester: str | None
    assignee: str | None
    group: str | None
    service: str | None
    sla_state: str
    sla_due_at: datetime | None
    sla_clocks: dict[str, Any] | None


def _present(state: TicketState, shown: _Shown, principal: Principal) -> TicketPublic:
    return TicketPublic(
        number=state.number,
        workflow_id=state.id,
        type=state.type,
        status=state.status,
        channel=state.channel,
        subject=state.subject,
        description=state.description,
        requester=UserRef(id=state.requester_id, name=shown.requester)
        if state.requester_id is not None
        else None,
        organisation_id=state.organisation_id,
        group=GroupRef(id=state.group_id, name=shown.group) if state.group_id else None,
        assignee=UserRef(id=state.assignee_id, name=shown.assignee)
        if state.assignee_id is not None
        else None,
        impact=state.impact,
        urgency=state.urgency,
        priority=state.priority,
        pending_reason=state.pending_reason,
        resolution_code=state.resolution_code,
        resolution_note=state.resolution_note,
        created_at=state.created_at,
        updated_at=state.updated_at,
        first_response_at=state.first_response_at,
        resolved_at=state.resolved_at,
        closed_at=state.closed_at,
        reopen_until=state.reopen_until,
        reopen_count=state.reopen_count,
        service=ServiceRef(id=state.service_id, name=shown.service or "")
        if state.service_id is not None
        else None,
        sla_state=shown.sla_state,
        sla_due_at=shown.sla_due_at,
        sla_clocks=_sla_clocks(shown.sla_clocks) if principal.is_staff else [],
        major=state.major,
        parent_number=state.parent_number,
        idle_since=state.idle_since if principal.is_staff else None,
        actions=legal_actions(state, principal.actor(), datetime.now(UTC)),
    )


def _public(row: Any, principal: Principal) -> TicketPublic:
    ticket, requester_name, assignee_name, group_name, service_name = row
    shown = _Shown(
        requester=requester_name,
        assignee=assignee_name,
        group=group_name,
        service=service_name,
        sla_state=ticket.sla_state,
        sla_due_at=ticket.sla_due_at,
        sla_clocks=ticket.sla_clocks,
    )
    return _present(state_of(ticket), shown, principal)


async def _public_of_state(
    session: AsyncSession,
    principal: Principal,
    state: TicketState,
    known: dict[tuple[type[Any], int | None], str | None] | None = None,
) -> TicketPublic:
    """The ticket as the workflow answered it, shown as a read of its row would show it.

    Names come from the caller or from rows the request already loaded (the
    session's identity map) or from `known` (a read of the row before the
    change); only a name the change itself chose (a routing rule's group, a new
    assignee) costs a query. The SLA columns are what the projection computed
    from the same state (`activities.projection`)."""
    names = known or {}

    async def name(model: type[User] | type[Group] | type[Service], key: int | None) -> str | None:
        if key is None:
            return None
        if model is User and key == principal.id:
            return principal.name
        if (model, key) in names:
            return names[(model, key)]
        row = await session.get(model, key)
        return row.name if row is not None else None

    summary = sla_summary(state.sla)
    shown = _Shown(
        requester=await name(User, state.requester_id),
        assignee=await name(User, state.assignee_id),
        group=await name(Group, state.group_id),
        service=await name(Service, state.service_id),
        sla_state=summary.state,
        sla_due_at=summary.due_at,
        sla_clocks=clock_report(state.sla, state.updated_at or datetime.now(UTC))
        if state.sla is not None
        else None,
    )
    return _present(state, shown, principal)


async def get_row(session: AsyncSession, principal: Principal, number: int) -> Ticket:
    ticket = await session.scalar(
        select(Ticket).where(Ticket.number == number, visible_to(principal))
    )
    if ticket is None:
        raise not_found(f"ticket #{number}")
    return ticket


async def get_ticket(session: AsyncSession, principal: Principal, number: int) -> TicketPublic:
    row = (
        await session.execute(_WITH_NAMES.where(Ticket.number == number, visible_to(principal)))
    ).one_or_none()
    if row is None:
        raise not_found(f"ticket #{number}")
    return _public(row, principal)


async def _by_workflow_id(session: AsyncSession, principal: Principal, wid: str) -> TicketPublic:
    row = (await session.execute(_WITH_NAMES.where(Ticket.id == wid))).one_or_none()
    if row is None:
        raise ApiError(503, "the ticket was not saved; try again", code="unavailable")
    return _public(row, principal)


NEVER = datetime(9999, 12, 31, tzinfo=UTC)
"""Sorts tickets without an SLA due instant after every ticket with one."""

_SORT_COLUMNS: dict[str, Any] = {
    "sla_due_at": func.coalesce(Ticket.sla_due_at, NEVER),
    "number": Ticket.number,
    "created_at": Ticket.created_at,
    "updated_at": Ticket.updated_at,
    "priority": Ticket.priority,
}


def _encode_cursor(value: Any, number: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, number])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, column: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, number = json.loads(base64.urlsafe_b64decode(padded))
        if column in ("created_at", "updated_at", "sla_due_at"):
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int):
            raise ValueError(value)
        if not isinstance(number, int):
            raise ValueError(number)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise ApiError(
            422, "cursor is not one this API handed out", field="cursor", code="invalid_field"
        ) from exc
    return value, number


def _filtered(principal: Principal, filters: TicketFilters) -> Select[Any]:
    query = _WITH_NAMES.where(visible_to(principal))
    if filters.queue == "mine":
        query = query.where(Ticket.assignee_id == principal.id)
    elif filters.queue == "groups":
        query = query.where(
            Ticket.group_id.in_(principal.group_ids) if principal.group_ids else false()
        )
    elif filters.queue == "unassigned":
        query = query.where(Ticket.assignee_id.is_(None))
    if filters.status:
        query = query.where(Ticket.status.in_([s.value for s in filters.status]))
    if filters.priority:
        query = query.where(Ticket.priority.in_(list(filters.priority)))
    if filters.type:
        query = query.where(Ticket.type.in_([t.value for t in filters.type]))
    if filters.sla:
        query = query.where(Ticket.sla_state.in_(list(filters.sla)))
    if filters.group_id is not None:
        query = query.where(Ticket.group_id == filters.group_id)
    if filters.assignee_id is not None:
        query = query.where(Ticket.assignee_id == filters.assignee_id)
    if filters.requester_id is not None:
        query = query.where(Ticket.requester_id == filters.requester_id)
    if filters.q:
        text = filters.q.strip()
        conditions = [Ticket.search.op("@@")(func.websearch_to_tsquery("simple", text))]
        number = text.lstrip("#")
        if number.isdigit() and len(number) < 18:
            conditions.append(Ticket.number == int(number))
        query = query.where(or_(*conditions))
    return query


async def list_tickets(
    session: AsyncSession, principal: Principal, filters: TicketFilters, cursor: str | None
) -> TicketPage:
    """One page of tickets, keyset-paginated on (sort column, number)."""
    descending = filters.sort.startswith("-")
    column_name = filters.sort.lstrip("-")
    column = _SORT_COLUMNS[column_name]
    query = _filtered(principal, filters)
    if cursor:
        value, number = _decode_cursor(cursor, column_name)
        key = tuple_(column, Ticket.number)
        query = query.where(key < (value, number) if descending else key > (value, number))
    if descending:
        query = query.order_by(column.desc(), Ticket.number.desc())
    else:
        query = query.order_by(column.asc(), Ticket.number.asc())
    rows = (await session.execute(query.limit(filters.limit + 1))).all()
    items = [_public(row, principal) for row in rows[: filters.limit]]
    next_cursor = None
    if len(rows) > filters.limit:
        last: Ticket = rows[filters.limit - 1][0]
        value = getattr(last, column_name)
        next_cursor = _encode_cursor(NEVER if value is None else value, last.number)
    return TicketPage(items=items, next_cursor=next_cursor)


async def count_tickets(session: AsyncSession, principal: Principal, filters: TicketFilters) -> int:
    query = _filtered(principal, filters).with_only_columns(func.count()).order_by(None)
    return int(await session.scalar(query) or 0)


def _author(row_actor_id: int | None, name: str | None) -> UserRef | None:
    return UserRef(id=row_actor_id, name=name or "") if row_actor_id is not None else None


async def timeline(
    session: AsyncSession, principal: Principal, number: int, kinds: Sequence[str] = ()
) -> list[EventPublic]:
    ticket = await get_row(session, principal, number)
    query = (
        select(TicketEventRow, User.name)
        .outerjoin(User, User.id == TicketEventRow.actor_id)
        .where(TicketEventRow.ticket_id == ticket.id)
        .order_by(TicketEventRow.seq)
    )
    if not principal.is_staff:
        query = query.where(TicketEventRow.public.is_(True))
    if kinds:
        query = query.where(TicketEventRow.kind.in_(kinds))
    rows = (await session.execute(query)).all()
    return [
        EventPublic(
            seq=event.seq,
            kind=event.kind,
            at=event.at,
            actor=_author(event.actor_id, name),
            actor_role=event.actor_role,
            public=event.public,
            data=event.data,
        )
        for event, name in rows
    ]


async def comments(session: AsyncSession, principal: Principal, number: int) -> list[CommentPublic]:
    events = await timeline(session, principal, number, kinds=("replied", "note_added"))
    return [
        CommentPublic(
            seq=e.seq,
            at=e.at,
            author=e.actor,
            public=e.public,
            body=str(e.data.get("body", "")),
            body_html=sanitise(str(e.data.get("body", ""))),
        )
        for e in events
    ]


# ---------------------------------------------------------------- writing


async def _check_people(
    session: AsyncSession, *, group_id: int | None, assignee_id: int | None
) -> None:
    if group_id is not None and await session.get(Group, group_id) is None:
        raise ApiError(
            422, f"group_id {group_id} is not a group", field="group_id", code="invalid_field"
        )
    if assignee_id is not None:
        assignee = await session.get(User, assignee_id)
        if assignee is None or not assignee.active or assignee.role == Role.CUSTOMER:
            raise ApiError(
                422,
                f"assignee_id {assignee_id} is not an active agent",
                field="assignee_id",
                code="invalid_field",
            )


async def create_ticket(
    session: AsyncSession,
    client: Client,
    principal: Principal,
    body: TicketCreate,
    idempotency_key: str | None,
    *,
    default_channel: Channel = Channel.API,
) -> TicketPublic:
    """Open a ticket. The same caller repeating the same Idempotency-Key gets the same ticket."""
    key = check_idempotency_key(idempotency_key)
    if principal.is_staff:
        requester_id = body.requester_id if body.requester_id is not None else principal.id
        if requester_id == principal.id:  # authenticated just now, so active
            organisation_id = principal.organisation_id
        else:
            requester = await session.get(User, requester_id)
            if requester is None or not requester.active:
                raise ApiError(
                    422,
                    f"requester_id {requester_id} is not an active user",
                    field="requester_id",
                    code="invalid_field",
                )
            organisation_id = requester.organisation_id
        await _check_people(session, group_id=body.group_id, assignee_id=body.assignee_id)
        await check_service(session, body.service_id)
        channel = body.channel or default_channel
    else:
        await check_service(session, body.service_id)
        for name in ("requester_id", "group_id", "assignee_id", "channel"):
            if getattr(body, name) is not None and not (
                name == "requester_id" and body.requester_id == principal.id
            ):
                raise ApiError(
                    403, f"customers cannot set {name}", field=name, code=ViolationKind.FORBIDDEN
                )
        requester_id = principal.id
        organisation_id = principal.organisation_id
        channel = Channel.PORTAL if default_channel == Channel.WEB else default_channel
    msg = OpenTicket(
        actor=principal.actor(),
        type=body.type,
        channel=channel,
        subject=body.subject,
        description=body.description,
        requester_id=requester_id,
        organisation_id=organisation_id,
        impact=body.impact,
        urgency=body.urgency,
        group_id=body.group_id if principal.is_staff else None,
        assignee_id=body.assignee_id if principal.is_staff else None,
        service_id=body.service_id,
    )
    try:
        check_open(msg)
    except RuleViolation as exc:
        raise from_violation(exc) from None
    workflow_id = ids.ticket_workflow_id(f"user:{principal.id}", key)
    operation = WithStartWorkflowOperation(
        TicketWorkflow.run,
        TicketInput.opening(msg),
        id=workflow_id,
        task_queue=ids.TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # A closed ticket keeps its key: a late retry gets that ticket back. Only
        # a run that failed outright may be replaced by a new attempt.
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    )
    try:
        state: TicketState = await client.execute_update_with_start_workflow(
            action_name(msg),
            msg,
            start_workflow_operation=operation,
            id=ids.OPEN_UPDATE_ID,
            result_type=TicketState,
        )
    except WorkflowAlreadyStartedError:
        # The ticket of this key exists and has ended; answer with it.
        return await _by_workflow_id(session, principal, workflow_id)
    except RPCError as exc:
        if exc.status != RPCStatusCode.ALREADY_EXISTS:
            raise from_temporal(exc, "the ticket is closed") from exc
        return await _by_workflow_id(session, principal, workflow_id)
    except WorkflowUpdateFailedError as exc:
        raise from_temporal(exc, "the ticket is closed") from exc
    # The update answers once the row is written: the answer is that row, without
    # reading it back (a round trip and an ORM load per ticket).
    return await _public_of_state(session, principal, state)


async def act(
    session: AsyncSession,
    client: Client,
    principal: Principal,
    number: int,
    msg: Any,
    idempotency_key: str | None = None,
) -> TicketPublic:
    """Send one action to the ticket's workflow and return the ticket as it is now.

    A `Ticket` the session loaded before keeps the values it had then (the answer is
    the workflow's, not a new read of the row)."""
    key = check_idempotency_key(idempotency_key)
    row = (
        await session.execute(_WITH_NAMES.where(Ticket.number == number, visible_to(principal)))
    ).one_or_none()
    if row is None:
        raise not_found(f"ticket #{number}")
    ticket, requester, assignee, group, service = row
    # The names the row has now: the answer shows them unless the change moved an id.
    known: dict[tuple[type[Any], int | None], str | None] = {
        (User, ticket.requester_id): requester,
        (User, ticket.assignee_id): assignee,
        (Group, ticket.group_id): group,
        (Service, ticket.service_id): service,
    }
    closed = f"ticket #{number} is closed and can no longer change; open a new ticket"
    if ticket.status == Status.CLOSED:
        raise ApiError(409, closed, code=ViolationKind.ILLEGAL_STATE)
    handle = client.get_workflow_handle(ticket.id)
    # One id for every attempt: a repeat of an update that did arrive is answered once.
    update_id = _update_id(principal, key) or f"req-{uuid.uuid4().hex}"
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_not_ready),
            wait=wait_exponential(multiplier=0.05, max=1),
            stop=stop_after_attempt(6),
            reraise=True,
        ):
            with attempt:
                state = await send_action(handle, msg, update_id=update_id)
    except (WorkflowUpdateFailedError, RPCError) as exc:
        raise from_temporal(exc, closed) from exc
    # The update answers with the state the row was just written from: shown without
    # reading the row back, with the names the row read above had.
    return await _public_of_state(session, principal, state, known=known)


def _not_ready(exc: BaseException) -> bool:
    """The workflow's task failed or raced with its continue-as-new while the update was
    on its way: it was not accepted, and the server says to try again."""
    return (
        isinstance(exc, RPCError)
        and exc.status == RPCStatusCode.FAILED_PRECONDITION
        and b"WorkflowNotReadyFailure" in exc.raw_grpc_status
    )


async def classify(
    session: AsyncSession,
    client: Client,
    principal: Principal,
    number: int,
    body: ClassifyBody,
    idempotency_key: str | None = None,
) -> TicketPublic:
    """Impact, urgency and service; an omitted service stays as it is."""
    ticket = await get_row(session, principal, number)
    service_id = None if body.clear_service else body.service_id or ticket.service_id
    if body.service_id is not None:
        await check_service(session, body.service_id)
    msg = Classify(
        actor=principal.actor(), impact=body.impact, urgency=body.urgency, service_id=service_id
    )
    return await act(session, client, principal, number, msg, idempotency_key)


async def assign(
    session: AsyncSession,
    client: Client,
    principal: Principal,
    number: int,
    msg: Assign,
    idempotency_key: str | None = None,
) -> TicketPublic:
    await _check_people(session, group_id=msg.group_id, assignee_id=msg.assignee_id)
    return await act(session, client, principal, number, msg, idempotency_key)


# ---------------------------------------------------------------- attachments

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
    client: Client,
    principal: Principal,
    number: int,
    upload: UploadFile,
    *,
    public: bool,
    max_bytes: int,
) -> AttachmentPublic:
    """Store the file, then have the workflow record it. A rejected file is deleted again."""
    ticket = await get_row(session, principal, number)
    hasher = hashlib.sha256()
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(
                413,
                f"file is larger than the limit of {max_bytes // 1024} KiB",
                field="file",
                code="too_large",
            )
        hasher.update(chunk)
        chunks.append(chunk)
    if size == 0:
        raise ApiError(422, "the file is empty", field="file", code="invalid_field")
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
        await act(session, client, principal, number, msg)
    except BaseException:
        await session.rollback()
        await session.execute(delete(Attachment).where(Attachment.id == attachment_id))
        await session.commit()
        raise
    await session.refresh(attachment)
    return _attachment_public(attachment)


async def comment(
    session: AsyncSession,
    client: Client,
    principal: Principal,
    number: int,
    body: CommentCreate,
    idempotency_key: str | None = None,
) -> TicketPublic:
    """A public reply (with files of the ticket, mailed with an agent's reply) or a note.

    422 on `attachment_ids` for a file that is not a public file of this ticket,
    or for files on an internal note.
    """
    actor = principal.actor()
    if not body.public:
        if body.attachment_ids:
            raise ApiError(
                422,
                "attachment_ids go with public replies only; upload internal files on their own",
                field="attachment_ids",
                code="invalid_field",
            )
        return await act(session, client, principal, number, AddNote(actor=actor, body=body.body))
    if body.attachment_ids:
        ticket = await get_row(session, principal, number)
        public = set(
            await session.scalars(
                select(Attachment.id).where(
                    Attachment.ticket_id == ticket.id,
                    Attachment.id.in_(body.attachment_ids),
                    Attachment.seq.is_not(None),
                    Attachment.public.is_(True),
                )
            )
        )
        for attachment_id in body.attachment_ids:
            if attachment_id not in public:
                raise ApiError(
                    422,
                    f"attachment_ids: {attachment_id} is not a public file of ticket #{number}; "
                    "upload it to the ticket as visible to the customer first",
                    field="attachment_ids",
                    code="invalid_field",
                )
    msg = Reply(actor=actor, body=body.body, attachment_ids=[str(i) for i in body.attachment_ids])
    return await act(session, client, principal, number, msg, idempotency_key)


def _attachment_visible(principal: Principal) -> Any:
    if principal.is_staff:
        return Attachment.seq.is_not(None)
    return and_(Attachment.seq.is_not(None), Attachment.public.is_(True))


async def list_attachments(
    session: AsyncSession, principal: Principal, number: int
) -> list[AttachmentPublic]:
    ticket = await get_row(session, principal, number)
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
            Attachment.id == attachment_id, visible_to(principal), _attachment_visible(principal)
        )
    )
    if attachment is None:
        raise not_found("attachment")
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
