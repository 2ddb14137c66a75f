"""What every transition of a ticket shares: who counts as staff or party, the permission
check, and how one change becomes the next state and its timeline event.

Plain functions with no Temporal import. The transitions (`workflows.ticket.lifecycle`,
`.assignment`, `.incident`, `.sla`, `.followup`) build on these; the action registry
(`workflows.ticket.actions`) says which transition each update runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflows import sla as clocks
from workflows.choices import N_, EventKind, Role, Status
from workflows.sla import SlaPolicy
from workflows.ticket.errors import Param, RuleViolation, ViolationKind, english, refuse
from workflows.ticket.messages import SYSTEM, Actor, NotifyRequest, TicketEvent, TicketState

WORKING = frozenset({Status.NEW, Status.OPEN, Status.PENDING})
"""Statuses in which the desk works on the ticket."""
DONE = frozenset({Status.RESOLVED})

STAFF_ROLES = frozenset({r.value for r in Role if r.is_staff} | {SYSTEM.role})
"""Roles that act for the desk. The desk itself (timers, escalations) acts like an agent,
through the same rules."""


def is_staff(actor: Actor) -> bool:
    return actor.role in STAFF_ROLES


def is_party(state: TicketState, actor: Actor) -> bool:
    """A customer is party to a ticket they requested or one of their organisation."""
    if actor.user_id is not None and actor.user_id == state.requester_id:
        return True
    return actor.organisation_id is not None and actor.organisation_id == state.organisation_id


def label(state: TicketState) -> str:
    return f"ticket #{state.number}" if state.number is not None else "the ticket"


TICKET = "ticket #%(number)s"
"""How a refusal's message id names its ticket (what `label` writes in English)."""


def refuse_on(
    state: TicketState,
    kind: ViolationKind,
    message_id: str,
    field: str | None = None,
    **params: Param,
) -> RuleViolation:
    """A refusal about `state` whose message id names it as "ticket #%(number)s"."""
    if state.number is None:
        # Only a ticket its projection has not numbered yet (the pure rules' own tests);
        # English as before, and no id: no page shows such a ticket.
        return RuleViolation(kind, english(message_id.replace(TICKET, label(state)), params), field)
    return refuse(kind, message_id, field, number=state.number, **params)


REFUSED: dict[str, tuple[str, str]] = {
    "reply to": (
        N_("cannot reply to ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"),
        N_("customers cannot reply to a ticket"),
    ),
    "add a note to": (
        N_(
            "cannot add a note to ticket #%(number)s while it is %(status)s; "
            "allowed when %(allowed)s"
        ),
        N_("customers cannot add a note to a ticket"),
    ),
    "change impact/urgency of": (
        N_(
            "cannot change impact/urgency of ticket #%(number)s while it is %(status)s; "
            "allowed when %(allowed)s"
        ),
        N_("customers cannot change impact/urgency of a ticket"),
    ),
    "assign": (
        N_("cannot assign ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"),
        N_("customers cannot assign a ticket"),
    ),
    "set pending": (
        N_(
            "cannot set pending ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"
        ),
        N_("customers cannot set pending a ticket"),
    ),
    "resume": (
        N_("cannot resume ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"),
        N_("customers cannot resume a ticket"),
    ),
    "resolve": (
        N_("cannot resolve ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"),
        N_("customers cannot resolve a ticket"),
    ),
    "reopen": (
        N_("cannot reopen ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"),
        N_("customers cannot reopen a ticket"),
    ),
    "close": (
        N_("cannot close ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"),
        N_("customers cannot close a ticket"),
    ),
    "attach a file to": (
        N_(
            "cannot attach a file to ticket #%(number)s while it is %(status)s; "
            "allowed when %(allowed)s"
        ),
        N_("customers cannot attach a file to a ticket"),
    ),
    "change the SLA policy of": (
        N_(
            "cannot change the SLA policy of ticket #%(number)s while it is %(status)s; "
            "allowed when %(allowed)s"
        ),
        N_("customers cannot change the SLA policy of a ticket"),
    ),
    "acknowledge": (
        N_(
            "cannot acknowledge ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"
        ),
        N_("customers cannot acknowledge a ticket"),
    ),
    "change the major flag of": (
        N_(
            "cannot change the major flag of ticket #%(number)s while it is %(status)s; "
            "allowed when %(allowed)s"
        ),
        N_("customers cannot change the major flag of a ticket"),
    ),
    "link": (
        N_("cannot link ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"),
        N_("customers cannot link a ticket"),
    ),
    "consult a colleague on": (
        N_(
            "cannot consult a colleague on ticket #%(number)s while it is %(status)s; "
            "allowed when %(allowed)s"
        ),
        N_("customers cannot consult a colleague on a ticket"),
    ),
    "answer a question on": (
        N_(
            "cannot answer a question on ticket #%(number)s while it is %(status)s; "
            "allowed when %(allowed)s"
        ),
        N_("customers cannot answer a question on a ticket"),
    ),
    "set a reminder on": (
        N_(
            "cannot set a reminder on ticket #%(number)s while it is %(status)s; "
            "allowed when %(allowed)s"
        ),
        N_("customers cannot set a reminder on a ticket"),
    ),
    "accept": (
        N_("cannot accept ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"),
        N_("customers cannot accept a ticket"),
    ),
    "decline": (
        N_("cannot decline ticket #%(number)s while it is %(status)s; allowed when %(allowed)s"),
        N_("customers cannot decline a ticket"),
    ),
}
"""Per action (by `Permission.label`): its refusal in a status that forbids it, and to a
customer. Whole sentences, one per action, so each language puts the verb where its
grammar wants it."""


