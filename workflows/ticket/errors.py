"""Why a ticket refused a change: one exception, raised by the pure rules and by the ticket
client alike, whose kind every caller maps once (the API to 409/403/422/503/504, the bulk
and alert jobs to a recorded refusal)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TypeAlias

from workflows.choices import N_

Param: TypeAlias = str | int | list[str]
"""A refusal's parameter: a value, or a list of values (shown as a list in the reader's
language). Parameters cross Temporal as JSON, so they stay plain."""


class ViolationKind(StrEnum):
    """The kind of a refusal; also the `type` of the workflow's `ApplicationError`."""

    ILLEGAL_STATE = "illegal_state"
    """The action is not possible in the ticket's current state (HTTP 409)."""
    FORBIDDEN = "forbidden"
    """This actor may not do this to this ticket (HTTP 403)."""
    INVALID_FIELD = "invalid_field"
    """A field of the request is wrong (HTTP 422)."""
    UNAVAILABLE = "unavailable"
    """The change could not be saved or sent; nothing was changed (HTTP 503)."""
    TIMEOUT = "timeout"
    """The ticket did not answer in time; the change may still be applied (HTTP 504)."""


def english(message_id: str, params: Mapping[str, Param]) -> str:
    """A message id filled in English: the id is the English text, a list is comma-joined."""
    values = {
        name: ", ".join(map(str, value)) if isinstance(value, list) else value
        for name, value in params.items()
    }
    return message_id % values


class Sentence(str):
    """A problem's English text that keeps its catalogue message id and parameters.

    It is the English string wherever a string is wanted (the JSON API's `errors`, the
    YAML import's lines, comparisons), so callers that join or compare problems are
    unchanged; a page reads `message_id` and `params` to write it in its reader's
    language (`web.errors.problem_text`)."""

    message_id: str
    params: dict[str, Param]

    def __new__(cls, message_id: str, /, **params: Param) -> Sentence:
        text = super().__new__(cls, english(message_id, params))
        text.message_id = message_id
        text.params = dict(params)
        return text

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its id: a copy keeps what a page needs to translate it.
        return (_sentence, (self.message_id, self.params))


def _sentence(message_id: str, params: dict[str, Param]) -> Sentence:
    return Sentence(message_id, **params)


class RuleViolation(Exception):
    """A refused change: what kind, a message a person can act on, the field at fault.

    `message` is English (the API answers with it, logs show it). Where the refusal was
    raised with a catalogue message id (`refuse`), `message_id` and `params` let a page
    write it in its reader's language (docs/i18n.md)."""

    def __init__(
        self,
        kind: ViolationKind,
        message: str,
        field: str | None = None,
        *,
        message_id: str | None = None,
        params: Mapping[str, Param] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field
        self.message_id = message_id
        self.params: dict[str, Param] = dict(params or {})

    def details(self) -> Sequence[object]:
        """What the workflow's `ApplicationError` carries: the field first (as every worker
        has sent it), then the message id and its parameters when there is one."""
        if self.message_id is None:
            return (self.field,)
        return (self.field, self.message_id, self.params)


def refuse(
    kind: ViolationKind, message_id: str, field: str | None = None, **params: Param
) -> RuleViolation:
    """A refusal written as a catalogue message id (marked with `N_`) and its parameters;
    its English `message` is the id filled in."""
    return RuleViolation(
        kind, english(message_id, params), field, message_id=message_id, params=params
    )


CLOSED = N_("the ticket is closed and can no longer change")
NOT_OPEN = N_("the ticket is not open yet")
NOT_SAVED = N_("the ticket could not be saved; nothing was changed, try again")
CONFIG_UNREADABLE = N_("the desk settings could not be read; try again")
TIMED_OUT = N_("the ticket did not answer in time; try again")
ENGINE_UNAVAILABLE = N_("the workflow engine is unavailable; try again")

RETRYABLE = frozenset({ViolationKind.UNAVAILABLE, ViolationKind.TIMEOUT})
"""Refusals a retry may mend: nothing was decided, the ticket or the engine was away."""
