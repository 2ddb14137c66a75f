"""Why a ticket refused a change: one exception, raised by the pure rules and by the ticket
client alike, whose kind every caller maps once (the API to 409/403/422/503/504, the bulk
and alert jobs to a recorded refusal)."""

from __future__ import annotations

from enum import StrEnum


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


class RuleViolation(Exception):
    """A refused change: what kind, a message a person can act on, the field at fault."""

    def __init__(self, kind: ViolationKind, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field


RETRYABLE = frozenset({ViolationKind.UNAVAILABLE, ViolationKind.TIMEOUT})
"""Refusals a retry may mend: nothing was decided, the ticket or the engine was away."""
