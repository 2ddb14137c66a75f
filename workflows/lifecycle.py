"""The ticket state machine: which actor may do what in which status, and what it changes.

Plain functions with no Temporal import. The workflow's update validators call
`check_*`; its handlers call `apply_*`, which return the new state and the
timeline event. A rejected change raises `RuleViolation`, whose `kind` the
workflow turns into an `ApplicationError` type and the API into 409/403/422.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from workflows import sla as clocks
from workflows.choices import LEVELS, PRIORITIES, ResolutionCode, Role, Status, TicketType
from workflows.priority import priority_for
from workflows.routing import Offer, RoutingState
from workflows.sla import (
    CLOCK_LABELS,
    Checkpoint,
    CheckpointKind,
    EscalationAction,
    EscalationKind,
    SlaPolicy,
)
from workflows.ticket_model import (
    SYSTEM,
    AcceptOffer,
    Acknowledge,
    Actor,
    AddNote,
    AnswerConsult,
    ApplySlaPolicy,
    Assign,
    Attach,
    Classify,
    Close,
    Consult,
    DeclineOffer,
    DeskConfig,
    LinkParent,
    NotifyRequest,
    OpenConsult,
    OpenTicket,
    Pend,
    Reopen,
    Reply,
    Resolve,
    Resume,
    RouteDecision,
    SetMajor,
    SetReminder,
    TicketEvent,
    TicketState,
)

SUBJECT_MAX = 200
BODY_MAX = 65_536
REASON_MAX = 1_000
FILENAME_MAX = 255


class ViolationKind(StrEnum):
    ILLEGAL_STATE = "illegal_state"
    """The action is not possible in the ticket's current status (HTTP 409)."""
    FORBIDDEN = "forbidden"
    """This actor may not do this to this ticket (HTTP 403)."""
    INVALID_FIELD = "invalid_field"
    """A field of the request is wrong (HTTP 422)."""


class RuleViolation(Exception):
    def __init__(self, kind: ViolationKind, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ActionRule:
    label: str
    staff: frozenset[Status]
    customer: frozenset[Status] = frozenset()
    offered: bool = True
    """Shown on the ticket as an action; False for changes made from elsewhere."""


_WORKING = frozenset({Status.NEW, Status.OPEN, Status.PENDING})
_DONE = frozenset({Status.RESOLVED})

ACTIONS: dict[str, ActionRule] = {
    "reply": ActionRule("reply to", _WORKING, _WORKING),
    "add_note": ActionRule("add a note to", _WORKING | {Status.RESOLVED}),
    "classify": ActionRule("change impact/urgency of", _WORKING),
    "assign": ActionRule("assign", _WORKING),
    "pend": ActionRule("set pending", frozenset({Status.NEW, Status.OPEN})),
    "resume": ActionRule("resume", frozenset({Status.PENDING})),
    "resolve": ActionRule("resolve", _WORKING),
    "reopen": ActionRule("reopen", frozenset({Status.RESOLVED}), frozenset({Status.RESOLVED})),
    "close": ActionRule("close", frozenset({Status.RESOLVED})),
    "attach": ActionRule("attach a file to", _WORKING | {Status.RESOLVED}, _WORKING),
    "apply_sla_policy": ActionRule("change the SLA policy of", _WORKING, offered=False),
    "acknowledge": ActionRule("acknowledge", frozenset({Status.NEW, Status.OPEN}), offered=False),
    # Incidents only; the ticket page offers them by record type.
    "set_major": ActionRule("change the major flag of", _WORKING, offered=False),
    # Only the agent a ticket is offered to; the task list offers them.
    "accept_offer": ActionRule("accept", _WORKING, offered=False),
    "consult": ActionRule("consult a colleague on", _WORKING | {Status.RESOLVED}, offered=False),
    "answer_consult": ActionRule(
        "answer a question on", _WORKING | {Status.RESOLVED}, offered=False
    ),
    "set_reminder": ActionRule("set a reminder on", _WORKING, offered=False),
    "decline_offer": ActionRule("decline", _WORKING, offered=False),
    "link_parent": ActionRule("link", _WORKING, offered=False),
}
"""Every agent-facing action with the statuses it is legal in, per kind of actor."""


STAFF_ROLES = frozenset({r.value for r in Role if r.is_staff} | {SYSTEM.role})
"""Roles that act for the desk. The desk itself (timers, escalations) acts like an agent,
through the same rules."""


def _is_staff(actor: Actor) -> bool:
    return actor.role in STAFF_ROLES


def _is_party(state: TicketState, actor: Actor) -> bool:
    """A customer is party to a ticket they requested or one of their organisation."""
    if actor.user_id is not None and actor.user_id == state.requester_id:
        return True
    return actor.organisation_id is not None and actor.organisation_id == state.organisation_id


def _label(state: TicketState) -> str:
    return f"ticket #{state.number}" if state.number is not None else "the ticket"


def authorise(state: TicketState, action: str, actor: Actor, now: datetime) -> None:
    """Raise `RuleViolation` unless `actor` may perform `action` on `state` now."""
    rule = ACTIONS[action]
    if _is_staff(actor):
        allowed = rule.staff
    elif actor.role == Role.CUSTOMER:
        if not _is_party(state, actor):
            raise RuleViolation(ViolationKind.FORBIDDEN, f"you are not a party to {_label(state)}")
        if not rule.customer:
            raise RuleViolation(ViolationKind.FORBIDDEN, f"customers cannot {rule.label} a ticket")
        allowed = rule.customer
    else:
        raise RuleViolation(
            ViolationKind.FORBIDDEN, f"role {actor.role!r} cannot {rule.label} a ticket"
        )
    if state.status not in allowed:
        ordered = [s.value for s in Status if s in allowed]
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE,
            f"cannot {rule.label} {_label(state)} while it is {state.status.value}; "
            f"allowed when {', '.join(ordered)}",
        )
    window_over = state.reopen_until is not None and now >= state.reopen_until
    if action == "reopen" and actor.role == Role.CUSTOMER and window_over:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE,
            f"the reopen window of {_label(state)} has ended; open a new ticket instead",
        )


