"""Each ticket action's request, derived from its declaration.

The body of `POST /tickets/{number}<path>` is the action's message without its actor
(or the request model the action names), every field rule turned into the body's
constraint, so a bad field is a 422 naming it and the OpenAPI schema says what is
allowed; the web UI's form for the action validates into the same model. Nothing here
is written per action: adding an action to `workflows.ticket.actions` adds its request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, create_model
from pydantic.fields import FieldInfo

from api.schemas import MAX_BIGINT, DbId, Strict
from workflows.ticket.actions import Action, Route
from workflows.ticket.fields import Aware, Items, Level, OneOf, Ref, RefKind, Text, rules_of
from workflows.ticket.messages import Actor, TicketState

_PATH_PARAM = re.compile(r"{(\w+)}")
_TICKET_NUMBER = Annotated[int, Field(ge=1, le=MAX_BIGINT, strict=True)]


def path_params(route: Route) -> tuple[str, ...]:
    """The message fields a route's path fills (`/consults/{consult_seq}/answer`)."""
    return tuple(_PATH_PARAM.findall(route.path))


def _aware(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError("needs a time zone, e.g. 2026-12-01T09:00+01:00")
    return value


def _annotation(info: FieldInfo, rules: list[object]) -> Any:
    """The request's type of one message field: its rules as constraints."""
    optional = info.annotation is not None and type(None) in getattr(
        info.annotation, "__args__", ()
    )
    base: Any = info.annotation
    for rule in rules:
        if isinstance(rule, Text):
            base = Annotated[
                str,
                StringConstraints(min_length=1 if rule.required else 0, max_length=rule.maximum),
            ]
        elif isinstance(rule, Level):
            base = Annotated[int, Field(ge=1, le=3, strict=True, description="1 = high, 3 = low")]
        elif isinstance(rule, OneOf):
            base = rule.choices
        elif isinstance(rule, Ref) and rule.kind == RefKind.MAJOR_INCIDENT:
            base = _TICKET_NUMBER
        elif isinstance(rule, Ref) and rule.kind == RefKind.PUBLIC_FILE:
            limit = next((r.maximum for r in rules if isinstance(r, Items)), None)
            base = Annotated[list[uuid.UUID], Field(max_length=limit)]
        elif isinstance(rule, Ref):
            base = DbId
        elif isinstance(rule, Aware):
            base = Annotated[datetime, AfterValidator(_aware)]
        if isinstance(rule, (Text, Level, OneOf, Ref, Aware)):
            break
    else:
        if info.annotation is bool:
            base = Annotated[bool, Field(strict=True)]
        elif info.annotation is int:
            base = Annotated[int, Field(strict=True)]
    if base is info.annotation:
        return base
    typed = base | None if optional else base
    # The rules go along (pydantic ignores them): the API looks up each `Ref` of a request.
    return Annotated[typed, *rules] if rules else typed


@cache
def request_model(action: Action[Any]) -> type[BaseModel]:
    """The body an action's request carries (built once per action)."""
    assert action.route is not None, f"{action.name} is not a request of its own"
    source = action.route.request or action.message
    skip = {"actor", *path_params(action.route)}
    fields: dict[str, Any] = {}
    for name, info in source.model_fields.items():
        if name in skip:
            continue
        annotation = _annotation(info, rules_of(source, name))
        default: Any = ... if info.is_required() else info.get_default(call_default_factory=True)
        fields[name] = (annotation, Field(default, description=info.description))
    model: type[BaseModel] = create_model(
        _model_name(action), __base__=Strict, __doc__=source.__doc__, **fields
    )
    return model


def _model_name(action: Action[Any]) -> str:
    return "".join(part.capitalize() for part in action.name.split("_")) + "Body"


def message_of(
    action: Action[Any],
    request: BaseModel,
    actor: Actor,
    state: Callable[[], TicketState],
    path: dict[str, Any] | None = None,
) -> BaseModel:
    """The message a request asks the ticket for; `state` gives the ticket as it is, for
    the requests that depend on it (read only then: most do not)."""
    route = action.route
    assert route is not None
    if route.to_message is not None:
        return route.to_message(request, actor, state())
    values = {name: _plain(getattr(request, name)) for name in type(request).model_fields}
    message: BaseModel = action.message.model_validate({**values, **(path or {}), "actor": actor})
    return message


def _plain(value: Any) -> Any:
    """Request values as the message carries them (choices as values, files as ids)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [str(v) if isinstance(v, uuid.UUID) else v for v in value]
    return value
