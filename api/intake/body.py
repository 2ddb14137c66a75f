"""Reading a monitoring tool's body: JSON, checked by a model, that the database can store.

Every refusal is a 400 with code `invalid_event` (what PagerDuty answers for an
invalid event) naming the field at fault, e.g. `payload.severity` or
`alerts.0.status`; `errors` lists every field at fault when there are several.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from api.errors import ApiError

T = TypeVar("T")

# Messages that would otherwise name our classes ("instance of Payload").
_MESSAGES = {
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "list_type": "must be a list",
}


def bad(field: str, message: str) -> ApiError:
    """The 400 for one field at fault."""
    return ApiError(400, f"{field}: {message}", field=field, code="invalid_event")


def read_json(raw: bytes) -> Any:
    """The body parsed as JSON, or a 400 (no field) saying why it is not JSON."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # ValueError: bad UTF-8, bad JSON, an integer beyond Python's digit limit.
        raise ApiError(400, f"the body is not JSON: {exc}", code="invalid_event") from exc


def check_storable(value: Any, where: tuple[str | int, ...] = ()) -> None:
    """A 400 naming the place in `value` (found at `where` in the body) that PostgreSQL's
    JSONB cannot store: a NUL character in a string or key, or NaN or Infinity (which
    Python's JSON parser takes, though they are not JSON).

    Called on what an event stores, and only on that: what is not stored may hold them.
    """
    found = _unstorable(value, where)
    if found is not None:
        path, message = found
        raise bad(".".join(str(p) for p in path) or "body", message)


def _unstorable(
    value: Any, path: tuple[str | int, ...]
) -> tuple[tuple[str | int, ...], str] | None:
    if isinstance(value, str):
        return (path, "must not contain NUL characters") if "\x00" in value else None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, "must be a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return path, "must not have a name with NUL characters"
            found = _unstorable(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable(item, (*path, index))
            if found is not None:
                return found
    return None


def field_of(error: ErrorDetails) -> str:
    """`("alerts", 0, "status")` -> "alerts.0.status"; the body itself is "body"."""
    return ".".join(str(part) for part in error["loc"]) or "body"


def refused(exc: ValidationError) -> ApiError:
    """The 400 for a body its model refused, naming the first field at fault."""
    errors = [
        {"field": field_of(e), "message": _MESSAGES.get(e["type"], e["msg"])}
        for e in exc.errors(include_url=False)
    ]
    first = errors[0]
    return ApiError(
        400,
        "; ".join(f"{e['field']}: {e['message']}" for e in errors),
        field=first["field"],
        code="invalid_event",
        errors=errors,
    )


class SourceModel(BaseModel):
    """A monitoring tool's format: fields beyond the documented ones are kept, not refused."""

    model_config = ConfigDict(extra="allow")


def not_blank(value: str) -> str:
    """Refuses a text of blanks only; the value is kept as sent (not trimmed)."""
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value


def _iso_8601(value: str) -> str:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError("date_time", "must be an ISO 8601 date-time") from None
    return value


Timestamp = Annotated[
    str, AfterValidator(_iso_8601), Field(json_schema_extra={"format": "date-time"})
]
"""An ISO 8601 date-time as Python reads it (RFC 3339 included), kept as the string sent."""


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


Recorded = Annotated[T | None, WrapValidator(_or_none)]
"""A documented field the intake only records: a value of another type is stored as
received and read as None, never refused."""


def _strings(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError("strings", "must be an object of strings") from None


StringMap = Annotated[dict[str, str], WrapValidator(_strings)]
"""An object whose values are all strings (labels, annotations); refused as a whole."""