def legal_actions(state: TicketState, actor: Actor, now: datetime) -> list[str]:
    """The actions `actor` may offer on `state` right now, in display order."""
    legal: list[str] = []
    for action, rule in ACTIONS.items():
        if not rule.offered:
            continue
        try:
            authorise(state, action, actor, now)
        except RuleViolation:
            continue
        legal.append(action)
    return legal


# ---------------------------------------------------------------- field rules


def _text(value: str, field: str, *, maximum: int, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise RuleViolation(ViolationKind.INVALID_FIELD, f"{field} must not be empty", field)
    if len(value) > maximum:
        raise RuleViolation(
            ViolationKind.INVALID_FIELD, f"{field} is longer than {maximum} characters", field
        )
    if "\x00" in value:
        # The projection (PostgreSQL text/JSONB) cannot store NUL characters.
        raise RuleViolation(ViolationKind.INVALID_FIELD, f"{field} contains a NUL character", field)
    return text


def _level(value: int, field: str) -> None:
    if value not in LEVELS:
        raise RuleViolation(
            ViolationKind.INVALID_FIELD,
            f"{field} must be one of {', '.join(map(str, LEVELS))} (1 = high)",
            field,
        )


def check_open(msg: OpenTicket) -> None:
    _text(msg.subject, "subject", maximum=SUBJECT_MAX)
    _text(msg.description, "description", maximum=BODY_MAX, required=False)
    _level(msg.impact, "impact")
    _level(msg.urgency, "urgency")
    if msg.requester_id is None:
        raise RuleViolation(ViolationKind.INVALID_FIELD, "requester_id is required", "requester_id")
    if msg.actor.role == Role.CUSTOMER and msg.requester_id != msg.actor.user_id:
        raise RuleViolation(
            ViolationKind.FORBIDDEN,
            "customers can open tickets only for themselves",
            "requester_id",
        )


REPLY_ATTACHMENTS_MAX = 20
"""Files one reply may carry."""


def check_reply(state: TicketState, msg: Reply, now: datetime) -> None:
    authorise(state, "reply", msg.actor, now)
    _text(msg.body, "body", maximum=BODY_MAX)
    if len(msg.attachment_ids) > REPLY_ATTACHMENTS_MAX:
        raise RuleViolation(
            ViolationKind.INVALID_FIELD,
            f"a reply carries at most {REPLY_ATTACHMENTS_MAX} files",
            "attachment_ids",
        )
    if len(set(msg.attachment_ids)) != len(msg.attachment_ids):
        raise RuleViolation(ViolationKind.INVALID_FIELD, "a file is listed twice", "attachment_ids")
    for attachment_id in msg.attachment_ids:
        if attachment_id not in state.attachment_ids:
            raise RuleViolation(
                ViolationKind.INVALID_FIELD,
                f"attachment {attachment_id} is not on this ticket; upload it first",
                "attachment_ids",
            )


def check_add_note(state: TicketState, msg: AddNote, now: datetime) -> None:
    authorise(state, "add_note", msg.actor, now)
    _text(msg.body, "body", maximum=BODY_MAX)


def check_classify(state: TicketState, msg: Classify, now: datetime) -> None:
    authorise(state, "classify", msg.actor, now)
    _level(msg.impact, "impact")
    _level(msg.urgency, "urgency")
    if (msg.impact, msg.urgency, msg.service_id) == (state.impact, state.urgency, state.service_id):
        raise RuleViolation(
            ViolationKind.INVALID_FIELD,
            "impact, urgency and service are already set to these values",
            "impact",
        )


def check_assign(state: TicketState, msg: Assign, now: datetime) -> None:
    authorise(state, "assign", msg.actor, now)
    _text(msg.note, "note", maximum=REASON_MAX, required=False)
    if (msg.group_id, msg.assignee_id) == (state.group_id, state.assignee_id):
        raise RuleViolation(
            ViolationKind.INVALID_FIELD,
            "group_id and assignee_id are already set to these values",
            "assignee_id",
        )


def check_pend(state: TicketState, msg: Pend, now: datetime) -> None:
    authorise(state, "pend", msg.actor, now)
    _text(msg.reason, "reason", maximum=REASON_MAX)


def check_resume(state: TicketState, msg: Resume, now: datetime) -> None:
    authorise(state, "resume", msg.actor, now)


def check_resolve(state: TicketState, msg: Resolve, now: datetime) -> None:
    authorise(state, "resolve", msg.actor, now)
    if msg.resolution_code not in {c.value for c in ResolutionCode}:
        raise RuleViolation(
            ViolationKind.INVALID_FIELD,
            "resolution_code must be one of " + ", ".join(c.value for c in ResolutionCode),
            "resolution_code",
        )
    _text(msg.note, "note", maximum=BODY_MAX, required=False)


def check_reopen(state: TicketState, msg: Reopen, now: datetime) -> None:
    authorise(state, "reopen", msg.actor, now)
    _text(msg.reason, "reason", maximum=REASON_MAX, required=False)


def _incident_only(state: TicketState, what: str) -> None:
    if state.type != TicketType.INCIDENT:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE, f"only incidents {what}; {_label(state)} is not one"
        )


