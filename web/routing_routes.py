"""HTML pages of routing: an agent's task list (offers) and availability, a team's load.

They call the same service functions as the JSON API (api/services/routing.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from api.deps import SessionDep, TemporalDep
from api.errors import ApiError
from api.schemas import AvailabilityBody, BulkReassign, OfferDecline
from api.services import bulk, directory
from api.services import routing as service
from models import Ticket, User
from web.render import page
from web.routes import TicketNumber, WebStaff, _parse, _see_other
from workflows.choices import OPEN_STATUSES, Role

router = APIRouter(include_in_schema=False)


async def _tasks_page(
    request: Request,
    user: Any,
    session: SessionDep,
    *,
    error: ApiError | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "user": user,
        "offers": await service.my_offers(session, user),
        "availability": await service.get_availability(session, user),
        "now": datetime.now(UTC),
        "error": error.detail if error else None,
        "error_field": error.field if error else None,
    }
    return page(request, "routing/tasks.html", context, error.status if error else status_code)


@router.get("/tasks")
async def tasks(request: Request, user: WebStaff, session: SessionDep) -> Response:
    """Tickets offered to me, with the time left, and my availability switch."""
    return await _tasks_page(request, user, session)


@router.post("/tasks/offers/{number}/accept")
async def accept(
    request: Request, number: TicketNumber, user: WebStaff, session: SessionDep, client: TemporalDep
) -> Response:
    try:
        await service.accept(session, client, user, number)
    except ApiError as exc:
        if exc.status == 404:
            raise
        return await _tasks_page(request, user, session, error=exc)
    return _see_other(f"/tickets/{number}")


@router.post("/tasks/offers/{number}/decline")
async def decline(
    request: Request, number: TicketNumber, user: WebStaff, session: SessionDep, client: TemporalDep
) -> Response:
    form = await request.form()
    try:
        body = _parse(OfferDecline, {"reason": str(form.get("reason", ""))})
        await service.decline(session, client, user, number, body.reason)
    except ApiError as exc:
        if exc.status == 404:
            raise
        return await _tasks_page(request, user, session, error=exc)
    return _see_other("/tasks")


@router.post("/tasks/availability")
async def availability(request: Request, user: WebStaff, session: SessionDep) -> Response:
    form = await request.form()
    data = {"availability": str(form.get("availability", ""))}
    limit = str(form.get("max_open_tickets", "")).strip()
    if limit:
        data["max_open_tickets"] = limit
    try:
        await service.set_availability(session, user, _parse(AvailabilityBody, data))
    except ApiError as exc:
        return await _tasks_page(request, user, session, error=exc)
    return _see_other("/tasks")


@router.get("/teams")
async def teams_page(request: Request, user: WebStaff, session: SessionDep) -> Response:
    """Each group's members with their open tickets, pending offers and availability."""
    return await teams(request, user, session)


async def teams(
    request: Request, user: Any, session: SessionDep, error: ApiError | None = None
) -> Response:
    groups = await directory.list_groups(session)
    people = {u.id: u for u in await session.scalars(select(User).where(User.role != "customer"))}
    open_counts = dict(
        (
            await session.execute(
                select(Ticket.assignee_id, func.count())
                .where(Ticket.status.in_([s.value for s in OPEN_STATUSES]))
                .group_by(Ticket.assignee_id)
            )
        )
        .tuples()
        .all()
    )
    offered = dict(
        (
            await session.execute(
                select(Ticket.offer_agent_id, func.count())
                .where(Ticket.offer_agent_id.is_not(None))
                .group_by(Ticket.offer_agent_id)
            )
        )
        .tuples()
        .all()
    )
    context = {
        "user": user,
        "groups": groups,
        "people": people,
        "agents": sorted(people.values(), key=lambda p: p.name),
        "open_counts": open_counts,
        "offered": offered,
        "can_reassign": user.role in (Role.MANAGER, Role.ADMIN),
        "error": error.detail if error else None,
        "error_field": error.field if error else None,
    }
    return page(request, "routing/teams.html", context, error.status if error else 200)


@router.post("/teams/reassign")
async def reassign(
    request: Request, user: WebStaff, session: SessionDep, client: TemporalDep
) -> Response:
    """A manager's bulk reassign of one agent's open tickets; shows the job's progress."""
    form = await request.form()
    data = {
        k: str(form.get(k, "")).strip()
        for k in ("from_assignee_id", "group_id", "assignee_id", "note")
    }
    try:
        body = _parse(BulkReassign, {k: v for k, v in data.items() if v})
        job = await bulk.reassign(session, client, user, body)
    except ApiError as exc:
        if exc.status == 403:
            raise
        return await teams(request, user, session, error=exc)
    return _see_other(f"/admin/jobs/{job.id}")
