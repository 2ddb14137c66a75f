"""HTML pages of routing: an agent's task list (offers) and availability, a team's load.

They call the same service functions as the JSON API (api/services/routing.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError, refused
from api.schemas import (
    MAX_INT,
    NOTIFICATION_KINDS,
    AvailabilityBody,
    BulkReassign,
    NotificationPrefsBody,
    RoutingRuleBody,
)
from api.services import bulk, directory
from api.services import routing as service
from api.services import routing_rules as rules
from api.services.sla import list_calendars
from web.common import (
    WebAdmin,
    WebStaff,
    WebUser,
    parse,
    see_other,
    validated,
)
from web.errors import error_text
from web.i18n import _
from web.render import page
from workflows.choices import N_, Channel, Role, TicketType

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
        "consults": await service.my_consults(session, user),
        "reminders": await service.my_reminders(session, user),
        "attention": await service.needing_attention(session, user),
        "availability": await service.get_availability(session, user),
        "calendars": await list_calendars(session),
        "now": datetime.now(UTC),
        "error": error_text(error) if error else None,
        "error_field": error.field if error else None,
    }
    return page(request, "routing/tasks.html", context, error.status if error else status_code)


@router.get("/tasks")
async def tasks(request: Request, user: WebStaff, session: SessionDep) -> Response:
    """Tickets offered to me, with the time left, and my availability switch."""
    return await _tasks_page(request, user, session)


@router.post("/tasks/availability")
async def availability(request: Request, user: WebStaff, session: SessionDep) -> Response:
    form = await request.form()
    data = {"availability": str(form.get("availability", ""))}
    for key in ("max_open_tickets", "calendar_id"):
        value = str(form.get(key, "")).strip()
        if value:
            data[key] = value
    try:
        await service.set_availability(session, user, parse(AvailabilityBody, data))
    except ApiError as exc:
        return await _tasks_page(request, user, session, error=exc)
    return see_other("/tasks")


@router.get("/teams")
async def teams_page(request: Request, user: WebStaff, session: SessionDep) -> Response:
    """Each group's members with their open tickets, pending offers and availability."""
    return await teams(request, user, session)


async def teams(
    request: Request, user: Any, session: SessionDep, error: ApiError | None = None
) -> Response:
    groups = await directory.list_groups(session)
    load = await service.team_load(session)
    people, open_counts, offered = load.people, load.open_tickets, load.offered
    context = {
        "user": user,
        "groups": groups,
        "people": people,
        "agents": sorted(people.values(), key=lambda p: p.name),
        "open_counts": open_counts,
        "offered": offered,
        "can_reassign": user.role in (Role.MANAGER, Role.ADMIN),
        "error": error_text(error) if error else None,
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
        body = parse(BulkReassign, {k: v for k, v in data.items() if v})
        job = await bulk.reassign(session, client, user, body)
    except ApiError as exc:
        if exc.status == 403:
            raise
        return await teams(request, user, session, error=exc)
    return see_other(f"/admin/jobs/{job.id}")


# ---------------------------------------------------------------- routing rules (admin)


async def _rules_page(
    request: Request,
    user: Any,
    session: SessionDep,
    *,
    error: ApiError | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    context = {
        "user": user,
        "rules": await rules.list_rules(session),
        "groups": await directory.list_groups(session),
        "organisations": await directory.list_organisations(session),
        "types": [t.value for t in TicketType],
        "channels": [c.value for c in Channel],
        "values": values or {},
        "error": error_text(error) if error else None,
        "error_field": error.field if error else None,
    }
    return page(request, "routing/rules.html", context, error.status if error else 200)


@router.get("/admin/routing-rules")
async def rules_page(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    return await _rules_page(request, user, session)


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


@router.post("/admin/routing-rules")
async def create_rule(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    form = await request.form()
    texts = {
        field: str(form.get(field, "")) for field in ("name", "group_id", "keywords", "skills")
    }
    texts["name"] = texts["name"].strip()
    lists = {
        field: [str(v) for v in form.getlist(field)]
        for field in ("types", "channels", "priorities", "organisation_ids")
    }
    # Both, as the form shows them again when the rule is refused.
    values: dict[str, str | list[str]] = {**texts, **lists}
    try:
        if not texts["group_id"].isdigit():
            raise refused(422, N_("choose a group"), field="group_id", code="invalid_field")
        body = validated(
            RoutingRuleBody,
            {
                "name": texts["name"],
                "group_id": int(texts["group_id"]),
                "skills": _words(texts["skills"]),
                "conditions": {
                    "types": lists["types"],
                    "channels": lists["channels"],
                    "priorities": [int(p) for p in lists["priorities"] if p.isdigit()],
                    "organisation_ids": [int(o) for o in lists["organisation_ids"] if o.isdigit()],
                    "keywords": _words(texts["keywords"]),
                },
            },
        )
        await rules.create_rule(session, body)
    except ApiError as exc:
        return await _rules_page(request, user, session, error=exc, values=values)
    return see_other("/admin/routing-rules")


@router.post("/admin/routing-rules/{rule_id}/delete")
async def delete_rule(
    rule_id: Annotated[int, Path(ge=1, le=MAX_INT)], user: WebAdmin, session: SessionDep
) -> Response:
    await rules.delete_rule(session, rule_id)
    return see_other("/admin/routing-rules")


@router.post("/admin/routing-rules/{rule_id}/move")
async def move_rule(
    request: Request,
    rule_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    user: WebAdmin,
    session: SessionDep,
) -> Response:
    form = await request.form()
    ids = [r.id for r in await rules.list_rules(session)]
    if rule_id not in ids:
        raise ApiError(404, _("no routing rule %(id)s", id=rule_id), code="not_found")
    i = ids.index(rule_id)
    j = i - 1 if form.get("direction") == "up" else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
        await rules.reorder(session, ids)
    return see_other("/admin/routing-rules")


# ---------------------------------------------------------------- notification preferences


@router.get("/settings/notifications")
async def prefs_page(request: Request, user: WebUser, session: SessionDep) -> Response:
    prefs = await service.get_prefs(session, user)
    return page(
        request,
        "routing/prefs.html",
        {"user": user, "prefs": prefs, "kinds": NOTIFICATION_KINDS},
    )


@router.post("/settings/notifications")
async def save_prefs(
    request: Request, user: WebUser, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    url = str(form.get("apprise_url", "")).strip()
    data: dict[str, Any] = {
        "email": form.get("email") == "on",
        "muted": [str(k) for k in form.getlist("muted")],
        "keep_apprise": not url and form.get("remove_apprise") != "on",
        "apprise_url": url or None,
    }
    try:
        body = validated(NotificationPrefsBody, data)
        prefs = await service.set_prefs(session, user, body, settings.secret_key)
    except ApiError as exc:
        return await _prefs_error(request, user, session, exc)
    context = {"user": user, "prefs": prefs, "kinds": NOTIFICATION_KINDS, "saved": True}
    return page(request, "routing/prefs.html", context)


async def _prefs_error(
    request: Request, user: Any, session: SessionDep, error: ApiError
) -> Response:
    context = {
        "user": user,
        "prefs": await service.get_prefs(session, user),
        "kinds": NOTIFICATION_KINDS,
        "error": error_text(error),
        "error_field": error.field,
    }
    return page(request, "routing/prefs.html", context, error.status)