def check_set_major(state: TicketState, msg: SetMajor, now: datetime) -> None:
    authorise(state, "set_major", msg.actor, now)
    _incident_only(state, "can be major")
    _text(msg.note, "note", maximum=REASON_MAX, required=False)
    if msg.major == state.major:
        already = "already a major incident" if msg.major else "not a major incident"
        raise RuleViolation(ViolationKind.ILLEGAL_STATE, f"{_label(state)} is {already}")
    if msg.major and state.parent_number is not None:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE,
            f"{_label(state)} is a child of #{state.parent_number}; unlink it first",
        )


def apply_set_major(
    state: TicketState, msg: SetMajor, now: datetime
) -> tuple[TicketState, TicketEvent]:
    data = {"major": msg.major, "note": msg.note.strip()}
    kind = "major_set" if msg.major else "major_cleared"
    event = _event(state, kind, msg.actor, now, data, public=False)
    return _advance(state, now, event, major=msg.major)


def check_link_parent(state: TicketState, msg: LinkParent, now: datetime) -> None:
    authorise(state, "link_parent", msg.actor, now)
    _incident_only(state, "can be children of a major incident")
    _text(msg.note, "note", maximum=REASON_MAX, required=False)
    if msg.parent_number is not None and msg.parent_number == state.number:
        raise RuleViolation(
            ViolationKind.INVALID_FIELD, "an incident cannot be its own parent", "parent_number"
        )
    if msg.parent_number is not None and state.major:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE, f"{_label(state)} is major; a major incident has no parent"
        )
    if msg.parent_number == state.parent_number:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE,
            f"{_label(state)} is already linked that way",
        )


def apply_link_parent(
    state: TicketState, msg: LinkParent, now: datetime
) -> tuple[TicketState, TicketEvent]:
    data = {"parent": {"from": state.parent_number, "to": msg.parent_number}, "note": msg.note}
    event = _event(state, "parent_linked", msg.actor, now, data, public=False)
    return _advance(state, now, event, parent_number=msg.parent_number)


# ---------------------------------------------------------------- routing and offers


def needs_routing(state: TicketState) -> bool:
    """In a group, nobody assigned, nothing offered, still being worked."""
    return (
        state.group_id is not None
        and state.assignee_id is None
        and state.routing.offer is None
        and state.status in _WORKING
    )


def apply_route(
    state: TicketState, decision: RouteDecision, now: datetime
) -> tuple[TicketState, TicketEvent, list[NotifyRequest]] | None:
    """Offer the ticket to the chosen agent, or tell the lead once that nobody can take it.

    None: nothing to record (a manual group, or the lead was already told).
    """
    routing = state.routing.model_copy(deep=True)
    if decision.agent_id is not None:
        offer = Offer(
            agent_id=decision.agent_id,
            group_id=state.group_id,
            expires_at=now + timedelta(seconds=decision.timeout_seconds),
            round=len(routing.declined) + 1,
        )
        routing.offer = offer
        data = {"agent_id": offer.agent_id, "expires_at": offer.expires_at.isoformat()}
        event = _event(state, "offered", SYSTEM, now, data, public=False)
        notify = [
            NotifyRequest(
                audience="user",
                user_id=offer.agent_id,
                kind="offered",
                key=f"{state.id}:offer:{event.seq}",
                title=f"#{state.number} is offered to you: {state.subject}",
                body="Accept or decline it in your task list.",
            )
        ]
        new, event = _advance(state, now, event, routing=routing)
        return new, event, notify
    if decision.strategy == "manual" or routing.lead_notified_for == state.group_id:
        return None
    routing.lead_notified_for = state.group_id
    data = {"group_id": state.group_id, "declined": routing.declined}
    event = _event(state, "unrouted", SYSTEM, now, data, public=False)
    notify = [
        NotifyRequest(
            audience="group_lead",
            kind="unrouted",
            key=f"{state.id}:unrouted:{event.seq}",
            title=f"Nobody in the group took #{state.number}: {state.subject}",
            body="It waits unassigned in the group's queue.",
        )
    ]
    new, event = _advance(state, now, event, routing=routing)
    return new, event, notify


