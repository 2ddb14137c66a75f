"""The ticket under its SLA policy: a policy applied or matched anew, checkpoints (warning,
breach, escalation level) fired, and the escalations that raise the priority.

The clocks themselves are `workflows.sla`; this is what a ticket does with them. Plain
functions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflows import sla as clocks
from workflows.choices import N_, PRIORITIES, Audience, EventKind, NotificationKind
from workflows.sla import (
    Checkpoint,
    CheckpointKind,
    EscalationAction,
    EscalationKind,
    SlaPolicy,
)
from workflows.ticket import notices
from workflows.ticket.errors import ViolationKind
from workflows.ticket.messages import (
    SYSTEM,
    ApplySlaPolicy,
    NotifyRequest,
    TicketEvent,
    TicketState,
)
from workflows.ticket.rules import advance, event, policy_ref, refuse_on, start_sla

CHECKPOINT_EVENTS = {
    CheckpointKind.WARNING: EventKind.SLA_WARNING,
    CheckpointKind.BREACH: EventKind.SLA_BREACHED,
    CheckpointKind.ESCALATION: EventKind.SLA_ESCALATED,
}
_CHECKPOINT_NOTICES = {
    CheckpointKind.WARNING: NotificationKind.SLA_WARNING,
    CheckpointKind.BREACH: NotificationKind.SLA_BREACHED,
    CheckpointKind.ESCALATION: NotificationKind.SLA_ESCALATED,
}


def facts_changed_policy(
    state: TicketState, changed: TicketEvent, policy: SlaPolicy | None, now: datetime
) -> TicketState:
    """After a change that may make another policy match: switch to it, keeping the
    business time already elapsed and paused. No match keeps the current policy."""
    if policy is None:
        return state
    if state.sla is None:
        changed.data["sla_policy"] = {"from": None, "to": policy_ref(policy)}
        return start_sla(state, policy, now)
    current = state.sla.policy
    if (current.id, current.version) == (policy.id, policy.version):
        return state
    changed.data["sla_policy"] = {"from": policy_ref(current), "to": policy_ref(policy)}
    return state.model_copy(update={"sla": clocks.retarget(state.sla, state.priority, now, policy)})


def check_apply_sla_policy(state: TicketState, msg: ApplySlaPolicy, now: datetime) -> None:
    current = state.sla.policy if state.sla is not None else None
    if current is not None and (current.id, current.version) == (msg.policy.id, msg.policy.version):
        raise refuse_on(
            state,
            ViolationKind.ILLEGAL_STATE,
            N_("ticket #%(number)s already follows version %(version)s of SLA policy %(policy)s"),
            version=current.version,
            policy=repr(current.name),
        )


def apply_sla_policy(
    state: TicketState, msg: ApplySlaPolicy, now: datetime
) -> tuple[TicketState, TicketEvent]:
    applied = event(state, EventKind.SLA_POLICY_APPLIED, msg.actor, now, {}, public=False)
    new, applied = advance(state, now, applied)
    return facts_changed_policy(new, applied, msg.policy, now), applied


def checkpoint_notice(state: TicketState, cp: Checkpoint) -> tuple[str, dict[str, str | int]]:
    """The notice of an SLA checkpoint: its message id and parameters."""
    params: dict[str, str | int] = {"number": state.number or 0}
    if cp.kind == CheckpointKind.WARNING:
        params["percent"] = cp.percent or 0
    elif cp.kind == CheckpointKind.ESCALATION:
        params["level"] = cp.level or 0
    return notices.CHECKPOINTS[(cp.kind, cp.clock)], params


def checkpoint_notifications(
    state: TicketState, cp: Checkpoint, actions: list[EscalationAction]
) -> list[NotifyRequest]:
    """Who hears of a checkpoint: a warning goes to the assignee (else the group lead),
    a breach to both, an escalation level to whoever its actions name."""
    audiences: list[tuple[Audience, int | None]] = []
    if cp.kind == CheckpointKind.WARNING:
        audiences.append(
            (Audience.ASSIGNEE if state.assignee_id is not None else Audience.GROUP_LEAD, None)
        )
    elif cp.kind == CheckpointKind.BREACH:
        audiences += [(Audience.ASSIGNEE, None), (Audience.GROUP_LEAD, None)]
    for action in actions:
        if action.kind == EscalationKind.NOTIFY_USER and action.user_id is not None:
            audiences.append((Audience.USER, action.user_id))
        elif action.kind in clocks.NOTIFY_KINDS:
            audiences.append((Audience(action.kind.value.removeprefix("notify_")), None))
    message, params = checkpoint_notice(state, cp)
    kind = _CHECKPOINT_NOTICES[cp.kind]
    return [
        NotifyRequest(
            audience=audience,
            user_id=user_id,
            kind=kind,
            key=f"{state.id}:{cp.key}",
            message=message,
            params=params,
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
    fired_event = event(state, CHECKPOINT_EVENTS[cp.kind], SYSTEM, now, data, public=False)
    fired = state.model_copy(update={"sla": clocks.fire(state.sla, cp)})
    return advance(fired, now, fired_event)


def check_raise_priority(state: TicketState) -> None:
    if state.priority <= min(PRIORITIES):
        raise refuse_on(
            state,
            ViolationKind.ILLEGAL_STATE,
            N_("ticket #%(number)s already has the highest priority"),
        )


def apply_raise_priority(
    state: TicketState, reason: str, now: datetime
) -> tuple[TicketState, TicketEvent]:
    """One step up (P3 -> P2); the SLA targets follow the new priority."""
    priority = state.priority - 1
    raised = event(
        state,
        EventKind.PRIORITY_RAISED,
        SYSTEM,
        now,
        {"priority": {"from": state.priority, "to": priority}, "reason": reason},
        public=False,
    )
    return advance(state, now, raised, priority=priority)
