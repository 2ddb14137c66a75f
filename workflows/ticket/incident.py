"""What only incidents do: acknowledged at their monitoring source, declared major, linked
as children of a major incident. Each action's rule and transition; plain functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflows.choices import EventKind, Status, TicketType
from workflows.ticket.errors import RuleViolation, ViolationKind
from workflows.ticket.messages import Acknowledge, LinkParent, SetMajor, TicketEvent, TicketState
from workflows.ticket.rules import advance, event, label


def _incident_only(state: TicketState, what: str) -> None:
    if state.type != TicketType.INCIDENT:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE, f"only incidents {what}; {label(state)} is not one"
        )


def apply_acknowledge(
    state: TicketState, msg: Acknowledge, now: datetime
) -> tuple[TicketState, TicketEvent]:
    """Recorded, internal; a new incident is in progress from now (not a first response)."""
    data = {"source": msg.source.strip(), "note": msg.note.strip()}
    acknowledged = event(state, EventKind.ACKNOWLEDGED, msg.actor, now, data, public=False)
    changes: dict[str, Any] = {}
    if state.status == Status.NEW:
        changes["status"] = Status.OPEN
    return advance(state, now, acknowledged, **changes)


def check_set_major(state: TicketState, msg: SetMajor, now: datetime) -> None:
    _incident_only(state, "can be major")
    if msg.major == state.major:
        already = "already a major incident" if msg.major else "not a major incident"
        raise RuleViolation(ViolationKind.ILLEGAL_STATE, f"{label(state)} is {already}")
    if msg.major and state.parent_number is not None:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE,
            f"{label(state)} is a child of #{state.parent_number}; unlink it first",
        )


def apply_set_major(
    state: TicketState, msg: SetMajor, now: datetime
) -> tuple[TicketState, TicketEvent]:
    data = {"major": msg.major, "note": msg.note.strip()}
    kind = EventKind.MAJOR_SET if msg.major else EventKind.MAJOR_CLEARED
    changed = event(state, kind, msg.actor, now, data, public=False)
    return advance(state, now, changed, major=msg.major)


def check_link_parent(state: TicketState, msg: LinkParent, now: datetime) -> None:
    _incident_only(state, "can be children of a major incident")
    if msg.parent_number is not None and msg.parent_number == state.number:
        raise RuleViolation(
            ViolationKind.INVALID_FIELD, "an incident cannot be its own parent", "parent_number"
        )
    if msg.parent_number is not None and state.major:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE, f"{label(state)} is major; a major incident has no parent"
        )
    if msg.parent_number == state.parent_number:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE, f"{label(state)} is already linked that way"
        )


def apply_link_parent(
    state: TicketState, msg: LinkParent, now: datetime
) -> tuple[TicketState, TicketEvent]:
    data = {"parent": {"from": state.parent_number, "to": msg.parent_number}, "note": msg.note}
    linked = event(state, EventKind.PARENT_LINKED, msg.actor, now, data, public=False)
    return advance(state, now, linked, parent_number=msg.parent_number)
