"""What every HTML route shares: who is logged in (and may see the page), reading forms,
redirects, and the error pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import (
    CSRF_FIELD,
    Principal,
    authenticate,
    check_csrf,
)
from api.deps import SessionDep
from api.errors import ApiError, api_error_response, http_error_response
from api.schemas import (
    MAX_BIGINT,
)
from api.services import notifications
from web import i18n
from web.errors import error_text, form_error, problem
from web.i18n import _
from web.render import page

# Ticket numbers are BIGINT: a larger number in the URL is simply no ticket,
# not a database error.
TicketNumber = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


async def web_user(request: Request, session: SessionDep) -> Principal:
    principal = await authenticate(request, session)
    if principal is None:
        raise LoginRequired(return_path(request))
    await check_csrf(request, principal)
    # The middleware read the request's headers; the person's own settings win.
    i18n.read_as(
        i18n.for_person(
            i18n.current(),
            principal.language,
            principal.timezone,
            principal.date_calendar,
            principal.digits,
        )
    )
    # Error pages show the menu to whoever is logged in.
    request.state.web_user = principal
    if principal.is_staff:
        # The header shows staff how many notifications they have not read; its script
        # keeps that live from the newest notification the page was rendered with.
        request.state.badge = await notifications.badge(session, principal)
    return principal


def return_path(request: Request) -> str:
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


WebUser = Annotated[Principal, Depends(web_user)]


async def web_staff(user: WebUser) -> Principal:
    if not user.is_staff:
        raise ApiError(403, _("this page is for agents"), code="forbidden")
    return user


async def web_admin(user: WebUser) -> Principal:
    if not user.is_admin:
        raise ApiError(403, _("this page is for admins"), code="forbidden")
    return user


WebStaff = Annotated[Principal, Depends(web_staff)]
WebAdmin = Annotated[Principal, Depends(web_admin)]


def safe_next(value: str | None) -> str:
    # Only a path on this site: browsers read `//host` and `/\\host` as another host.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """Validate form input, which is all text: "3" is read as the number 3, as in a query string.

    The API's schemas are strict about JSON types; a form cannot send anything but strings.
    """
    try:
        return model.model_validate_strings(data)
    except ValidationError as exc:
        raise invalid(exc) from None


def validated(model: type[M], data: dict[str, Any]) -> M:
    """Validate input a route has already turned into values (lists, numbers, flags)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc) from None


def invalid(exc: ValidationError) -> ApiError:
    """The first problem pydantic found, as the 422 that names the form field (in the
    reader's language where the page shows it: `web.errors.form_error`)."""
    return form_error(exc)


def form_dict(form: Any, *, drop: tuple[str, ...] = (CSRF_FIELD,)) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key in drop or not isinstance(value, str):
            continue
        data[key] = value
    return data


def without_blank(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """`data` without those of `keys` left blank: an unchosen "—" option means the default."""
    return {k: v for k, v in data.items() if not (k in keys and v == "")}


def error_page(request: Request, status: int, message: str) -> Response:
    user = getattr(request.state, "web_user", None)
    context = {"status": status, "message": message, "user": user}
    response: Response = page(request, "error.html", context, status)
    return response


Handler = Callable[[Request, Exception], Awaitable[Response]]


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        url = f"/login?next={quote(exc.next_path)}"
        if request.headers.get("HX-Request") == "true":
            # The XHR would follow a redirect and swap the login page into the table;
            # HX-Redirect makes htmx load the login page as a page instead.
            return Response(status_code=401, headers={"HX-Redirect": url})
        return see_other(url)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if request.url.path.startswith("/api/"):
            return api_error_response(exc)
        return error_page(request, exc.status, error_text(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(("/api/", "/static/")):
            return http_error_response(exc)
        response = error_page(request, exc.status_code, exc.detail)
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    # The API's own handlers (api/errors.py), for the paths under /api/.
    api_validation_error = cast(Handler, app.exception_handlers[RequestValidationError])

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return await api_validation_error(request, exc)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": _("invalid request")}
        loc = tuple(first.get("loc", ()))
        if loc and loc[0] == "path":
            # A malformed URL such as /tickets/abc names nothing that exists.
            status, message = 404, _("there is no page at %(path)s", path=request.url.path)
        else:
            field = ".".join(str(p) for p in loc[1:]) or None
            status = 422
            message = error_text(problem(cast(ErrorDetails, first), field))
        return error_page(request, status, message)

    api_server_error = cast(Handler | None, app.exception_handlers.get(Exception))

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> Response:
        # Starlette still logs the exception; this only chooses what the person sees.
        if request.url.path.startswith(("/api/", "/static/")):
            if api_server_error is not None:
                return await api_server_error(request, exc)
            return PlainTextResponse("Internal Server Error", status_code=500)
        return error_page(
            request, 500, _("something went wrong on our side; try again in a moment")
        )