def _offered_to(state: TicketState, actor: Actor) -> None:
    offer = state.routing.offer
    if offer is None:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE, f"{_label(state)} is not offered to anyone"
        )
    if actor.user_id != offer.agent_id:
        raise RuleViolation(ViolationKind.FORBIDDEN, f"{_label(state)} is offered to someone else")


def check_accept_offer(state: TicketState, msg: AcceptOffer, now: datetime) -> None:
    authorise(state, "accept_offer", msg.actor, now)
    _offered_to(state, msg.actor)


def apply_accept_offer(
    state: TicketState, msg: AcceptOffer, now: datetime
) -> tuple[TicketState, TicketEvent]:
    routing = state.routing.model_copy(update={"offer": None})
    event = _event(state, "offer_accepted", msg.actor, now, {}, public=False)
    changes: dict[str, Any] = {"assignee_id": msg.actor.user_id, "routing": routing}
    if state.status == Status.NEW:
        changes["status"] = Status.OPEN
    return _advance(state, now, event, **changes)


def check_decline_offer(state: TicketState, msg: DeclineOffer, now: datetime) -> None:
    authorise(state, "decline_offer", msg.actor, now)
    _offered_to(state, msg.actor)
    _text(msg.reason, "reason", maximum=REASON_MAX, required=False)


def apply_decline_offer(
    state: TicketState, msg: DeclineOffer, now: datetime
) -> tuple[TicketState, TicketEvent]:
    return _offer_withdrawn(state, "offer_declined", msg.actor, now, reason=msg.reason.strip())


def apply_offer_expired(state: TicketState, now: datetime) -> tuple[TicketState, TicketEvent]:
    return _offer_withdrawn(state, "offer_expired", SYSTEM, now)


def _offer_withdrawn(
    state: TicketState, kind: str, actor: Actor, now: datetime, **data: Any
) -> tuple[TicketState, TicketEvent]:
    """The offer ends without an assignee; its agent is never offered this ticket again."""
    assert state.routing.offer is not None
    agent = state.routing.offer.agent_id
    routing = state.routing.model_copy(
        update={"offer": None, "declined": [*state.routing.declined, agent]}
    )
    event = _event(state, kind, actor, now, {"agent_id": agent, **data}, public=False)
    return _advance(state, now, event, routing=routing)


# ---------------------------------------------------------------- transfers, consults, reminders


def transfer_notifications(
    before: TicketState, after: TicketState, msg: Assign, event: TicketEvent
) -> list[NotifyRequest]:
    """Who hears of a transfer: the new assignee, or for a group alone its lead; never the
    person who made it."""
    note = msg.note.strip()
    if after.assignee_id is not None and after.assignee_id != before.assignee_id:
        if after.assignee_id == msg.actor.user_id:
            return []
        return [
            NotifyRequest(
                audience="assignee",
                kind="assigned",
                key=f"{after.id}:assigned:{event.seq}",
                title=f"#{after.number} is now yours: {after.subject}",
                body=note,
            )
        ]
    if after.group_id is not None and after.group_id != before.group_id:
        return [
            NotifyRequest(
                audience="group_lead",
                kind="transferred",
                key=f"{after.id}:transferred:{event.seq}",
                title=f"#{after.number} was transferred to your group: {after.subject}",
                body=note,
            )
        ]
    return []


def check_consult(state: TicketState, msg: Consult, now: datetime) -> None:
    authorise(state, "consult", msg.actor, now)
    _text(msg.message, "message", maximum=BODY_MAX)
    if msg.colleague_id == msg.actor.user_id:
        raise RuleViolation(
            ViolationKind.INVALID_FIELD, "ask a colleague, not yourself", "colleague_id"
        )


