"""One error shape for the whole API, and the mapping from workflow rejections to HTTP.

Every error body is `{"detail": <message a person can act on>, "field": <name or null>,
"code": <stable machine code>}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflows.ticket.errors import Param, RuleViolation, Sentence, ViolationKind, english

STATUS_BY_KIND = {
    ViolationKind.ILLEGAL_STATE: 409,
    ViolationKind.FORBIDDEN: 403,
    ViolationKind.INVALID_FIELD: 422,
    ViolationKind.UNAVAILABLE: 503,
    ViolationKind.TIMEOUT: 504,
}
"""The one mapping of a refused change to its HTTP status."""


class ApiError(Exception):
    """An answer other than success. `detail` is English: the JSON API's `detail`. Raised
    with a catalogue message id (`refused`), `message_id` and `params` let the web UI write
    it in its reader's language (`web.i18n.error_text`)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        code: str = "error",
        errors: list[dict[str, str]] | None = None,
        message_id: str | None = None,
        params: Mapping[str, Param] | None = None,
        problems: list[str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.code = code
        self.errors = errors
        self.message_id = message_id
        self.params: dict[str, Param] = dict(params or {})
        self.problems = problems
        """The sentences a one-field `detail` joins with "; ", for a page to say each in
        its reader's language."""

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail, "field": self.field, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def invalid(problems: list[tuple[str, str]], prefix: str = "") -> ApiError:
    """422 naming every field at fault (`problems` as (field, message) pairs)."""
    errors = [{"field": prefix + field, "message": message} for field, message in problems]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return ApiError(422, detail, field=errors[0]["field"], code="invalid_field", errors=errors)


def as_problem(error: ApiError) -> str:
    """An error as one problem of a list that `invalid` answers: its English detail, which
    keeps its message id where it has one (so a page can still translate it)."""
    if error.message_id is None:
        return error.detail
    return Sentence(error.message_id, **error.params)


def refused(
    status: int,
    message_id: str,
    /,
    *,
    field: str | None = None,
    code: str = "error",
    **params: Param,
) -> ApiError:
    """An `ApiError` written as a catalogue message id (marked with `N_`) and its
    parameters; its English `detail` is the id filled in."""
    return ApiError(
        status,
        english(message_id, params),
        field=field,
        code=code,
        message_id=message_id,
        params=params,
    )


def not_found(what: str) -> ApiError:
    """404 for `what` (English only; `missing` is the same written as a message id)."""
    return ApiError(404, f"{what} not found", code="not_found")


def missing(message_id: str, **params: Param) -> ApiError:
    """404 whose message id names what was not found ("ticket #%(number)s not found")."""
    return ApiError(
        404, english(message_id, params), code="not_found", message_id=message_id, params=params
    )


def from_violation(exc: RuleViolation) -> ApiError:
    """A refused change (by the rules, the ticket's workflow or the engine) as the API error
    a person sees."""
    return ApiError(
        STATUS_BY_KIND[exc.kind],
        exc.message,
        field=exc.field,
        code=exc.kind.value,
        message_id=exc.message_id,
        params=exc.params,
    )


def _field_of(loc: tuple[Any, ...]) -> str | None:
    """`("body", "subject")` -> "subject"; the first element only says where the field was."""
    if loc and loc[0] in ("body", "query", "path", "header", "cookie", "form"):
        loc = loc[1:]
    return ".".join(str(p) for p in loc) or None


def api_error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(
        {"detail": exc.detail, "field": None, "code": "http_error"},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return api_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _field_of(tuple(first.get("loc", ())))
        message = f"{field}: {first['msg']}" if field else str(first["msg"])
        body = {
            "detail": message,
            "field": field,
            "code": "invalid_field",
            "errors": [
                {"field": _field_of(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
                for e in errors
            ],
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(exc)
