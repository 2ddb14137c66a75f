"""An error as its reader reads it: a refusal of the rules or an API error, in the reader's
language, and the problems pydantic finds in a form, named by field.

The rules and the service functions raise errors as catalogue message ids with parameters
(`workflows.ticket.errors.refuse`, `api.errors.refused`); their English text is what the
JSON API answers. A page shows `error_text(exc)` instead, so that a Persian agent reads
the refusal in Persian (docs/i18n.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from babel.lists import format_list
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from api.errors import ApiError
from web.formats import digits
from web.i18n import _, current, gettext
from workflows.choices import N_, STATUS_CHOICES
from workflows.ticket.errors import Param, RuleViolation, Sentence

STATUS_PARAMETERS = frozenset({"status", "allowed"})
"""Parameters that hold a ticket status's value (or a list of them): a reader sees each as
its label in their language."""

_STATUS_LABELS = {status.value: choice.label for status, choice in STATUS_CHOICES.items()}


def error_text(error: ApiError | RuleViolation) -> str:
    """The error in the current reader's language.

    An error raised with a message id is translated and filled from its parameters (a
    status as its label, a list in the reader's list style, a number in their digits). Its
    English text is shown where the id has no translation (English readers, a language
    whose catalogue lacks it) or where the translation does not fit its parameters (a
    catalogue's mistake must not fail the page). An error without an id is looked up as it
    stands, as pages did before ids (some routes raise already translated text)."""
    english = error.detail if isinstance(error, ApiError) else error.message
    if error.message_id is not None:
        return _translated(english, error.message_id, error.params)
    if isinstance(error, ApiError) and error.errors:
        # `invalid`: every field at fault, each problem in the reader's language.
        return problems_text([(e["field"], e["message"]) for e in error.errors])
    if isinstance(error, ApiError) and error.problems:
        return _joined([problem_text(message) for message in error.problems])
    return gettext(english)


def problem_text(message: str) -> str:
    """One problem of a list (`workflows.ticket.errors.Sentence`) in the reader's language;
    a plain text is looked up as it stands."""
    if isinstance(message, Sentence):
        return _translated(message, message.message_id, message.params)
    return gettext(message)


def problems_text(problems: list[tuple[str, str]]) -> str:
    """(field, message) problems as one text, each "field: problem" in the reader's words
    (the English is `invalid`'s detail)."""
    return _joined(
        [
            _("%(field)s: %(message)s", field=field, message=problem_text(message))
            for field, message in problems
        ]
    )


def _joined(texts: list[str]) -> str:
    joined = texts[0] if texts else ""
    for text in texts[1:]:
        joined = _("%(first)s; %(more)s", first=joined, more=text)
    return joined


def _translated(english: str, message_id: str, params: Mapping[str, Param]) -> str:
    translated = gettext(message_id)
    if translated == message_id:
        return english
    values = {name: _parameter(name, value) for name, value in params.items()}
    try:
        return translated % values
    except (KeyError, ValueError, TypeError):
        return english


def _parameter(name: str, value: Param) -> str:
    if isinstance(value, list):
        items = [_parameter(name, item) for item in value]
        return format_list(items, locale=current().locale) if items else ""
    if name in STATUS_PARAMETERS and value in _STATUS_LABELS:
        return gettext(_STATUS_LABELS[str(value)])
    if isinstance(value, int) and not isinstance(value, bool):
        return digits(str(value))
    return str(value)


FORM_ERRORS: dict[str, str] = {
    "missing": N_("%(field)s: this field is required"),
    "string_too_short": N_("%(field)s: must not be empty"),
    "string_too_long": N_("%(field)s: must be at most %(max_length)s characters"),
    "too_long": N_("%(field)s: must have at most %(max_length)s items"),
    "string_type": N_("%(field)s: must be text"),
    "string_pattern_mismatch": N_("%(field)s: is not in the expected format"),
    "int_parsing": N_("%(field)s: must be a whole number"),
    "int_type": N_("%(field)s: must be a whole number"),
    "int_from_float": N_("%(field)s: must be a whole number"),
    "float_parsing": N_("%(field)s: must be a number"),
    "decimal_parsing": N_("%(field)s: must be a number"),
    "bool_parsing": N_("%(field)s: must be yes or no"),
    "greater_than": N_("%(field)s: must be greater than %(gt)s"),
    "greater_than_equal": N_("%(field)s: must be at least %(ge)s"),
    "less_than": N_("%(field)s: must be less than %(lt)s"),
    "less_than_equal": N_("%(field)s: must be at most %(le)s"),
    "enum": N_("%(field)s: must be one of %(expected)s"),
    "literal_error": N_("%(field)s: must be one of %(expected)s"),
    "datetime_parsing": N_("%(field)s: must be a date and time"),
    "datetime_from_date_parsing": N_("%(field)s: must be a date and time"),
    "date_parsing": N_("%(field)s: must be a date"),
    "timezone_aware": N_("%(field)s: needs a time zone"),
    "list_type": N_("%(field)s: must be a list"),
    "extra_forbidden": N_("%(field)s: is not a field of this form"),
    "value_error": N_("%(field)s: %(message)s"),
}
"""Pydantic's error types the desk's forms can produce, each as one sentence naming the
field. A `value_error` carries its own text (a validator of ours wrote it), kept as it is.
An error of any other type is shown in pydantic's English."""

TOO_SHORT = N_("%(field)s: must be at least %(min_length)s characters")
"""A text shorter than its minimum above one ("must not be empty" is for a minimum of one)."""


def form_error(exc: ValidationError) -> ApiError:
    """The first problem pydantic found in a form, as the 422 that names the form field:
    `detail` as before ("field: pydantic's message"), and a message id a page translates."""
    first = exc.errors()[0]
    return problem(first, ".".join(str(p) for p in first["loc"]) or None)


def problem(first: ErrorDetails, field: str | None) -> ApiError:
    """One problem pydantic found, in `field`, as the 422 a page shows (`form_error`)."""
    detail = f"{field}: {first['msg']}" if field else first["msg"]
    message_id = FORM_ERRORS.get(first["type"]) if field else None
    if first["type"] == "string_too_short" and (first.get("ctx") or {}).get("min_length") != 1:
        message_id = TOO_SHORT
    if message_id is None or field is None:
        return ApiError(422, detail, field=field, code="invalid_field")
    return ApiError(
        422,
        detail,
        field=field,
        code="invalid_field",
        message_id=message_id,
        params={"field": field, **_context(first)},
    )


def _context(error: ErrorDetails) -> dict[str, Param]:
    """The values a form error's sentence names: its limits, the choices it expects, the
    text of our own validator."""
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    params: dict[str, Param] = {}
    for name in ("max_length", "min_length", "gt", "ge", "lt", "le"):
        if name in ctx:
            limit = ctx[name]
            params[name] = limit if isinstance(limit, int) else str(limit)
    if "expected" in ctx:
        # pydantic writes "'a', 'b' or 'c'"; the reader's language joins the values.
        params["expected"] = [
            part.strip().strip("'")
            for part in str(ctx["expected"]).replace(" or ", ", ").split(",")
        ]
    if error["type"] == "value_error":
        params["message"] = str(ctx.get("error", error["msg"]))
    return params