def apply_consult(
    state: TicketState, msg: Consult, now: datetime
) -> tuple[TicketState, TicketEvent, list[NotifyRequest]]:
    data = {"colleague_id": msg.colleague_id, "message": msg.message.strip()}
    event = _event(state, "consult_asked", msg.actor, now, data, public=False)
    consult = OpenConsult(seq=event.seq, colleague_id=msg.colleague_id, asked_by=msg.actor.user_id)
    notify = [
        NotifyRequest(
            audience="user",
            user_id=msg.colleague_id,
            kind="consult",
            key=f"{state.id}:consult:{event.seq}",
            title=f"A colleague asks about #{state.number}: {state.subject}",
            body=msg.message.strip()[:500],
        )
    ]
    new, event = _advance(state, now, event, consults=[*state.consults, consult])
    return new, event, notify


def check_answer_consult(state: TicketState, msg: AnswerConsult, now: datetime) -> None:
    authorise(state, "answer_consult", msg.actor, now)
    _text(msg.body, "body", maximum=BODY_MAX)
    consult = next((c for c in state.consults if c.seq == msg.consult_seq), None)
    if consult is None:
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE,
            f"there is no open question {msg.consult_seq} on {_label(state)}",
        )
    if consult.colleague_id != msg.actor.user_id:
        raise RuleViolation(ViolationKind.FORBIDDEN, "the question was asked of someone else")


def apply_answer_consult(
    state: TicketState, msg: AnswerConsult, now: datetime
) -> tuple[TicketState, TicketEvent, list[NotifyRequest]]:
    consult = next(c for c in state.consults if c.seq == msg.consult_seq)
    data = {"consult_seq": msg.consult_seq, "body": msg.body}
    event = _event(state, "consult_answered", msg.actor, now, data, public=False)
    notify = []
    if consult.asked_by is not None:
        notify.append(
            NotifyRequest(
                audience="user",
                user_id=consult.asked_by,
                kind="consult_answered",
                key=f"{state.id}:consult-answer:{event.seq}",
                title=f"Your question on #{state.number} was answered",
                body=msg.body[:500],
            )
        )
    rest = [c for c in state.consults if c.seq != msg.consult_seq]
    new, event = _advance(state, now, event, consults=rest)
    return new, event, notify


def check_set_reminder(state: TicketState, msg: SetReminder, now: datetime) -> None:
    authorise(state, "set_reminder", msg.actor, now)
    _text(msg.note, "note", maximum=REASON_MAX, required=False)
    if msg.at is not None and msg.at <= now:
        raise RuleViolation(ViolationKind.INVALID_FIELD, "a reminder must be in the future", "at")
    if msg.at is None and state.remind_at is None:
        raise RuleViolation(ViolationKind.ILLEGAL_STATE, f"{_label(state)} has no reminder")


def apply_set_reminder(
    state: TicketState, msg: SetReminder, now: datetime
) -> tuple[TicketState, TicketEvent]:
    data = {"at": msg.at.isoformat() if msg.at else None, "note": msg.note.strip()}
    event = _event(state, "reminder_set", msg.actor, now, data, public=False)
    return _advance(state, now, event, remind_at=msg.at)


def apply_reminder_due(
    state: TicketState, now: datetime
) -> tuple[TicketState, TicketEvent, list[NotifyRequest]]:
    """The reminder time came: the assignee (else the group lead) is reminded."""
    event = _event(state, "reminded", SYSTEM, now, {}, public=False)
    audience = "assignee" if state.assignee_id is not None else "group_lead"
    notify = [
        NotifyRequest(
            audience=audience,
            kind="reminder",
            key=f"{state.id}:reminder:{event.seq}",
            title=f"Reminder: #{state.number} {state.subject}",
            body=f"Status {state.status.value}",
        )
    ]
    new, event = _advance(state, now, event, remind_at=None)
    return new, event, notify


def check_acknowledge(state: TicketState, msg: Acknowledge, now: datetime) -> None:
    authorise(state, "acknowledge", msg.actor, now)
    _text(msg.source, "source", maximum=REASON_MAX, required=False)
    _text(msg.note, "note", maximum=BODY_MAX, required=False)


def apply_acknowledge(
    state: TicketState, msg: Acknowledge, now: datetime
) -> tuple[TicketState, TicketEvent]:
    """Recorded, internal; a new incident is in progress from now (not a first response)."""
    data = {"source": msg.source.strip(), "note": msg.note.strip()}
    event = _event(state, "acknowledged", msg.actor, now, data, public=False)
    changes: dict[str, Any] = {}
    if state.status == Status.NEW:
        changes["status"] = Status.OPEN
    return _advance(state, now, event, **changes)


def check_close(state: TicketState, msg: Close, now: datetime) -> None:
    authorise(state, "close", msg.actor, now)


def check_apply_sla_policy(state: TicketState, msg: ApplySlaPolicy, now: datetime) -> None:
    authorise(state, "apply_sla_policy", msg.actor, now)
    current = state.sla.policy if state.sla is not None else None
    if current is not None and (current.id, current.version) == (msg.policy.id, msg.policy.version):
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE,
            f"{_label(state)} already follows version {current.version} of SLA policy "
            f"{current.name!r}",
        )


