"""The web UI's ticket action forms, one route per action, made from the action registry.

A form posts the action's fields to `/tickets/{number}<path>`, the same path as the API
(`api.routers.ticket_actions`); its text fields are read into the action's request
model (`api.ticket_requests`), so a form and a JSON body are held to the same rules,
and the same service function takes the action. A form may say where to go afterwards
(`next`, a path on this site, e.g. the task list); a refused action shows that page
again with the error, and on the ticket page with the form's input kept.
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.datastructures import FormData

from api.deps import SessionDep, TicketsDep
from api.errors import ApiError
from api.services import ticket_actions
from api.ticket_requests import path_params, request_model
from web.common import (
    TicketNumber,
    WebUser,
    parse,
    safe_next,
    see_other,
    validated,
)
from web.i18n import _
from web.routing_routes import _tasks_page
from web.tickets import ticket_page
from workflows.ticket.actions import ACTIONS, Action
from workflows.ticket.fields import Ref, RefKind, rules_of

router = APIRouter(include_in_schema=False)

TASKS = "/tasks"


def form_values(model: type[BaseModel], form: FormData) -> dict[str, Any]:
    """A form's fields as the request model reads them from text: a ticked box is true and
    an unticked one (absent) false, a list takes every value sent, a blank choice of a
    field that may be null is null, a blank one of a field with a default is left out."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = get_args(annotation)
        nullable = type(None) in args
        if annotation is bool:
            sent = form.get(name)
            data[name] = "false" if sent is None else str(sent) or "true"
        elif get_origin(annotation) is list or list in (get_origin(a) for a in args):
            data[name] = [str(v) for v in form.getlist(name)]
        elif name in form:
            text = str(form.get(name, "")).strip()
            if _is_ticket_number(model, name):
                text = text.lstrip("#")  # people write ticket numbers as #1234
            if text:
                data[name] = text
            elif nullable:
                data[name] = None
            elif info.is_required():
                data[name] = ""
    return data


def parse_form(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    """The request a form's values make; an `ApiError` naming the field at fault.

    Text is read as a query string is ("3" is the number 3); a list (ticked files) is read
    as values, which reading from text does not take."""
    lists = {k: v for k, v in values.items() if isinstance(v, list)}
    parsed: BaseModel = parse(model, {k: v for k, v in values.items() if k not in lists})
    if not lists:
        return parsed
    return validated(model, {**parsed.model_dump(exclude_unset=True), **lists})


def _is_ticket_number(model: type[BaseModel], name: str) -> bool:
    return any(
        isinstance(r, Ref) and r.kind == RefKind.MAJOR_INCIDENT for r in rules_of(model, name)
    )


def _handler(action: Action[Any]) -> Any:
    route = action.route
    assert route is not None
    body = request_model(action)
    names = path_params(route)

    async def take(
        request: Request,
        number: TicketNumber,
        user: WebUser,
        session: SessionDep,
        tickets: TicketsDep,
    ) -> Response:
        form = await request.form()
        next_path = safe_next(str(form.get("next") or f"/tickets/{number}"))
        values = form_values(body, form)
        try:
            path = {name: _path_int(request, name) for name in names}
            await ticket_actions.take(
                session, tickets, user, number, action, parse_form(body, values), None, path
            )
        except ApiError as exc:
            if exc.status == 404:
                raise
            if next_path.startswith(TASKS) and user.is_staff:
                return await _tasks_page(request, user, session, error=exc)
            kept = {k: v for k, v in values.items() if isinstance(v, str)}
            return await ticket_page(
                request, user, session, number, error=exc, values=kept, failed=action.name
            )
        return see_other(next_path)

    take.__name__ = f"web_{action.name}"
    take.__doc__ = route.summary
    return take


def _path_int(request: Request, name: str) -> int:
    """A path number the route's pattern matched (digits only, so it parses)."""
    text = str(request.path_params[name])
    if not text.isdigit() or int(text) > 2**31 - 1:
        raise ApiError(
            404, _("there is no page at %(path)s", path=request.url.path), code="not_found"
        )
    return int(text)


for _action in ACTIONS.values():
    if _action.route is not None:
        router.post("/tickets/{number}" + _action.route.path)(_handler(_action))
