"""HTML routes. They call the same service functions as the JSON API."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

from annotated_types import Le
from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    Principal,
    authenticate,
    check_csrf,
    end_session,
    start_session,
)
from api.deps import SessionDep, SettingsDep, TicketsDep
from api.errors import ApiError, api_error_response, http_error_response
from api.schemas import (
    MAX_BIGINT,
    MAX_INT,
    SEARCH_MAX,
    DeskSettings,
    TicketCreate,
    TokenCreate,
)
from api.security import new_secret, same
from api.services import attachments, desk, directory, incidents, notifications, ticket_actions
from api.services import tickets as service
from models import User
from web.render import page
from workflows.choices import (
    LEVEL_CHOICES,
    LEVELS,
    OPEN_STATUSES,
    PRIORITIES,
    Channel,
    Role,
    Status,
    TicketType,
)

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "tempodesk_login_csrf"

# Ticket numbers are BIGINT: a larger number in the URL is simply no ticket,
# not a database error.
TicketNumber = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


async def _web_user(request: Request, session: SessionDep) -> Principal:
    principal = await authenticate(request, session)
    if principal is None:
        raise LoginRequired(_return_path(request))
    await check_csrf(request, principal)
    # Error pages show the menu to whoever is logged in.
    request.state.web_user = principal
    if principal.is_staff:
        # The header shows staff how many notifications they have not read; its script
        # keeps that live from the newest notification the page was rendered with.
        request.state.badge = await notifications.badge(session, principal)
    return principal


def _return_path(request: Request) -> str:
    """Where to go after logging in: the page asked for, never the address a form posts to."""
    if request.method == "GET":
        path, query = request.url.path, request.url.query
    else:
        # A form sent with an expired session: back to the page that showed the form.
        referer = urlsplit(request.headers.get("referer", ""))
        if referer.netloc != request.url.netloc or not referer.path:
            return "/"
        path, query = referer.path, referer.query
    return path + (f"?{query}" if query else "")


WebUser = Annotated[Principal, Depends(_web_user)]


async def _web_staff(user: WebUser) -> Principal:
    if not user.is_staff:
        raise ApiError(403, "this page is for agents", code="forbidden")
    return user


async def _web_admin(user: WebUser) -> Principal:
    if not user.is_admin:
        raise ApiError(403, "this page is for admins", code="forbidden")
    return user


WebStaff = Annotated[Principal, Depends(_web_staff)]
WebAdmin = Annotated[Principal, Depends(_web_admin)]


def _safe_next(value: str | None) -> str:
    # Only a path on this site: browsers read `//host` and `/\\host` as another host.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """Validate form input, which is all text: "3" is read as the number 3, as in a query string.

    The API's schemas are strict about JSON types; a form cannot send anything but strings.
    """
    try:
        return model.model_validate_strings(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _validated(model: type[M], data: dict[str, Any]) -> M:
    """Validate input a route has already turned into values (lists, numbers, flags)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> ApiError:
    """The first problem pydantic found, as the 422 that names the form field."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    return ApiError(
        422,
        f"{field}: {first['msg']}" if field else first["msg"],
        field=field,
        code="invalid_field",
    )


def _form_dict(form: Any, *, drop: tuple[str, ...] = (CSRF_FIELD,)) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key in drop or not isinstance(value, str):
            continue
        data[key] = value
    return data


def _without_blank(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """`data` without those of `keys` left blank: an unchosen "—" option means the default."""
    return {k: v for k, v in data.items() if not (k in keys and v == "")}


def _error_page(request: Request, status: int, message: str) -> Response:
    user = getattr(request.state, "web_user", None)
    context = {"status": status, "message": message, "user": user}
    response: Response = page(request, "error.html", context, status)
    return response


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        url = f"/login?next={quote(exc.next_path)}"
        if request.headers.get("HX-Request") == "true":
            # The XHR would follow a redirect and swap the login page into the table;
            # HX-Redirect makes htmx load the login page as a page instead.
            return Response(status_code=401, headers={"HX-Redirect": url})
        return _see_other(url)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if request.url.path.startswith("/api/"):
            return api_error_response(exc)
        return _error_page(request, exc.status, exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(("/api/", "/static/")):
            return http_error_response(exc)
        response = _error_page(request, exc.status_code, exc.detail)
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    api_validation_error = app.exception_handlers[RequestValidationError]

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return await api_validation_error(request, exc)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = tuple(first.get("loc", ()))
        if loc and loc[0] == "path":
            # A malformed URL such as /tickets/abc names nothing that exists.
            status, message = 404, f"there is no page at {request.url.path}"
        else:
            field = ".".join(str(p) for p in loc[1:]) or None
            status = 422
            message = f"{field}: {first['msg']}" if field else str(first["msg"])
        return _error_page(request, status, message)

    api_server_error = app.exception_handlers.get(Exception)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> Response:
        # Starlette still logs the exception; this only chooses what the person sees.
        if request.url.path.startswith(("/api/", "/static/")):
            if api_server_error is not None:
                return await api_server_error(request, exc)
            return PlainTextResponse("Internal Server Error", status_code=500)
        return _error_page(request, 500, "something went wrong on our side; try again in a moment")


# ---------------------------------------------------------------- login


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_secret()
    response = page(
        request, "login.html", {"next": _safe_next(next), "login_csrf": token, "user": None}
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/login")
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    next_path = _safe_next(str(form.get("next", "/")))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = str(form.get(CSRF_FIELD, ""))
    context = {
        "next": next_path,
        "login_csrf": expected or new_secret(),
        "user": None,
        "email": email,
    }
    if not expected or not same(sent, expected):
        return page(
            request, "login.html", {**context, "error": "The form expired; try again."}, 403
        )
    user = await directory.login(session, email, password)
    if user is None:
        return page(request, "login.html", {**context, "error": "Email or password is wrong."}, 401)
    secret = await start_session(session, user.id, settings.session_hours)
    response = _see_other(next_path)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, user: WebUser, session: SessionDep) -> Response:
    await end_session(session, request.cookies.get(SESSION_COOKIE))
    response = _see_other("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
async def home(user: WebUser) -> Response:
    return _see_other("/queue" if user.is_staff else "/portal")


# ---------------------------------------------------------------- agent workspace

QUEUES = {"mine": "Mine", "groups": "My groups", "unassigned": "Unassigned", "all": "All"}
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


async def _with_people(session: SessionDep, people: list[Any], wanted: list[Any]) -> list[Any]:
    """A choice list of people (the first ones by name) plus the ones already chosen, so a
    form shown again, or a ticket's current assignee, never loses its person."""
    have = {p.id for p in people}
    for value in wanted:
        text = str(value or "")
        if text.isdigit() and int(text) not in have and int(text) <= MAX_INT:
            found = await session.get(User, int(text))
            if found is not None:
                people = [*people, directory.user_public(found)]
                have.add(found.id)
    return people


