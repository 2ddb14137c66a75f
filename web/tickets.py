"""The agent workspace and the customer portal: the queue, new tickets, the ticket page,
uploads. Each action's form is handled by `web.actions`."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from api.auth import (
    CSRF_FIELD,
    Principal,
)
from api.deps import SessionDep, SettingsDep, TicketsDep
from api.errors import ApiError
from api.schemas import (
    MAX_INT,
    SEARCH_MAX,
    TicketCreate,
)
from api.services import attachments, directory, incidents, ticket_actions
from api.services import tickets as service
from web.common import TicketNumber, WebStaff, WebUser, form_dict, parse, see_other, without_blank
from web.errors import error_text
from web.i18n import N_, _
from web.render import page
from workflows.choices import (
    OPEN_STATUSES,
    PRIORITIES,
    Channel,
    Role,
    Status,
    TicketType,
)

router = APIRouter(include_in_schema=False)

# ---------------------------------------------------------------- agent workspace

# Translated where shown (`| t`): the reader is known only then.
QUEUES = {
    "mine": N_("Mine"),
    "groups": N_("My groups"),
    "unassigned": N_("Unassigned"),
    "all": N_("All"),
}
SORTS = ("number", "created_at", "updated_at", "priority", "sla_due_at")


@router.get("/queue")
async def queue(
    request: Request,
    user: WebStaff,
    session: SessionDep,
    queue: str = "mine",
    q: str | None = None,
    sort: str = "-updated_at",
    cursor: str | None = None,
) -> Response:
    params = request.query_params
    statuses_raw = params.getlist("status")
    if not statuses_raw:
        statuses = list(OPEN_STATUSES)
    elif "any" in statuses_raw:
        statuses = []
    else:
        statuses = [Status(s) for s in statuses_raw if s in Status.__members__.values()]
    priorities = [p for p in PRIORITIES if str(p) in params.getlist("priority")]
    types = [TicketType(t) for t in params.getlist("type") if t in TicketType.__members__.values()]
    if queue not in QUEUES:
        queue = "mine"
    if sort.lstrip("-") not in SORTS:
        sort = "-updated_at"
    # A search box is forgiving: PostgreSQL cannot take NUL, and the API's limit applies.
    q = (q or "").replace("\x00", "").strip()[:SEARCH_MAX] or None
    filters = service.TicketFilters(
        queue=queue, status=statuses, priority=priorities, type=types, q=q, sort=sort
    )
    result = await service.list_tickets(session, user, filters, cursor)
    counts = {
        key: await service.count_tickets(
            session, user, service.TicketFilters(queue=key, status=list(OPEN_STATUSES))
        )
        for key in QUEUES
    }
    context = {
        "user": user,
        "page": result,
        "queue": queue,
        "queues": QUEUES,
        "counts": counts,
        "q": q or "",
        "sort": sort,
        "statuses": [s.value for s in statuses],
        "status_any": "any" in statuses_raw,
        "priorities": priorities,
        "types": [t.value for t in types],
        "cursor": cursor,
        "query_base": _query_without(request, "cursor"),
        "sort_base": _query_without(request, "cursor", "sort"),
    }
    # htmx swaps in just the table, except when it restores a page from history:
    # then it needs the whole page.
    partial = request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    template = "agent/_queue_table.html" if partial else "agent/queue.html"
    response = page(request, template, context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    response.headers["Vary"] = "HX-Request"
    return response


def _query_without(request: Request, *names: str) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in names]
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in items)


async def with_people(session: SessionDep, people: list[Any], wanted: list[Any]) -> list[Any]:
    """A choice list of people (the first ones by name) plus the ones already chosen, so a
    form shown again, or a ticket's current assignee, never loses its person."""
    have = {p.id for p in people}
    ids = dict.fromkeys(
        int(text)
        for text in (str(value or "") for value in wanted)
        if text.isdigit() and int(text) <= MAX_INT and int(text) not in have
    )
    return [*people, *await directory.users_by_id(session, ids)]


async def _new_ticket_context(
    session: SessionDep, user: Principal, chosen: dict[str, Any] | None = None
) -> dict[str, Any]:
    chosen = chosen or {}
    customers = await directory.list_users(session, roles=[Role.CUSTOMER])
    agents = await directory.list_users(session, roles=[Role.AGENT, Role.MANAGER, Role.ADMIN])
    return {
        "user": user,
        "customers": await with_people(session, customers, [chosen.get("requester_id")]),
        "groups": await directory.list_groups(session),
        "agents": await with_people(session, agents, [chosen.get("assignee_id")]),
        "idempotency_key": uuid.uuid4().hex,
        "values": {},
    }


