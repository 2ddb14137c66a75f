"""What only incidents do: acknowledged at their monitoring source, declared major, linked
as children of a major incident. Each action's rule and transition; plain functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflows.choices import N_, EventKind, Status, TicketType
from workflows.ticket.errors import ViolationKind, refuse
from workflows.ticket.messages import Acknowledge, LinkParent, SetMajor, TicketEvent, TicketState
from workflows.ticket.rules import advance, event, refuse_on


def _incident_only(state: TicketState, message_id: str) -> None:
    if state.type != TicketType.INCIDENT:
        raise refuse_on(state, ViolationKind.ILLEGAL_STATE, message_id)


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
    _incident_only(state, N_("only incidents can be major; ticket #%(number)s is not one"))
    if msg.major == state.major:
        already = (
            N_("ticket #%(number)s is already a major incident")
            if msg.major
            else N_("ticket #%(number)s is not a major incident")
        )
        raise refuse_on(state, ViolationKind.ILLEGAL_STATE, already)
    if msg.major and state.parent_number is not None:
        raise refuse_on(
            state,
            ViolationKind.ILLEGAL_STATE,
            N_("ticket #%(number)s is a child of #%(parent)s; unlink it first"),
            parent=state.parent_number,
        )


def apply_set_major(
    state: TicketState, msg: SetMajor, now: datetime
) -> tuple[TicketState, TicketEvent]:
    data = {"major": msg.major, "note": msg.note.strip()}
    kind = EventKind.MAJOR_SET if msg.major else EventKind.MAJOR_CLEARED
    changed = event(state, kind, msg.actor, now, data, public=False)
    return advance(state, now, changed, major=msg.major)


def check_link_parent(state: TicketState, msg: LinkParent, now: datetime) -> None:
    _incident_only(
        state,
        N_("only incidents can be children of a major incident; ticket #%(number)s is not one"),
    )
    if msg.parent_number is not None and msg.parent_number == state.number:
        raise refuse(
            ViolationKind.INVALID_FIELD,
            N_("an incident cannot be its own parent"),
            "parent_number",
        )
    if msg.parent_number is not None and state.major:
        raise refuse_on(
            state,
            ViolationKind.ILLEGAL_STATE,
            N_("ticket #%(number)s is major; a major incident has no parent"),
        )
    if msg.parent_number == state.parent_number:
        raise refuse_on(
            state, ViolationKind.ILLEGAL_STATE, N_("ticket #%(number)s is already linked that way")
        )


def apply_link_parent(
    state: TicketState, msg: LinkParent, now: datetime
) -> tuple[TicketState, TicketEvent]:
    data = {"parent": {"from": state.parent_number, "to": msg.parent_number}, "note": msg.note}
    linked = event(state, EventKind.PARENT_LINKED, msg.actor, now, data, public=False)
    return advance(state, now, linked, parent_number=msg.parent_number)