async def _new_ticket_context(
    session: SessionDep, user: Principal, chosen: dict[str, Any] | None = None
) -> dict[str, Any]:
    chosen = chosen or {}
    customers = await directory.list_users(session, roles=[Role.CUSTOMER])
    agents = await directory.list_users(session, roles=[Role.AGENT, Role.MANAGER, Role.ADMIN])
    return {
        "user": user,
        "customers": await _with_people(session, customers, [chosen.get("requester_id")]),
        "groups": await directory.list_groups(session),
        "agents": await _with_people(session, agents, [chosen.get("assignee_id")]),
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
    data = _form_dict(form, drop=(CSRF_FIELD, "idempotency_key"))
    key = str(form.get("idempotency_key") or "") or None
    try:
        body = _parse(TicketCreate, _without_blank(data, "requester_id", "group_id", "assignee_id"))
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
            error=exc.detail,
            error_field=exc.field,
            # Keep the key: no ticket was opened, and a retry must still open only one.
            # A key the service refused cannot succeed, though; the retry gets a new one.
            idempotency_key=key if key and exc.field != "Idempotency-Key" else uuid.uuid4().hex,
        )
        template = "agent/new.html" if user.is_staff else "portal/new.html"
        return page(request, template, context, exc.status)
    return _see_other(f"/tickets/{ticket.number}")


