"""Field rules of the ticket's messages, declared once, on the message's own fields.

A rule is metadata in a field's `Annotated` type. Pydantic ignores it when a message
is decoded, on purpose: messages are a wire format that workflow histories keep for
months, and a rule tightened later must never make a recorded message undecodable.
The rule binds where a message is read:

- the update's validator checks every rule of the message (`check_fields`), with a
  message naming the field, before anything is written;
- the API derives each action's request body from the message and turns every rule
  into that body's JSON-schema constraint, so a bad field is refused at the door with a
  422 and the OpenAPI schema says what is allowed (`api.ticket_requests`);
- a `Ref` names what an id must point at; the API looks it up before the update is sent.

Plain data and functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from workflows.choices import LEVELS, N_
from workflows.ticket.errors import ViolationKind, refuse

SUBJECT_MAX = 200
BODY_MAX = 65_536
REASON_MAX = 1_000
FILENAME_MAX = 255


@dataclass(frozen=True, slots=True)
class Text:
    """A text of at most `maximum` characters without NUL; `required`: not blank."""

    maximum: int
    required: bool = False


@dataclass(frozen=True, slots=True)
class Level:
    """Impact or urgency: 1 (high) to 3 (low)."""


@dataclass(frozen=True, slots=True)
class OneOf:
    """One of the values of a choice set (the message carries the plain value)."""

    choices: type[StrEnum]


@dataclass(frozen=True, slots=True)
class Items:
    """A list of at most `maximum` distinct entries, each `what`; `too_many` and `twice` are
    its refusals' message ids (whole sentences: "files" is no parameter of a sentence)."""

    maximum: int
    what: str
    too_many: str
    twice: str


@dataclass(frozen=True, slots=True)
class Aware:
    """An instant with its time zone (a local time means nothing to the desk)."""


class RefKind(StrEnum):
    """What an id in a request must point at; the API checks it exists and may be used."""

    GROUP = "group"
    AGENT = "agent"
    """An active member of staff."""
    SERVICE = "service"
    """An active service."""
    MAJOR_INCIDENT = "major_incident"
    """A major incident the caller can see (by number)."""
    PUBLIC_FILE = "public_file"
    """A file of this ticket that its customer can see."""


@dataclass(frozen=True, slots=True)
class Ref:
    kind: RefKind


def rules_of(model: type[BaseModel], name: str) -> list[object]:
    """The rules declared on one field of a message."""
    return [m for m in model.model_fields[name].metadata if isinstance(m, _RULES)]


_RULES = (Text, Level, OneOf, Items, Aware, Ref)


def text(value: str, field: str, *, maximum: int, required: bool = True) -> str:
    """The trimmed text, or `RuleViolation` naming `field`."""
    stripped = value.strip()
    if required and not stripped:
        raise refuse(
            ViolationKind.INVALID_FIELD, N_("%(name)s must not be empty"), field, name=field
        )
    if len(value) > maximum:
        raise refuse(
            ViolationKind.INVALID_FIELD,
            N_("%(name)s is longer than %(maximum)s characters"),
            field,
            name=field,
            maximum=maximum,
        )
    if "\x00" in value:
        # The projection (PostgreSQL text/JSONB) cannot store NUL characters.
        raise refuse(
            ViolationKind.INVALID_FIELD,
            N_("%(name)s contains a NUL character"),
            field,
            name=field,
        )
    return stripped


def level(value: int, field: str) -> None:
    if value not in LEVELS:
        raise refuse(
            ViolationKind.INVALID_FIELD,
            N_("%(name)s must be one of %(values)s (1 = high)"),
            field,
            name=field,
            values=[str(v) for v in LEVELS],
        )


def _check(rule: object, value: Any, field: str) -> None:
    if isinstance(rule, Text):
        text(value, field, maximum=rule.maximum, required=rule.required)
    elif isinstance(rule, Level):
        level(value, field)
    elif isinstance(rule, OneOf):
        if value not in {c.value for c in rule.choices}:
            raise refuse(
                ViolationKind.INVALID_FIELD,
                N_("%(name)s must be one of %(values)s"),
                field,
                name=field,
                values=[c.value for c in rule.choices],
            )
    elif isinstance(rule, Items):
        if len(value) > rule.maximum:
            raise refuse(
                ViolationKind.INVALID_FIELD, rule.too_many, field, name=field, maximum=rule.maximum
            )
        if len(set(value)) != len(value):
            raise refuse(ViolationKind.INVALID_FIELD, rule.twice, field, name=field)
    elif isinstance(rule, Aware) and isinstance(value, datetime) and value.utcoffset() is None:
        raise refuse(
            ViolationKind.INVALID_FIELD,
            N_("%(name)s needs a time zone, e.g. +01:00"),
            field,
            name=field,
        )


def check_fields(msg: BaseModel) -> None:
    """Every rule declared on the message's fields, in field order (the first fault wins)."""
    for name, rules in _ruled(type(msg)):
        value = getattr(msg, name)
        if value is None:
            continue  # an optional field left out
        for rule in rules:
            _check(rule, value, name)


_RULED: dict[type[BaseModel], tuple[tuple[str, list[object]], ...]] = {}


def _ruled(model: type[BaseModel]) -> tuple[tuple[str, list[object]], ...]:
    """The fields of `model` that carry rules, with their rules (worked out once per type:
    every validation of every update runs through here)."""
    ruled = _RULED.get(model)
    if ruled is None:
        ruled = tuple((n, r) for n in model.model_fields if (r := rules_of(model, n)))
        _RULED[model] = ruled
    return ruled
