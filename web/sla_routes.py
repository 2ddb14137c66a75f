"""SLA administration and notifications in the web UI.

Every page calls the service functions the JSON API calls (`api.services.sla`,
`sla_io`, `notifications`); this module only turns forms into specs
(`web.sla_forms`) and problems back into messages next to the fields named.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import SessionDep, TemporalDep, TicketsDep
from api.errors import ApiError
from api.schemas import MAX_INT, CalendarPublic
from api.services import directory, sla_clocks, sla_io, tickets
from api.services import notifications as notices
from api.services import sla as service
from web import sla_forms as forms
from web.common import TicketNumber, WebAdmin, WebStaff, WebUser
from web.errors import error_text, problem_text
from web.formats import number
from web.i18n import N_, _, ngettext
from web.render import page
from workflows.choices import Role, Status, TicketType
from workflows.sla import ReopenRule
from workflows.sla_config import PAUSABLE

router = APIRouter(include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=MAX_INT)]
JobId = Annotated[str, Path(max_length=64, pattern=r"^bulk-[0-9a-f]{32}$")]
DEFAULT_PREVIEW = "8h"
MAX_PREVIEW = timedelta(days=365)
"""The API's limit for a preview too."""
MAX_UPLOAD = 1024 * 1024
"""A YAML configuration is a few kilobytes; anything near this is not one."""


@cache
def _time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _pairs(exc: ApiError) -> list[tuple[str, str]]:
    """The (field, message) problems an ApiError from the service carries."""
    items = exc.errors or [{"field": exc.field or "", "message": error_text(exc)}]
    return [(item.get("field") or "", item["message"]) for item in items]


def _errors(
    problems: list[tuple[str, str]], unreadable: dict[str, str], field_of: Any
) -> dict[str, str]:
    """Messages keyed by the form field that shows each.

    What the form could not read wins over what the service says of the
    placeholder left in its place.
    """
    found = dict(unreadable)
    for field, message in problems:
        message = problem_text(message)
        key = field_of(field)
        if key in unreadable:
            continue
        found[key] = (
            _("%(first)s; %(more)s", first=found[key], more=message) if key in found else message
        )
    return found


def _level_row(field: str, rows: list[int]) -> str:
    """A service field of escalation level n as the form row that shows it.

    The service counts the levels kept; the form also has blank rows.
    """
    parts = field.split(".")
    if parts[0] == "escalations" and len(parts) > 1 and parts[1].isdigit():
        level = int(parts[1])
        if 1 <= level <= len(rows):
            parts[1] = str(rows[level - 1])
    return ".".join(parts)


def _summary(errors: dict[str, str]) -> str:
    if len(errors) == 1:
        return _("Nothing was saved: fix the field marked below.")
    return ngettext(
        "Nothing was saved: fix the %(num)s field marked below.",
        "Nothing was saved: fix the %(num)s fields marked below.",
        len(errors),
        num=number(len(errors)),
    )


# ---------------------------------------------------------------- calendars


