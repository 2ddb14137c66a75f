"""Who works on a ticket: assignment and transfer, routing offers, consults of colleagues,
and reminders.

Each action's rule (`check_*`, beyond its field rules and permission) and its
transition (`apply_*`). Plain functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from workflows.choices import N_, Audience, EventKind, NotificationKind, Status
from workflows.routing import Offer, RoutingState, Strategy
from workflows.ticket import notices
from workflows.ticket.errors import ViolationKind, refuse
from workflows.ticket.messages import (
    SYSTEM,
    AcceptOffer,
    Actor,
    AnswerConsult,
    Assign,
    Consult,
    DeclineOffer,
    NotifyRequest,
    OpenConsult,
    RouteDecision,
    SetReminder,
    TicketEvent,
    TicketState,
)
from workflows.ticket.rules import WORKING, Change, advance, event, refuse_on

# ---------------------------------------------------------------- assignment and transfer


def check_assign(state: TicketState, msg: Assign, now: datetime) -> None:
    if (msg.group_id, msg.assignee_id) == (state.group_id, state.assignee_id):
        raise refuse(
            ViolationKind.INVALID_FIELD,
            N_("group_id and assignee_id are already set to these values"),
            "assignee_id",
        )


def apply_assign(state: TicketState, msg: Assign, now: datetime) -> tuple[TicketState, TicketEvent]:
    assigned = event(
        state,
        EventKind.ASSIGNED,
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
    return advance(state, now, assigned, **changes)


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
                audience=Audience.ASSIGNEE,
                kind=NotificationKind.ASSIGNED,
                key=f"{after.id}:assigned:{event.seq}",
                message=notices.ASSIGNED,
                params={"number": after.number or 0, "subject": after.subject},
                body=note,
            )
        ]
    if after.group_id is not None and after.group_id != before.group_id:
        return [
            NotifyRequest(
                audience=Audience.GROUP_LEAD,
                kind=NotificationKind.TRANSFERRED,
                key=f"{after.id}:transferred:{event.seq}",
                message=notices.TRANSFERRED,
                params={"number": after.number or 0, "subject": after.subject},
                body=note,
            )
        ]
    return []


# ---------------------------------------------------------------- routing and offers


def needs_routing(state: TicketState) -> bool:
    """In a group, nobody assigned, nothing offered, still being worked."""
    return (
        state.group_id is not None
        and state.assignee_id is None
        and state.routing.offer is None
        and state.status in WORKING
    )


def apply_route(state: TicketState, decision: RouteDecision, now: datetime) -> Change | None:
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
        offered = event(state, EventKind.OFFERED, SYSTEM, now, data, public=False)
        notify = [
            NotifyRequest(
                audience=Audience.USER,
                user_id=offer.agent_id,
                kind=NotificationKind.OFFERED,
                key=f"{state.id}:offer:{offered.seq}",
                message=notices.OFFERED,
                detail=notices.OFFERED_DETAIL,
                params={"number": state.number or 0, "subject": state.subject},
            )
        ]
        new, offered = advance(state, now, offered, routing=routing)
        return Change(new, offered, notify)
    if decision.strategy == Strategy.MANUAL or routing.lead_notified_for == state.group_id:
        return None
    routing.lead_notified_for = state.group_id
    data = {"group_id": state.group_id, "declined": routing.declined}
    unrouted = event(state, EventKind.UNROUTED, SYSTEM, now, data, public=False)
    notify = [
        NotifyRequest(
            audience=Audience.GROUP_LEAD,
            kind=NotificationKind.UNROUTED,
            key=f"{state.id}:unrouted:{unrouted.seq}",
            message=notices.UNROUTED,
            detail=notices.UNROUTED_DETAIL,
            params={"number": state.number or 0, "subject": state.subject},
        )
    ]
    new, unrouted = advance(state, now, unrouted, routing=routing)
    return Change(new, unrouted, notify)


def _offered_to(state: TicketState, actor: Actor) -> None:
    offer = state.routing.offer
    if offer is None:
        raise refuse_on(
            state, ViolationKind.ILLEGAL_STATE, N_("ticket #%(number)s is not offered to anyone")
        )
    if actor.user_id != offer.agent_id:
        raise refuse_on(
            state, ViolationKind.FORBIDDEN, N_("ticket #%(number)s is offered to someone else")
        )


def check_accept_offer(state: TicketState, msg: AcceptOffer, now: datetime) -> None:
    _offered_to(state, msg.actor)


def apply_accept_offer(
    state: TicketState, msg: AcceptOffer, now: datetime
) -> tuple[TicketState, TicketEvent]:
    routing = state.routing.model_copy(update={"offer": None})
    accepted = event(state, EventKind.OFFER_ACCEPTED, msg.actor, now, {}, public=False)
    changes: dict[str, Any] = {"assignee_id": msg.actor.user_id, "routing": routing}
    if state.status == Status.NEW:
        changes["status"] = Status.OPEN
    return advance(state, now, accepted, **changes)


def check_decline_offer(state: TicketState, msg: DeclineOffer, now: datetime) -> None:
    _offered_to(state, msg.actor)


def apply_decline_offer(
    state: TicketState, msg: DeclineOffer, now: datetime
) -> tuple[TicketState, TicketEvent]:
    return _offer_withdrawn(
        state, EventKind.OFFER_DECLINED, msg.actor, now, reason=msg.reason.strip()
    )


def apply_offer_expired(state: TicketState, now: datetime) -> tuple[TicketState, TicketEvent]:
    return _offer_withdrawn(state, EventKind.OFFER_EXPIRED, SYSTEM, now)


def _offer_withdrawn(
    state: TicketState, kind: EventKind, actor: Actor, now: datetime, **data: Any
) -> tuple[TicketState, TicketEvent]:
    """The offer ends without an assignee; its agent is never offered this ticket again."""
    assert state.routing.offer is not None
    agent = state.routing.offer.agent_id
    routing = state.routing.model_copy(
        update={"offer": None, "declined": [*state.routing.declined, agent]}
    )
    withdrawn = event(state, kind, actor, now, {"agent_id": agent, **data}, public=False)
    return advance(state, now, withdrawn, routing=routing)


# ---------------------------------------------------------------- consults


def check_consult(state: TicketState, msg: Consult, now: datetime) -> None:
    if msg.colleague_id == msg.actor.user_id:
        raise refuse(
            ViolationKind.INVALID_FIELD, N_("ask a colleague, not yourself"), "colleague_id"
        )


def apply_consult(state: TicketState, msg: Consult, now: datetime) -> Change:
    data = {"colleague_id": msg.colleague_id, "message": msg.message.strip()}
    asked = event(state, EventKind.CONSULT_ASKED, msg.actor, now, data, public=False)
    consult = OpenConsult(seq=asked.seq, colleague_id=msg.colleague_id, asked_by=msg.actor.user_id)
    notify = [
        NotifyRequest(
            audience=Audience.USER,
            user_id=msg.colleague_id,
            kind=NotificationKind.CONSULT,
            key=f"{state.id}:consult:{asked.seq}",
            message=notices.CONSULT_ASKED,
            params={"number": state.number or 0, "subject": state.subject},
            body=msg.message.strip()[:500],
        )
    ]
    new, asked = advance(state, now, asked, consults=[*state.consults, consult])
    return Change(new, asked, notify)


def check_answer_consult(state: TicketState, msg: AnswerConsult, now: datetime) -> None:
    consult = next((c for c in state.consults if c.seq == msg.consult_seq), None)
    if consult is None:
        raise refuse_on(
            state,
            ViolationKind.ILLEGAL_STATE,
            N_("there is no open question %(question)s on ticket #%(number)s"),
            question=msg.consult_seq,
        )
    if consult.colleague_id != msg.actor.user_id:
        raise refuse(ViolationKind.FORBIDDEN, N_("the question was asked of someone else"))


def apply_answer_consult(state: TicketState, msg: AnswerConsult, now: datetime) -> Change:
    consult = next(c for c in state.consults if c.seq == msg.consult_seq)
    data = {"consult_seq": msg.consult_seq, "body": msg.body}
    answered = event(state, EventKind.CONSULT_ANSWERED, msg.actor, now, data, public=False)
    notify = []
    if consult.asked_by is not None:
        notify.append(
            NotifyRequest(
                audience=Audience.USER,
                user_id=consult.asked_by,
                kind=NotificationKind.CONSULT_ANSWERED,
                key=f"{state.id}:consult-answer:{answered.seq}",
                message=notices.CONSULT_ANSWERED,
                params={"number": state.number or 0},
                body=msg.body[:500],
            )
        )
    rest = [c for c in state.consults if c.seq != msg.consult_seq]
    new, answered = advance(state, now, answered, consults=rest)
    return Change(new, answered, notify)


# ---------------------------------------------------------------- reminders


def check_set_reminder(state: TicketState, msg: SetReminder, now: datetime) -> None:
    if msg.at is not None and msg.at <= now:
        raise refuse(
            ViolationKind.INVALID_FIELD, N_("%(name)s must be in the future"), "at", name="at"
        )
    if msg.at is None and state.remind_at is None:
        raise refuse_on(
            state, ViolationKind.ILLEGAL_STATE, N_("ticket #%(number)s has no reminder")
        )


def apply_set_reminder(
    state: TicketState, msg: SetReminder, now: datetime
) -> tuple[TicketState, TicketEvent]:
    data = {"at": msg.at.isoformat() if msg.at else None, "note": msg.note.strip()}
    set_ = event(state, EventKind.REMINDER_SET, msg.actor, now, data, public=False)
    return advance(state, now, set_, remind_at=msg.at)


def apply_reminder_due(state: TicketState, now: datetime) -> Change:
    """The reminder time came: the assignee (else the group lead) is reminded."""
    reminded = event(state, EventKind.REMINDED, SYSTEM, now, {}, public=False)
    audience = Audience.ASSIGNEE if state.assignee_id is not None else Audience.GROUP_LEAD
    notify = [
        NotifyRequest(
            audience=audience,
            kind=NotificationKind.REMINDER,
            key=f"{state.id}:reminder:{reminded.seq}",
            message=notices.REMINDER,
            detail=notices.REMINDER_DETAIL,
            params={
                "number": state.number or 0,
                "subject": state.subject,
                "status": state.status.value,
            },
        )
    ]
    new, reminded = advance(state, now, reminded, remind_at=None)
    return Change(new, reminded, notify)
