"""Changing tickets, for the API, the web UI, mail and the demo alike: open one, take an
action on it (from a person's request or as a message built by the desk), add a comment.

Every change goes to the ticket's workflow through the ticket client (the workflow is
the only writer) under an update id derived from the caller and their Idempotency-Key,
and is answered with the ticket as the change left it, without reading the row back.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.errors import ApiError, from_violation, refused
from api.schemas import CommentCreate, TicketCreate, TicketPublic
from api.services import tickets as views
from api.services.sla import check_service
from api.ticket_requests import message_of, request_model
from models import Attachment, Group, Ticket, User
from workflows.choices import N_, Channel, Role, Status
from workflows.ticket.actions import ACTIONS, Action, check_open
from workflows.ticket.client import TicketClient, TicketClosed
from workflows.ticket.errors import Param, RuleViolation, ViolationKind
from workflows.ticket.fields import Ref, RefKind, rules_of
from workflows.ticket.messages import OpenTicket
from workflows.ticket.projection import state_of

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise refused(
            422,
            N_("%(name)s must be 1 to 200 printable ASCII characters without spaces"),
            name="Idempotency-Key",
            field="Idempotency-Key",
            code="invalid_field",
        )
    return key


def update_id(principal: Principal, key: str | None) -> str:
    """The update a request becomes: derived from (caller, key), so the same caller
    repeating a key gets the first result; a fresh one without a key."""
    if key is None:
        return f"req-{uuid.uuid4().hex}"
    return "req-" + hashlib.sha256(f"{principal.id}\x00{key}".encode()).hexdigest()[:32]


# ---------------------------------------------------------------- references


async def _check_reference(
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket | None,
    kind: RefKind,
    field: str,
    value: Any,
) -> None:
    """422 naming `field` unless `value` points at what a `Ref` of `kind` needs (`ticket`:
    the ticket the request is about; None for one being opened)."""
    if kind == RefKind.GROUP:
        if await session.get(Group, value) is None:
            raise _invalid(field, N_("%(name)s %(value)s is not a group"), value=value)
    elif kind == RefKind.AGENT:
        agent = await session.get(User, value)
        if agent is None or not agent.active or agent.role == Role.CUSTOMER:
            raise _invalid(field, N_("%(name)s %(value)s is not an active agent"), value=value)
    elif kind == RefKind.SERVICE:
        await check_service(session, value)
    elif kind == RefKind.MAJOR_INCIDENT:
        parent = await session.scalar(
            select(Ticket).where(Ticket.number == value, views.visible_to(principal))
        )
        if parent is None:
            raise _invalid(field, N_("%(name)s %(value)s is not a ticket"), value=value)
        if not parent.major:
            raise _invalid(
                field,
                N_("%(name)s: #%(number)s is not a major incident; declare it major first"),
                number=parent.number,
            )
    elif kind == RefKind.PUBLIC_FILE and ticket is not None:
        public = set(
            await session.scalars(
                select(Attachment.id).where(
                    Attachment.ticket_id == ticket.id,
                    Attachment.id.in_(value),
                    Attachment.seq.is_not(None),
                    Attachment.public.is_(True),
                )
            )
        )
        for attachment_id in value:
            if attachment_id not in public:
                raise _invalid(
                    field,
                    N_(
                        "%(name)s: %(attachment)s is not a public file of ticket #%(number)s; "
                        "upload it to the ticket as visible to the customer first"
                    ),
                    attachment=attachment_id,
                    number=ticket.number,
                )


def _invalid(field: str, message_id: str, **params: Param) -> ApiError:
    """422 naming `field`; its message id names it as `%(name)s`."""
    return refused(
        422, message_id, field=field, code=ViolationKind.INVALID_FIELD, name=field, **params
    )


async def check_references(
    session: AsyncSession, principal: Principal, ticket: Ticket, request: BaseModel
) -> None:
    """Every id the request names (and only those it names) points at what its field's
    `Ref` says: ids the ticket already carries are not checked again."""
    model = type(request)
    for field in request.model_fields_set:
        value = getattr(request, field)
        if value is None or value == []:
            continue
        for rule in rules_of(model, field):
            if isinstance(rule, Ref):
                await _check_reference(session, principal, ticket, rule.kind, field, value)


async def check_people(
    session: AsyncSession, principal: Principal, *, group_id: int | None, assignee_id: int | None
) -> None:
    """422 unless the group exists and the assignee is an active agent (None: not set)."""
    for field, kind, value in (
        ("group_id", RefKind.GROUP, group_id),
        ("assignee_id", RefKind.AGENT, assignee_id),
    ):
        if value is not None:
            await _check_reference(session, principal, None, kind, field, value)


# ---------------------------------------------------------------- opening


async def create_ticket(
    session: AsyncSession,
    tickets: TicketClient,
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
                raise _invalid(
                    "requester_id",
                    N_("%(name)s %(value)s is not an active user"),
                    value=requester_id,
                )
            organisation_id = requester.organisation_id
        await check_people(session, principal, group_id=body.group_id, assignee_id=body.assignee_id)
        await check_service(session, body.service_id)
        channel = body.channel or default_channel
    else:
        await check_service(session, body.service_id)
        for name in ("requester_id", "group_id", "assignee_id", "channel"):
            if getattr(body, name) is not None and not (
                name == "requester_id" and body.requester_id == principal.id
            ):
                raise refused(
                    403,
                    N_("customers cannot set %(name)s"),
                    field=name,
                    code=ViolationKind.FORBIDDEN,
                    name=name,
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
        opened = await tickets.open(msg, caller=f"user:{principal.id}", key=key)
    except RuleViolation as exc:
        raise from_violation(exc) from None
    if opened.state is None:  # the ticket of this key exists and has ended
        return await views.by_workflow_id(session, principal, opened.workflow_id)
    # The update answers once the row is written: the answer is that row, without
    # reading it back (a round trip and an ORM load per ticket).
    return await views.present_state(session, principal, opened.state)


# ---------------------------------------------------------------- actions


async def take(
    session: AsyncSession,
    tickets: TicketClient,
    principal: Principal,
    number: int,
    action: Action[Any],
    request: BaseModel,
    idempotency_key: str | None = None,
    path: dict[str, Any] | None = None,
) -> TicketPublic:
    """Take `action` as a person's `request` asks (`api.ticket_requests.request_model`):
    the ids it names are checked, the message built and sent to the ticket."""
    key = check_idempotency_key(idempotency_key)
    found = await views.with_names(session, principal, number)
    ticket = found[0]
    await check_references(session, principal, ticket, request)
    msg = message_of(
        action,
        request,
        principal.actor(),
        lambda: state_of(ticket.id, ticket.number, views.row_values(ticket)),
        path,
    )
    return await _send(session, tickets, principal, found, msg, key)


async def act(
    session: AsyncSession,
    tickets: TicketClient,
    principal: Principal,
    number: int,
    msg: BaseModel,
    idempotency_key: str | None = None,
) -> TicketPublic:
    """Send a message the desk built (mail, alerts, the demo) to ticket `number` and return
    the ticket as it is now."""
    key = check_idempotency_key(idempotency_key)
    found = await views.with_names(session, principal, number)
    return await _send(session, tickets, principal, found, msg, key)


async def _send(
    session: AsyncSession,
    tickets: TicketClient,
    principal: Principal,
    found: Any,
    msg: BaseModel,
    key: str | None,
) -> TicketPublic:
    ticket = found[0]
    # One id for every attempt: a repeat of an update that did arrive is answered once.
    request = update_id(principal, key)
    if ticket.status == Status.CLOSED:
        return await _closed(session, tickets, principal, found, request if key else None)
    try:
        state = await tickets.act(ticket.id, msg, update_id=request)
    except TicketClosed:
        return await _closed(session, tickets, principal, found, request if key else None)
    except RuleViolation as exc:
        raise from_violation(exc) from None
    # The update answers with the state the row was just written from: shown without
    # reading the row back, with the names the row read above had.
    return await views.present_state(session, principal, state, views.known_names(found))


async def _closed(
    session: AsyncSession,
    tickets: TicketClient,
    principal: Principal,
    found: Any,
    request: str | None,
) -> TicketPublic:
    """A closed ticket takes no change (409), unless this very request is a repeat of the
    one the ticket applied before it closed (its close, say): that one is answered again."""
    ticket = found[0]
    if request is not None and await tickets.applied(ticket.id, request):
        await session.refresh(ticket)
        return views.present_found(found, principal)
    raise refused(
        409,
        N_("ticket #%(number)s is closed and can no longer change; open a new ticket"),
        code=ViolationKind.ILLEGAL_STATE,
        number=ticket.number,
    )


async def comment(
    session: AsyncSession,
    tickets: TicketClient,
    principal: Principal,
    number: int,
    body: CommentCreate,
    idempotency_key: str | None = None,
) -> TicketPublic:
    """A public reply (with files of the ticket, mailed with an agent's reply) or a note.

    422 on `attachment_ids` for a file that is not a public file of this ticket,
    or for files on an internal note.
    """
    if body.public:
        request: BaseModel = _REPLY_BODY.model_validate(
            {"body": body.body, "attachment_ids": body.attachment_ids}
        )
        return await take(
            session, tickets, principal, number, ACTIONS["reply"], request, idempotency_key
        )
    if body.attachment_ids:
        raise _invalid(
            "attachment_ids",
            N_("%(name)s go with public replies only; upload internal files on their own"),
        )
    note = _NOTE_BODY.model_validate({"body": body.body})
    return await take(
        session, tickets, principal, number, ACTIONS["add_note"], note, idempotency_key
    )


_REPLY_BODY = request_model(ACTIONS["reply"])
_NOTE_BODY = request_model(ACTIONS["add_note"])