@router.get("/admin/calendars")
async def calendars(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    items = await service.list_calendars(session)
    return page(request, "admin/calendars.html", {"user": user, "calendars": items})


def _calendar_page(
    request: Request,
    user: Any,
    form: dict[str, str],
    *,
    calendar: CalendarPublic | None = None,
    errors: dict[str, str] | None = None,
    preview: Any = None,
    target: str = DEFAULT_PREVIEW,
    saved: bool = False,
    status: int = 200,
    **more: Any,
) -> Response:
    context = {
        **more,
        "user": user,
        "form": form,
        "calendar": calendar,
        "errors": errors or {},
        "preview": preview,
        "target": target,
        "saved": saved,
        "weekdays": forms.WEEKDAY_NAMES,
        "time_zones": _time_zones(),
    }
    if errors and any(k != "target" for k in errors):
        context["error"] = _summary(errors)
        context["error_field"] = next(iter(errors))
    response: Response = page(request, "admin/calendar.html", context, status)
    return response


WORK_WEEKS: dict[str, tuple[str, frozenset[int]]] = {
    "mon-fri": (N_("Monday to Friday"), frozenset({0, 1, 2, 3, 4})),
    "sat-wed": (N_("Saturday to Wednesday"), frozenset({5, 6, 0, 1, 2})),
    "sun-thu": (N_("Sunday to Thursday"), frozenset({6, 0, 1, 2, 3})),
}
"""The working weeks a new calendar may start from (days Monday first): the one of most of
Europe and the Americas, Iran's, and that of Saudi Arabia, the Emirates and Egypt."""


@router.get("/admin/calendars/new")
async def new_calendar(request: Request, user: WebAdmin, week: str = "mon-fri") -> Response:
    days = WORK_WEEKS.get(week, WORK_WEEKS["mon-fri"])[1]
    form = {f"week.{i}": "09:00-17:00" if i in days else "" for i in range(7)}
    return _calendar_page(
        request, user, {"timezone": "UTC", **form}, work_weeks=WORK_WEEKS, chosen_week=week
    )


async def _save_calendar(
    request: Request, user: Any, session: SessionDep, calendar_id: int | None
) -> Response:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    current = await service.get_calendar(session, calendar_id) if calendar_id else None
    spec, unreadable = forms.calendar_from_form(form)
    try:
        if not unreadable:
            saved = await service.save_calendar(session, spec, calendar_id)
            return see_other(f"/admin/calendars/{saved.id}?saved=1")
        # Also what the service says of the rest, so one round fixes everything.
        problems = await service.calendar_problems(session, spec, calendar_id)
    except ApiError as exc:
        if exc.status == 404:
            raise
        problems = _pairs(exc)
    errors = _errors([forms.calendar_problem(*p) for p in problems], unreadable, lambda f: f)
    return _calendar_page(request, user, form, calendar=current, errors=errors, status=422)


@router.post("/admin/calendars/new")
async def create_calendar(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    return await _save_calendar(request, user, session, None)


@router.get("/admin/calendars/{calendar_id}")
async def edit_calendar(
    request: Request,
    calendar_id: Id,
    user: WebAdmin,
    session: SessionDep,
    target: str = DEFAULT_PREVIEW,
    saved: bool = False,
) -> Response:
    calendar = await service.get_calendar(session, calendar_id)
    errors: dict[str, str] = {}
    preview = None
    try:
        duration = forms.parse_duration(target[:40])
        if duration is None or duration <= timedelta(0):
            raise ValueError(_("give a target longer than zero, e.g. 8h"))
        if duration > MAX_PREVIEW:
            raise ValueError(_("preview a target of at most 365 days"))
        preview = await service.preview_calendar(session, calendar_id, duration, None)
    except ValueError as exc:
        errors["target"] = str(exc)
    except ApiError as exc:
        errors["target"] = error_text(exc)
    return _calendar_page(
        request,
        user,
        forms.calendar_to_form(calendar),
        calendar=calendar,
        errors=errors,
        preview=preview,
        target=target[:40],
        saved=saved,
    )


@router.post("/admin/calendars/{calendar_id}")
async def save_calendar(
    request: Request, calendar_id: Id, user: WebAdmin, session: SessionDep
) -> Response:
    return await _save_calendar(request, user, session, calendar_id)


@router.post("/admin/calendars/{calendar_id}/delete")
async def delete_calendar(calendar_id: Id, user: WebAdmin, session: SessionDep) -> Response:
    # A calendar a policy uses is refused (409) with the policies named: the error page says so.
    await service.delete_calendar(session, calendar_id)
    return see_other("/admin/calendars")


# ---------------------------------------------------------------- policies


@router.get("/admin/sla-policies")
async def policies(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    items = await service.list_policies(session)
    names = {c.id: c.name for c in await service.list_calendars(session)}
    context = {"user": user, "policies": items, "calendar_names": names}
    return page(request, "admin/policies.html", context)


async def _staff_with(session: AsyncSession, policy: Any) -> list[Any]:
    """Staff to choose from: the first ones by name, plus everyone the policy already
    names, so sending its form back never drops a person the list did not reach."""
    staff = await directory.list_users(session, roles=[Role.AGENT, Role.MANAGER, Role.ADMIN])
    named = {
        a.user_id
        for level in (policy.escalations if policy is not None else [])
        for a in level.actions
        if a.user_id is not None
    } - {u.id for u in staff}
    return [*staff, *await directory.users_by_id(session, sorted(named))]


async def _policy_page(
    request: Request,
    user: Any,
    session: SessionDep,
    form: dict[str, Any],
    *,
    policy: Any = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status: int = 200,
) -> Response:
    # A fresh form offers blank rows for new levels; a refused one comes back as sent.
    extra = 0 if errors else forms.BLANK_LEVELS
    levels = len(form.get("escalations", []))
    blank = {
        "after": "",
        "clocks": list(forms.CLOCKS),
        "actions": [],
        "user_ids": [],
        "group_id": "",
    }
    form = {**form, "escalations": [*form.get("escalations", []), *[blank] * extra]}
    context: dict[str, Any] = {
        "user": user,
        "form": form,
        "policy": policy,
        "errors": errors or {},
        "saved": saved,
        "levels": levels + extra,
        "calendars": await service.list_calendars(session),
        "services": await service.list_services(session),
        "organisations": await directory.list_organisations(session),
        "groups": await directory.list_groups(session),
        "staff": await _staff_with(session, policy),
        "clocks": forms.CLOCKS,
        "simple_actions": forms.SIMPLE_ACTIONS,
        "action_labels": forms.ACTION_LABELS,
        "pausable": [s.value for s in PAUSABLE],
        "statuses": [s.value for s in Status],
        "types": [t.value for t in TicketType],
        "reopen_rules": [r.value for r in ReopenRule],
    }
    if errors:
        context["error"] = _summary(errors)
        context["error_field"] = next(iter(errors))
    response: Response = page(request, "admin/policy.html", context, status)
    return response


@router.get("/admin/sla-policies/new")
async def new_policy(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    return await _policy_page(request, user, session, forms.new_policy_form())


async def _save_policy(
    request: Request, user: Any, session: SessionDep, policy_id: int | None
) -> Response:
    raw = await request.form()
    current = await service.get_policy(session, policy_id) if policy_id else None
    shown = forms.policy_form_from_request(raw)
    spec, rows, unreadable = forms.policy_from_form(raw)
    try:
        if not unreadable:
            saved = await service.save_policy(session, spec, policy_id)
            return see_other(f"/admin/sla-policies/{saved.id}?saved=1")
        problems = await service.policy_problems(session, spec, policy_id)
    except ApiError as exc:
        if exc.status == 404:
            raise
        problems = _pairs(exc)
    errors = _errors(problems, unreadable, lambda field: _level_row(field, rows))
    return await _policy_page(
        request, user, session, shown, policy=current, errors=errors, status=422
    )


@router.post("/admin/sla-policies/new")
async def create_policy(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    return await _save_policy(request, user, session, None)


@router.get("/admin/sla-policies/{policy_id}")
async def edit_policy(
    request: Request, policy_id: Id, user: WebAdmin, session: SessionDep, saved: bool = False
) -> Response:
    policy = await service.get_policy(session, policy_id)
    return await _policy_page(
        request, user, session, forms.policy_to_form(policy), policy=policy, saved=saved
    )


@router.post("/admin/sla-policies/{policy_id}")
async def save_policy(
    request: Request, policy_id: Id, user: WebAdmin, session: SessionDep
) -> Response:
    return await _save_policy(request, user, session, policy_id)


@router.post("/admin/sla-policies/{policy_id}/move")
async def move_policy(
    request: Request, policy_id: Id, user: WebAdmin, session: SessionDep
) -> Response:
    form = await request.form()
    order = [p.id for p in await service.list_policies(session)]
    if policy_id not in order:
        raise ApiError(404, _("SLA policy %(id)s not found", id=policy_id), code="not_found")
    index = order.index(policy_id)
    other = index - 1 if form.get("direction") == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        await service.reorder_policies(session, order)
    return see_other(f"/admin/sla-policies#policy-{policy_id}")


@router.post("/admin/sla-policies/{policy_id}/delete")
async def delete_policy(policy_id: Id, user: WebAdmin, session: SessionDep) -> Response:
    await service.delete_policy(session, policy_id)
    return see_other("/admin/sla-policies")


@router.post("/admin/sla-policies/{policy_id}/apply")
async def apply_policy(
    policy_id: Id, user: WebAdmin, session: SessionDep, client: TemporalDep
) -> Response:
    job = await service.apply_policy(session, client, user, policy_id)
    return see_other(f"/admin/jobs/{job.id}")


@router.get("/admin/jobs/{job_id}")
async def job(request: Request, job_id: JobId, user: WebStaff, session: SessionDep) -> Response:
    found = await service.get_job(session, job_id)
    return page(request, "admin/job.html", {"user": user, "job": found})


# ---------------------------------------------------------------- YAML


@router.get("/admin/sla-yaml")
async def yaml_page(request: Request, user: WebAdmin) -> Response:
    return page(request, "admin/sla_yaml.html", {"user": user})


@router.get("/admin/sla-yaml/export")
async def yaml_export(user: WebAdmin, session: SessionDep) -> Response:
    return Response(
        await sla_io.export_yaml(session),
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="sla.yaml"'},
    )


@router.post("/admin/sla-yaml")
async def yaml_import(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    form = await request.form()
    dry_run = form.get("action") != "import"
    file = form.get("file")
    context: dict[str, Any] = {"user": user, "dry_run": dry_run}
    text = ""
    if file is None or isinstance(file, str) or not file.filename:
        context["problems"] = [("file", _("choose a YAML file to upload"))]
    else:
        context["filename"] = file.filename
        raw = await file.read(MAX_UPLOAD + 1)
        try:
            if len(raw) > MAX_UPLOAD:
                raise ValueError
            text = raw.decode("utf-8")
        except (UnicodeDecodeError, ValueError):
            context["problems"] = [("file", _("the file must be UTF-8 text of at most 1 MiB"))]
    if "problems" not in context:
        try:
            context["changes"] = await sla_io.import_text(session, text, dry_run=dry_run)
        except sla_io.ImportRejected as exc:
            # The checks the forms share say their problems in the reader's language here too.
            context["problems"] = [
                (where, problem_text(message)) for where, message in exc.problems
            ]
    status = 422 if "problems" in context else 200
    if status == 422:
        context["error"] = _("The file was not applied: nothing changed. Fix every problem listed.")
    return page(request, "admin/sla_yaml.html", context, status)


# ---------------------------------------------------------------- a ticket's clocks


@router.get("/tickets/{number}/sla")
async def ticket_sla(
    request: Request,
    number: TicketNumber,
    user: WebStaff,
    session: SessionDep,
    ticket_client: TicketsDep,
) -> Response:
    """The ticket page's SLA panel with the clocks as they stand now (htmx refreshes it)."""
    ticket = await tickets.get_ticket(session, user, number)
    clocks = await sla_clocks.live_clocks(ticket_client, ticket)
    context = {
        "user": user,
        "ticket": ticket,
        "clocks": ticket.sla_clocks if clocks is None else clocks,
        "live": clocks is not None,
    }
    return page(request, "agent/_sla_panel.html", context)


# ---------------------------------------------------------------- notifications


@router.get("/notifications")
async def notifications(request: Request, user: WebUser, session: SessionDep) -> Response:
    items = await notices.list_notifications(session, user, limit=100)
    return page(request, "notifications.html", {"user": user, "notifications": items})


@router.post("/notifications/read")
async def mark_all_read(user: WebUser, session: SessionDep) -> Response:
    await notices.mark_read(session, user, None)
    return see_other("/notifications")
