"""One endpoint per ticket action, made from the action registry.

`POST /tickets/{number}<path>` for every action in `workflows.ticket.actions.ACTIONS`
that has a route: its body is the action's request (`api.ticket_requests`), staff-only
actions refuse customers at the door, and every one is retry-safe with an
Idempotency-Key. Nothing here is written per action.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.deps import CurrentUser, SessionDep, StaffUser, TicketsDep
from api.routers.tickets import IdempotencyKey, TicketNumber
from api.schemas import MAX_INT, TicketPublic
from api.services import ticket_actions as service
from api.ticket_requests import path_params, request_model
from workflows.ticket.actions import ACTIONS, Action

router = APIRouter(prefix="/tickets", tags=["tickets"])

_PATH_INT = Annotated[int, Path(ge=1, le=MAX_INT)]


def _endpoint(action: Action[Any]) -> Any:
    """The handler of one action, with the signature FastAPI reads its parameters from."""
    route = action.route
    assert route is not None
    body = request_model(action)
    names = path_params(route)

    async def endpoint(**given: Any) -> TicketPublic:
        request = given["body"] if given["body"] is not None else body()
        return await service.take(
            given["session"],
            given["tickets"],
            given["user"],
            given["number"],
            action,
            request,
            given["idempotency_key"],
            {name: given[name] for name in names},
        )

    kw = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("number", kw, annotation=TicketNumber),
        *(inspect.Parameter(name, kw, annotation=_PATH_INT) for name in names),
        inspect.Parameter(
            "body",
            kw,
            annotation=body | None if route.optional_body else body,
            default=None if route.optional_body else inspect.Parameter.empty,
        ),
        inspect.Parameter("user", kw, annotation=StaffUser if route.staff_only else CurrentUser),
        inspect.Parameter("session", kw, annotation=SessionDep),
        inspect.Parameter("tickets", kw, annotation=TicketsDep),
        inspect.Parameter("idempotency_key", kw, annotation=IdempotencyKey, default=None),
    ]
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=TicketPublic)  # type: ignore[attr-defined]
    endpoint.__name__ = action.name
    endpoint.__doc__ = route.summary
    return endpoint


for _action in ACTIONS.values():
    if _action.route is not None:
        router.post(
            "/{number}" + _action.route.path, name=_action.name, response_model=TicketPublic
        )(_endpoint(_action))