Gate = Callable[[TicketState, Actor, datetime], None]
"""A who-and-when rule beyond the statuses; raises `RuleViolation`."""


@dataclass(frozen=True, slots=True)
class Permission:
    """Who may take an action in which statuses."""

    label: str
    """The action as a verb phrase: "cannot <label> ticket #5 while it is closed"."""
    staff: frozenset[Status]
    customer: frozenset[Status] = frozenset()
    """Statuses in which a customer who is party to the ticket may take it (none: never)."""
    gate: Gate | None = None


def permit(state: TicketState, permission: Permission, actor: Actor, now: datetime) -> None:
    """Raise `RuleViolation` unless `actor` may take the action on `state` now."""
    if is_staff(actor):
        allowed = permission.staff
    elif actor.role == Role.CUSTOMER:
        if not is_party(state, actor):
            raise refuse_on(
                state, ViolationKind.FORBIDDEN, N_("you are not a party to ticket #%(number)s")
            )
        if not permission.customer:
            if permission.label in REFUSED:
                raise refuse(ViolationKind.FORBIDDEN, REFUSED[permission.label][1])
            raise RuleViolation(
                ViolationKind.FORBIDDEN, f"customers cannot {permission.label} a ticket"
            )
        allowed = permission.customer
    else:
        raise RuleViolation(
            ViolationKind.FORBIDDEN, f"role {actor.role!r} cannot {permission.label} a ticket"
        )
    if state.status not in allowed:
        ordered = [s.value for s in Status if s in allowed]
        if permission.label in REFUSED:
            raise refuse_on(
                state,
                ViolationKind.ILLEGAL_STATE,
                REFUSED[permission.label][0],
                status=state.status.value,
                allowed=ordered,
            )
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE,
            f"cannot {permission.label} {label(state)} while it is {state.status.value}; "
            f"allowed when {', '.join(ordered)}",
        )
    if permission.gate is not None:
        permission.gate(state, actor, now)


@dataclass(frozen=True, slots=True)
class Change:
    """What one transition produced: the next state, its event, and whom it tells."""

    state: TicketState
    event: TicketEvent
    notify: list[NotifyRequest] = field(default_factory=list)
    mail: bool = False
    """The event goes to the requester by mail (an agent's reply, a reminder to answer)."""


def event(
    state: TicketState,
    kind: EventKind,
    actor: Actor,
    now: datetime,
    data: dict[str, Any],
    *,
    public: bool = True,
) -> TicketEvent:
    """The next event of the ticket's timeline."""
    return TicketEvent(
        seq=state.seq + 1,
        kind=kind,
        at=now,
        actor_id=actor.user_id,
        actor_role=actor.role,
        public=public,
        data=data,
    )


def advance(
    state: TicketState, now: datetime, event: TicketEvent, **changes: Any
) -> tuple[TicketState, TicketEvent]:
    """The state after `event` with `changes`, its SLA clocks moved along."""
    if "status" in changes and changes["status"] != state.status:
        event.data["status"] = {"from": state.status.value, "to": changes["status"].value}
    if event.actor_id is not None:
        # A person acted on the ticket: it is not idle (workflows/ticket/followup.py).
        changes |= {"last_activity_at": now, "idle_level": 0, "idle_since": None}
    if changes.get("status", state.status) != Status.PENDING:
        changes |= {"pending_since": None, "customer_reminders": 0}
    new = state.model_copy(update={**changes, "seq": event.seq, "updated_at": now})
    return _track_sla(state, new, event, now), event


def _track_sla(
    before: TicketState, after: TicketState, event: TicketEvent, now: datetime
) -> TicketState:
    """Move the SLA clocks along with the change every transition makes.

    Status first (pausing statuses stop the clocks, leaving them resumes), then
    what the event itself means for a target, then a new priority's targets.
    """
    sla = after.sla
    if sla is None:
        return after
    if after.status != before.status:
        sla = clocks.on_status(sla, before.status.value, after.status.value, now)
    if event.kind == EventKind.REPLIED:
        if event.actor_role in STAFF_ROLES:
            sla = clocks.agent_replied(sla, now)
        else:
            sla = clocks.customer_wrote(sla, after.priority, after.status.value, now)
    elif event.kind == EventKind.RESOLVED:
        sla = clocks.resolved(sla, now)
    elif event.kind == EventKind.REOPENED:
        sla = clocks.reopened(sla, after.status.value, now)
    elif event.kind == EventKind.CLOSED:
        sla = clocks.closed(sla, now)
    if after.priority != before.priority:
        sla = clocks.retarget(sla, after.priority, now)
    return after.model_copy(update={"sla": sla})


def start_sla(state: TicketState, policy: SlaPolicy, now: datetime) -> TicketState:
    """Clocks for a ticket that had none: counted from when it was opened."""
    opened = state.created_at or now
    sla = clocks.start_sla(policy, state.priority, Status.OPEN.value, opened)
    if state.first_response_at is not None:
        sla = clocks.agent_replied(sla, state.first_response_at)
    sla = clocks.on_status(sla, Status.OPEN.value, state.status.value, now)
    return state.model_copy(update={"sla": sla})


def policy_ref(policy: SlaPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {"id": policy.id, "name": policy.name, "version": policy.version}