def check_attach(state: TicketState, msg: Attach, now: datetime) -> None:
    authorise(state, "attach", msg.actor, now)
    _text(msg.filename, "filename", maximum=FILENAME_MAX)
    if msg.size <= 0:
        raise RuleViolation(ViolationKind.INVALID_FIELD, "the file is empty", "file")
    if msg.attachment_id in state.attachment_ids:
        raise RuleViolation(
            ViolationKind.INVALID_FIELD, "this attachment is already on the ticket", "attachment_id"
        )


# ---------------------------------------------------------------- transitions


def _event(
    state: TicketState,
    kind: str,
    actor: Actor,
    now: datetime,
    data: dict[str, Any],
    *,
    public: bool = True,
) -> TicketEvent:
    return TicketEvent(
        seq=state.seq + 1,
        kind=kind,
        at=now,
        actor_id=actor.user_id,
        actor_role=actor.role,
        public=public,
        data=data,
    )


def _advance(
    state: TicketState, now: datetime, event: TicketEvent, **changes: Any
) -> tuple[TicketState, TicketEvent]:
    if "status" in changes and changes["status"] != state.status:
        event.data["status"] = {"from": state.status.value, "to": changes["status"].value}
    if event.actor_id is not None:
        # A person acted on the ticket: it is not idle (workflows/followup.py).
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
    if event.kind == "replied":
        if event.actor_role in STAFF_ROLES:
            sla = clocks.agent_replied(sla, now)
        else:
            sla = clocks.customer_wrote(sla, after.priority, after.status.value, now)
    elif event.kind == "resolved":
        sla = clocks.resolved(sla, now)
    elif event.kind == "reopened":
        sla = clocks.reopened(sla, after.status.value, now)
    elif event.kind == "closed":
        sla = clocks.closed(sla, now)
    if after.priority != before.priority:
        sla = clocks.retarget(sla, after.priority, now)
    return after.model_copy(update={"sla": sla})


def _start_sla(state: TicketState, policy: SlaPolicy, now: datetime) -> TicketState:
    """Clocks for a ticket that had none: counted from when it was opened."""
    opened = state.created_at or now
    sla = clocks.start_sla(policy, state.priority, Status.OPEN.value, opened)
    if state.first_response_at is not None:
        sla = clocks.agent_replied(sla, state.first_response_at)
    sla = clocks.on_status(sla, Status.OPEN.value, state.status.value, now)
    return state.model_copy(update={"sla": sla})


