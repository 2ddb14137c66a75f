"""A ticket's life: opened, answered, classified, pended, resolved, reopened, closed, and
the files and notes on it.

Each action's rule (`check_*`, what its field rules and permission do not already say)
and its transition (`apply_*`, the next state and its event). Plain functions; the
registry (`workflows.ticket.actions`) binds them to the workflow's updates.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from workflows.choices import N_, EventKind, Role, Status
from workflows.priority import priority_for
from workflows.sla import SlaPolicy
from workflows.ticket.errors import ViolationKind, refuse
from workflows.ticket.fields import check_fields
from workflows.ticket.messages import (
    Actor,
    AddNote,
    Attach,
    Classify,
    ClassifyRequest,
    DeskConfig,
    OpenTicket,
    Pend,
    Reopen,
    Reply,
    Resolve,
    Resume,
    TicketEvent,
    TicketState,
)
from workflows.ticket.rules import advance, event, is_staff, policy_ref, refuse_on, start_sla

# ---------------------------------------------------------------- opening


def check_open(msg: OpenTicket) -> None:
    check_fields(msg)
    if msg.requester_id is None:
        raise refuse(
            ViolationKind.INVALID_FIELD,
            N_("%(name)s is required"),
            "requester_id",
            name="requester_id",
        )
    if msg.actor.role == Role.CUSTOMER and msg.requester_id != msg.actor.user_id:
        raise refuse(
            ViolationKind.FORBIDDEN,
            N_("customers can open tickets only for themselves"),
            "requester_id",
        )


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
    opened = event(
        blank,
        EventKind.OPENED,
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
            "sla_policy": policy_ref(policy),
        },
    )
    state = blank.model_copy(
        update={
            "seq": opened.seq,
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
        state = start_sla(state, policy, now)
    return state, opened


# ---------------------------------------------------------------- conversation


def check_reply(state: TicketState, msg: Reply, now: datetime) -> None:
    for attachment_id in msg.attachment_ids:
        if attachment_id not in state.attachment_ids:
            raise refuse(
                ViolationKind.INVALID_FIELD,
                N_("attachment %(attachment)s is not on this ticket; upload it first"),
                "attachment_ids",
                attachment=attachment_id,
            )


def apply_reply(state: TicketState, msg: Reply, now: datetime) -> tuple[TicketState, TicketEvent]:
    data: dict[str, Any] = {"body": msg.body}
    if msg.attachment_ids:
        data["attachment_ids"] = list(msg.attachment_ids)
    replied = event(state, EventKind.REPLIED, msg.actor, now, data)
    changes: dict[str, Any] = {}
    if is_staff(msg.actor):
        if state.first_response_at is None:
            changes["first_response_at"] = now
        if state.status == Status.NEW:
            changes["status"] = Status.OPEN
    elif state.status == Status.PENDING:
        # A customer answering is what a pending ticket was waiting for.
        changes["status"] = Status.OPEN
        changes["pending_reason"] = None
    return advance(state, now, replied, **changes)


def apply_add_note(
    state: TicketState, msg: AddNote, now: datetime
) -> tuple[TicketState, TicketEvent]:
    noted = event(state, EventKind.NOTE_ADDED, msg.actor, now, {"body": msg.body}, public=False)
    return advance(state, now, noted)


def check_attach(state: TicketState, msg: Attach, now: datetime) -> None:
    if msg.size <= 0:
        raise refuse(ViolationKind.INVALID_FIELD, N_("the file is empty"), "file")
    if msg.attachment_id in state.attachment_ids:
        raise refuse(
            ViolationKind.INVALID_FIELD,
            N_("this attachment is already on the ticket"),
            "attachment_id",
        )


def apply_attach(state: TicketState, msg: Attach, now: datetime) -> tuple[TicketState, TicketEvent]:
    attached = event(
        state,
        EventKind.ATTACHED,
        msg.actor,
        now,
        {
            "attachment_id": msg.attachment_id,
            "filename": msg.filename,
            "content_type": msg.content_type,
            "size": msg.size,
        },
        # Customers cannot see internal files, so theirs are always public.
        public=msg.public or not is_staff(msg.actor),
    )
    return advance(state, now, attached, attachment_ids=[*state.attachment_ids, msg.attachment_id])


# ---------------------------------------------------------------- classification


def classify_message(request: ClassifyRequest, actor: Actor, state: TicketState) -> Classify:
    """The change a classify request asks for: a service left out stays as it is."""
    service_id = None if request.clear_service else request.service_id or state.service_id
    return Classify(
        actor=actor, impact=request.impact, urgency=request.urgency, service_id=service_id
    )


def check_classify(state: TicketState, msg: Classify, now: datetime) -> None:
    if (msg.impact, msg.urgency, msg.service_id) == (state.impact, state.urgency, state.service_id):
        raise refuse(
            ViolationKind.INVALID_FIELD,
            N_("impact, urgency and service are already set to these values"),
            "impact",
        )


def apply_classify(
    state: TicketState, msg: Classify, config: DeskConfig, now: datetime
) -> tuple[TicketState, TicketEvent]:
    priority = priority_for(config.priority_matrix, msg.impact, msg.urgency)
    classified = event(
        state,
        EventKind.CLASSIFIED,
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
    return advance(
        state,
        now,
        classified,
        impact=msg.impact,
        urgency=msg.urgency,
        priority=priority,
        service_id=msg.service_id,
    )


# ---------------------------------------------------------------- waiting, resolving, closing


def apply_pend(state: TicketState, msg: Pend, now: datetime) -> tuple[TicketState, TicketEvent]:
    reason = msg.reason.strip()
    data = {"reason": reason, "awaiting_customer": msg.awaiting_customer}
    pended = event(state, EventKind.PENDED, msg.actor, now, data)
    return advance(
        state,
        now,
        pended,
        status=Status.PENDING,
        pending_reason=reason,
        awaiting_customer=msg.awaiting_customer,
        pending_since=now,
        customer_reminders=0,
    )


def apply_resume(state: TicketState, msg: Resume, now: datetime) -> tuple[TicketState, TicketEvent]:
    resumed = event(state, EventKind.RESUMED, msg.actor, now, {})
    return advance(state, now, resumed, status=Status.OPEN, pending_reason=None)


def apply_resolve(
    state: TicketState, msg: Resolve, config: DeskConfig, now: datetime
) -> tuple[TicketState, TicketEvent]:
    reopen_until = now + timedelta(seconds=config.reopen_window_seconds)
    resolved = event(
        state,
        EventKind.RESOLVED,
        msg.actor,
        now,
        {
            "resolution_code": msg.resolution_code,
            "note": msg.note,
            "reopen_until": reopen_until.isoformat(),
        },
    )
    return advance(
        state,
        now,
        resolved,
        status=Status.RESOLVED,
        resolution_code=msg.resolution_code,
        resolution_note=msg.note,
        resolved_at=now,
        reopen_until=reopen_until,
        pending_reason=None,
    )


def reopen_window(state: TicketState, actor: Actor, now: datetime) -> None:
    """Customers may reopen only within the reopen window; staff at any time."""
    window_over = state.reopen_until is not None and now >= state.reopen_until
    if actor.role == Role.CUSTOMER and window_over:
        raise refuse_on(
            state,
            ViolationKind.ILLEGAL_STATE,
            N_("the reopen window of ticket #%(number)s has ended; open a new ticket instead"),
        )


def apply_reopen(state: TicketState, msg: Reopen, now: datetime) -> tuple[TicketState, TicketEvent]:
    reopened = event(state, EventKind.REOPENED, msg.actor, now, {"reason": msg.reason.strip()})
    return advance(
        state,
        now,
        reopened,
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
    closed = event(state, EventKind.CLOSED, actor, now, data)
    return advance(state, now, closed, status=Status.CLOSED, closed_at=now, reopen_until=None)