async def _ticket_page(
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
        "error": error.detail if error else None,
        "error_field": error.field if error else None,
        # Input goes back only into the form it came from: a failed internal note
        # must not reappear in the reply box, one click away from the customer.
        "values": values or {},
        "failed": failed,
    }
    if user.is_staff:
        context["groups"] = await directory.list_groups(session)
        context["agents"] = await _with_people(
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
    return await _ticket_page(request, user, session, number)


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
        if file is None or isinstance(file, str) or not file.filename:
            raise ApiError(422, "choose a file to upload", field="file", code="invalid_field")
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
        return await _ticket_page(request, user, session, number, error=exc)
    return _see_other(f"/tickets/{number}#attachments")


# ---------------------------------------------------------------- portal


@router.get("/portal")
async def portal(
    request: Request, user: WebUser, session: SessionDep, cursor: str | None = None
) -> Response:
    filters = service.TicketFilters(queue="all", sort="-updated_at")
    result = await service.list_tickets(session, user, filters, cursor)
    return page(request, "portal/index.html", {"user": user, "page": result})


# ---------------------------------------------------------------- tokens and admin


@router.get("/settings/tokens")
async def tokens_page(request: Request, user: WebUser, session: SessionDep) -> Response:
    tokens = await directory.list_tokens(session, user)
    return page(request, "settings/tokens.html", {"user": user, "tokens": tokens})


@router.post("/settings/tokens")
async def create_token(request: Request, user: WebUser, session: SessionDep) -> Response:
    form = await request.form()
    try:
        body = _parse(TokenCreate, {"name": str(form.get("name", ""))})
    except ApiError as exc:
        tokens = await directory.list_tokens(session, user)
        return page(
            request,
            "settings/tokens.html",
            {"user": user, "tokens": tokens, "error": exc.detail, "error_field": exc.field},
            exc.status,
        )
    created = await directory.create_token(session, user.id, body.name)
    tokens = await directory.list_tokens(session, user)
    return page(
        request, "settings/tokens.html", {"user": user, "tokens": tokens, "created": created}
    )


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_INT)], user: WebUser, session: SessionDep
) -> Response:
    await directory.revoke_token(session, user, token_id)
    return _see_other("/settings/tokens")


def _desk_form(settings: DeskSettings) -> dict[str, Any]:
    """The settings as the admin form shows them: priorities per cell, the window in hours."""
    return {
        "matrix": [[str(p) for p in row] for row in settings.priority_matrix],
        "hours": f"{settings.reopen_window_seconds / 3600:g}",
    }


def _max_reopen_hours() -> float:
    limits = DeskSettings.model_fields["reopen_window_seconds"].metadata
    return next(float(m.le) for m in limits if isinstance(m, Le)) / 3600


def _desk_settings(matrix: list[list[str]], hours_text: str) -> DeskSettings:
    """The admin form's input as settings, or an ApiError naming the form field to fix."""
    cells: list[list[int]] = []
    for i, row in zip(LEVELS, matrix, strict=True):
        cells.append([])
        for u, text in zip(LEVELS, row, strict=True):
            if not text.isdigit() or int(text) not in PRIORITIES:
                raise ApiError(
                    422,
                    f"priority for impact {LEVEL_CHOICES[i].label}, urgency "
                    f"{LEVEL_CHOICES[u].label} must be one of P1..P{PRIORITIES[-1]}",
                    field=f"m_{i}_{u}",
                    code="invalid_field",
                )
            cells[-1].append(int(text))
    try:
        hours = float(hours_text.replace(",", "."))
    except ValueError:
        hours = math.nan
    maximum = _max_reopen_hours()
    # float() also reads "nan" and "inf", which no window can be.
    if not (math.isfinite(hours) and 0 <= hours <= maximum):
        raise ApiError(
            422,
            f"reopen_window_hours must be a number of hours from 0 to {maximum:g}",
            field="reopen_window_hours",
            code="invalid_field",
        )
    return DeskSettings.model_validate(
        {"priority_matrix": cells, "reopen_window_seconds": round(hours * 3600)}
    )


@router.get("/admin/settings")
async def admin_settings(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    current = await desk.get_settings(session)
    return page(request, "admin/settings.html", {"user": user, **_desk_form(current)})


@router.post("/admin/settings")
async def save_admin_settings(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    form = await request.form()
    matrix = [[str(form.get(f"m_{i}_{u}", "")).strip() for u in LEVELS] for i in LEVELS]
    hours = str(form.get("reopen_window_hours", "")).strip()
    try:
        saved = await desk.put_settings(session, _desk_settings(matrix, hours))
    except ApiError as exc:
        # Show the admin what they sent, not the stored values, so they can fix it.
        context = {
            "user": user,
            "matrix": matrix,
            "hours": hours,
            "error": exc.detail,
            "error_field": exc.field,
        }
        return page(request, "admin/settings.html", context, exc.status)
    return page(request, "admin/settings.html", {"user": user, **_desk_form(saved), "saved": True})