@router.get("/tickets/new")
async def new_ticket_form(request: Request, user: WebUser, session: SessionDep) -> Response:
    if not user.is_staff:
        return page(
            request,
            "portal/new.html",
            {"user": user, "idempotency_key": uuid.uuid4().hex, "values": {}},
        )
    return page(request, "agent/new.html", await _new_ticket_context(session, user))


@router.post("/tickets/new")
async def new_ticket(
    request: Request, user: WebUser, session: SessionDep, tickets: TicketsDep
) -> Response:
    form = await request.form()
    data = form_dict(form, drop=(CSRF_FIELD, "idempotency_key"))
    key = str(form.get("idempotency_key") or "") or None
    try:
        body = parse(TicketCreate, without_blank(data, "requester_id", "group_id", "assignee_id"))
        ticket = await ticket_actions.create_ticket(
            session, tickets, user, body, key, default_channel=Channel.WEB
        )
    except ApiError as exc:
        if user.is_staff:
            context = await _new_ticket_context(session, user, data)
        else:
            context = {"user": user}
        context.update(
            values=data,
            error=error_text(exc),
            error_field=exc.field,
            # Keep the key: no ticket was opened, and a retry must still open only one.
            # A key the service refused cannot succeed, though; the retry gets a new one.
            idempotency_key=key if key and exc.field != "Idempotency-Key" else uuid.uuid4().hex,
        )
        template = "agent/new.html" if user.is_staff else "portal/new.html"
        return page(request, template, context, exc.status)
    return see_other(f"/tickets/{ticket.number}")


async def ticket_page(
    request: Request,
    user: Principal,
    session: SessionDep,
    number: int,
    *,
    error: ApiError | None = None,
    values: dict[str, Any] | None = None,
    failed: str | None = None,
) -> Response:
    """The ticket page; after a refused action, with the error and that form's input kept."""
    ticket = await service.get_ticket(session, user, number)
    context: dict[str, Any] = {
        "user": user,
        "ticket": ticket,
        "events": await service.timeline(session, user, number),
        "attachments": await attachments.list_attachments(session, user, number),
        "error": error_text(error) if error else None,
        "error_field": error.field if error else None,
        # Input goes back only into the form it came from: a failed internal note
        # must not reappear in the reply box, one click away from the customer.
        "values": values or {},
        "failed": failed,
    }
    if user.is_staff:
        context["groups"] = await directory.list_groups(session)
        context["agents"] = await with_people(
            session,
            await directory.list_users(session, roles=[Role.AGENT, Role.MANAGER, Role.ADMIN]),
            [ticket.assignee.id if ticket.assignee else None, (values or {}).get("assignee_id")],
        )
        names = {a.id: a.name for a in context["agents"]}
        names.update({ticket.requester.id: ticket.requester.name} if ticket.requester else {})
        context["user_names"] = names
        context["group_names"] = {g.id: g.name for g in context["groups"]}
        if ticket.type == TicketType.INCIDENT:
            row = await service.get_row(session, user, number)
            context["incident"] = await incidents.incident_alerts(session, row.id, last=50)
            context["is_incident"] = True
            if ticket.major:
                context["children"] = await incidents.children_of(session, user, number)
        template = "agent/ticket.html"
    else:
        template = "portal/ticket.html"
    return page(request, template, context, error.status if error else 200)


@router.get("/tickets/{number}")
async def ticket_detail(
    request: Request, number: TicketNumber, user: WebUser, session: SessionDep
) -> Response:
    return await ticket_page(request, user, session, number)


@router.post("/tickets/{number}/attachments")
async def upload(
    request: Request,
    number: TicketNumber,
    user: WebUser,
    session: SessionDep,
    tickets: TicketsDep,
    settings: SettingsDep,
) -> Response:
    form = await request.form()
    file = form.get("file")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise ApiError(422, _("choose a file to upload"), field="file", code="invalid_field")
        await attachments.add_attachment(
            session,
            tickets,
            user,
            number,
            file,
            public="public" in form if user.is_staff else True,
            max_bytes=settings.max_attachment_bytes,
        )
    except ApiError as exc:
        if exc.status == 404:
            raise
        return await ticket_page(request, user, session, number, error=exc)
    return see_other(f"/tickets/{number}#attachments")


# ---------------------------------------------------------------- portal


@router.get("/portal")
async def portal(
    request: Request,
    user: WebUser,
    session: SessionDep,
    cursor: str | None = None,
    q: str | None = None,
) -> Response:
    """The customer's tickets, newest first, or those a search finds (the same search as
    the queue's, in every language of the desk)."""
    text = (q or "").replace("\x00", "").strip()[:SEARCH_MAX] or None
    filters = service.TicketFilters(queue="all", sort="-updated_at", q=text)
    result = await service.list_tickets(session, user, filters, cursor)
    return page(request, "portal/index.html", {"user": user, "page": result, "q": text})