def _policy_ref(policy: SlaPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {"id": policy.id, "name": policy.name, "version": policy.version}


def apply_open(
    ticket_id: str,
    msg: OpenTicket,
    config: DeskConfig,
    now: datetime,
    policy: SlaPolicy | None = None,
) -> tuple[TicketState, TicketEvent]:
    blank = TicketState(id=ticket_id)
    priority = priority_for(config.priority_matrix, msg.impact, msg.urgency)
    status = Status.OPEN if msg.assignee_id is not None else Status.NEW
    event = _event(
        blank,
        "opened",
        msg.actor,
        now,
        {
            "type": msg.type.value,
            "channel": msg.channel.value,
            "subject": msg.subject.strip(),
            "description": msg.description,
            "priority": priority,
            "group_id": msg.group_id,
            "assignee_id": msg.assignee_id,
            "service_id": msg.service_id,
            "sla_policy": _policy_ref(policy),
        },
    )
    state = blank.model_copy(
        update={
            "seq": event.seq,
            "status": status,
            "type": msg.type,
            "channel": msg.channel,
            "subject": msg.subject.strip(),
            "description": msg.description,
            "requester_id": msg.requester_id,
            "organisation_id": msg.organisation_id,
            "group_id": msg.group_id,
            "assignee_id": msg.assignee_id,
            "impact": msg.impact,
            "urgency": msg.urgency,
            "priority": priority,
            "service_id": msg.service_id,
            "created_at": now,
            "updated_at": now,
        }
    )
    if policy is not None:
        state = _start_sla(state, policy, now)
    return state, event


def apply_reply(state: TicketState, msg: Reply, now: datetime) -> tuple[TicketState, TicketEvent]:
    data: dict[str, Any] = {"body": msg.body}
    if msg.attachment_ids:
        # Only when given: replies recorded before files could go with them keep their shape.
        data["attachment_ids"] = list(msg.attachment_ids)
    event = _event(state, "replied", msg.actor, now, data)
    changes: dict[str, Any] = {}
    if _is_staff(msg.actor):
        if state.first_response_at is None:
            changes["first_response_at"] = now
        if state.status == Status.NEW:
            changes["status"] = Status.OPEN
    elif state.status == Status.PENDING:
        # A customer answering is what a pending ticket was waiting for.
        changes["status"] = Status.OPEN
        changes["pending_reason"] = None
    return _advance(state, now, event, **changes)


def apply_add_note(
    state: TicketState, msg: AddNote, now: datetime
) -> tuple[TicketState, TicketEvent]:
    event = _event(state, "note_added", msg.actor, now, {"body": msg.body}, public=False)
    return _advance(state, now, event)


def apply_classify(
    state: TicketState, msg: Classify, config: DeskConfig, now: datetime
) -> tuple[TicketState, TicketEvent]:
    priority = priority_for(config.priority_matrix, msg.impact, msg.urgency)
    event = _event(
        state,
        "classified",
        msg.actor,
        now,
        {
            "impact": {"from": state.impact, "to": msg.impact},
            "urgency": {"from": state.urgency, "to": msg.urgency},
            "priority": {"from": state.priority, "to": priority},
            "service_id": {"from": state.service_id, "to": msg.service_id},
        },
        public=False,
    )
    return _advance(
        state,
        now,
        event,
        impact=msg.impact,
        urgency=msg.urgency,
        priority=priority,
        service_id=msg.service_id,
    )


def apply_assign(state: TicketState, msg: Assign, now: datetime) -> tuple[TicketState, TicketEvent]:
    event = _event(
        state,
        "assigned",
        msg.actor,
        now,
        {
            "group_id": {"from": state.group_id, "to": msg.group_id},
            "assignee_id": {"from": state.assignee_id, "to": msg.assignee_id},
            "note": msg.note.strip(),
        },
        public=False,
    )
    changes: dict[str, Any] = {"group_id": msg.group_id, "assignee_id": msg.assignee_id}
    if msg.group_id != state.group_id:
        # Another group: its own strategy, offered afresh.
        changes["routing"] = RoutingState(skills=state.routing.skills)
    elif msg.assignee_id is not None and state.routing.offer is not None:
        changes["routing"] = state.routing.model_copy(update={"offer": None})
    if state.status == Status.NEW and msg.assignee_id is not None:
        changes["status"] = Status.OPEN
    return _advance(state, now, event, **changes)


def apply_pend(state: TicketState, msg: Pend, now: datetime) -> tuple[TicketState, TicketEvent]:
    reason = msg.reason.strip()
    data = {"reason": reason, "awaiting_customer": msg.awaiting_customer}
    event = _event(state, "pended", msg.actor, now, data)
    return _advance(
        state,
        now,
        event,
        status=Status.PENDING,
        pending_reason=reason,
        awaiting_customer=msg.awaiting_customer,
        pending_since=now,
        customer_reminders=0,
    )


def apply_resume(state: TicketState, msg: Resume, now: datetime) -> tuple[TicketState, TicketEvent]:
    event = _event(state, "resumed", msg.actor, now, {})
    return _advance(state, now, event, status=Status.OPEN, pending_reason=None)


def apply_resolve(
    state: TicketState, msg: Resolve, config: DeskConfig, now: datetime
) -> tuple[TicketState, TicketEvent]:
    reopen_until = now + timedelta(seconds=config.reopen_window_seconds)
    event = _event(
        state,
        "resolved",
        msg.actor,
        now,
        {
            "resolution_code": msg.resolution_code,
            "note": msg.note,
            "reopen_until": reopen_until.isoformat(),
        },
    )
    return _advance(
        state,
        now,
        event,
        status=Status.RESOLVED,
        resolution_code=msg.resolution_code,
        resolution_note=msg.note,
        resolved_at=now,
        reopen_until=reopen_until,
        pending_reason=None,
    )


def apply_reopen(state: TicketState, msg: Reopen, now: datetime) -> tuple[TicketState, TicketEvent]:
    event = _event(state, "reopened", msg.actor, now, {"reason": msg.reason.strip()})
    return _advance(
        state,
        now,
        event,
        status=Status.OPEN,
        resolution_code=None,
        resolution_note=None,
        resolved_at=None,
        reopen_until=None,
        reopen_count=state.reopen_count + 1,
    )


def apply_close(
    state: TicketState, actor: Actor, now: datetime, *, automatic: bool, reason: str = ""
) -> tuple[TicketState, TicketEvent]:
    data: dict[str, Any] = {"automatic": automatic}
    if reason:
        data["reason"] = reason
    event = _event(state, "closed", actor, now, data)
    return _advance(state, now, event, status=Status.CLOSED, closed_at=now, reopen_until=None)


def apply_attach(state: TicketState, msg: Attach, now: datetime) -> tuple[TicketState, TicketEvent]:
    event = _event(
        state,
        "attached",
        msg.actor,
        now,
        {
            "attachment_id": msg.attachment_id,
            "filename": msg.filename,
            "content_type": msg.content_type,
            "size": msg.size,
        },
        # Customers cannot see internal files, so theirs are always public.
        public=msg.public or not _is_staff(msg.actor),
    )
    return _advance(state, now, event, attachment_ids=[*state.attachment_ids, msg.attachment_id])


# ---------------------------------------------------------------- SLA


def facts_changed_policy(
    state: TicketState, event: TicketEvent, policy: SlaPolicy | None, now: datetime
) -> TicketState:
    """After a change that may make another policy match: switch to it, keeping the
    business time already elapsed and paused. No match keeps the current policy."""
    if policy is None:
        return state
    if state.sla is None:
        event.data["sla_policy"] = {"from": None, "to": _policy_ref(policy)}
        return _start_sla(state, policy, now)
    current = state.sla.policy
    if (current.id, current.version) == (policy.id, policy.version):
        return state
    event.data["sla_policy"] = {"from": _policy_ref(current), "to": _policy_ref(policy)}
    return state.model_copy(update={"sla": clocks.retarget(state.sla, state.priority, now, policy)})


def apply_sla_policy(
    state: TicketState, msg: ApplySlaPolicy, now: datetime
) -> tuple[TicketState, TicketEvent]:
    event = _event(state, "sla_policy_applied", msg.actor, now, {}, public=False)
    new, event = _advance(state, now, event)
    return facts_changed_policy(new, event, msg.policy, now), event


_CHECKPOINT_EVENTS = {
    CheckpointKind.WARNING: "sla_warning",
    CheckpointKind.BREACH: "sla_breached",
    CheckpointKind.ESCALATION: "sla_escalated",
}


def checkpoint_title(state: TicketState, cp: Checkpoint) -> str:
    clock = CLOCK_LABELS[cp.clock].lower()
    label = _label(state)
    if cp.kind == CheckpointKind.WARNING:
        return f"{label}: {cp.percent}% of the {clock} target used"
    if cp.kind == CheckpointKind.BREACH:
        return f"{label} breached its {clock} target"
    return f"{label}: {clock} escalation level {cp.level}"


def checkpoint_notifications(
    state: TicketState, cp: Checkpoint, actions: list[EscalationAction]
) -> list[NotifyRequest]:
    """Who hears of a checkpoint: a warning goes to the assignee (else the group lead),
    a breach to both, an escalation level to whoever its actions name."""
    audiences: list[tuple[str, int | None]] = []
    if cp.kind == CheckpointKind.WARNING:
        audiences.append(("assignee" if state.assignee_id is not None else "group_lead", None))
    elif cp.kind == CheckpointKind.BREACH:
        audiences += [("assignee", None), ("group_lead", None)]
    for action in actions:
        if action.kind == EscalationKind.NOTIFY_USER and action.user_id is not None:
            audiences.append(("user", action.user_id))
        elif action.kind in clocks.NOTIFY_KINDS:
            audiences.append((action.kind.value.removeprefix("notify_"), None))
    title = checkpoint_title(state, cp)
    kind = _CHECKPOINT_EVENTS[cp.kind]
    return [
        NotifyRequest(
            audience=audience,
            user_id=user_id,
            kind=kind,
            key=f"{state.id}:{cp.key}",
            title=title,
            body=state.subject,
        )
        for audience, user_id in dict.fromkeys(audiences)
    ]


def apply_sla_checkpoint(
    state: TicketState, cp: Checkpoint, now: datetime
) -> tuple[TicketState, TicketEvent]:
    """Record that an SLA checkpoint fired (once: its key is kept in the clock)."""
    assert state.sla is not None
    actions = clocks.escalation_actions(state.sla.policy, cp)
    data: dict[str, Any] = {
        "clock": cp.clock.value,
        "at": cp.at.isoformat(),
        "late_seconds": max((now - cp.at).total_seconds(), 0.0),
    }
    if cp.percent is not None:
        data["percent"] = cp.percent
    if cp.level is not None:
        data["level"] = cp.level
        data["actions"] = [a.model_dump(mode="json", exclude_none=True) for a in actions]
    event = _event(state, _CHECKPOINT_EVENTS[cp.kind], SYSTEM, now, data, public=False)
    fired = state.model_copy(update={"sla": clocks.fire(state.sla, cp)})
    return _advance(fired, now, event)


def check_raise_priority(state: TicketState, now: datetime) -> None:
    authorise(state, "classify", SYSTEM, now)
    if state.priority <= min(PRIORITIES):
        raise RuleViolation(
            ViolationKind.ILLEGAL_STATE, f"{_label(state)} already has the highest priority"
        )


def apply_raise_priority(
    state: TicketState, reason: str, now: datetime
) -> tuple[TicketState, TicketEvent]:
    """One step up (P3 -> P2); the SLA targets follow the new priority."""
    priority = state.priority - 1
    event = _event(
        state,
        "priority_raised",
        SYSTEM,
        now,
        {"priority": {"from": state.priority, "to": priority}, "reason": reason},
        public=False,
    )
    return _advance(state, now, event, priority=priority)


# The follow-ups (workflows/followup.py) make their events and changes the same way.
event_for = _event
advance = _advance
