"""Following tickets up when nothing happens: idle tickets and customers who do not answer.

Pure functions of the state and `now`, like the rest of the lifecycle. The SLA
policy a ticket carries says when:

- `idle_after` (business time, in the policy's calendar): an open ticket nobody
  has acted on for that long is idle; its assignee is told, and the group lead
  when as long again has passed (without an assignee: the lead, else the
  managers). Anything a person does to the ticket ends the idleness.
- `remind_customer_after` (calendar time): a ticket pending on the customer
  reminds them that long after the wait began, and again after each interval;
  with `close_after_reminders`, one interval after that many reminders the
  ticket is closed. The customer answering resumes the ticket, which ends it.
"""

from __future__ import annotations

from datetime import datetime

from workflows.business_time import CalendarError, add_business_time
from workflows.choices import Audience, EventKind, NotificationKind, Status
from workflows.ticket import notices
from workflows.ticket.lifecycle import apply_close
from workflows.ticket.messages import SYSTEM, NotifyRequest, TicketState
from workflows.ticket.rules import Change, advance, event

IDLE_STATUSES = frozenset({Status.NEW, Status.OPEN})


def _idle_audiences(state: TicketState) -> list[Audience]:
    if state.assignee_id is not None:
        if state.group_id is not None:
            return [Audience.ASSIGNEE, Audience.GROUP_LEAD]
        return [Audience.ASSIGNEE]
    return [Audience.GROUP_LEAD] if state.group_id is not None else [Audience.MANAGERS]


def last_activity(state: TicketState) -> datetime | None:
    return state.last_activity_at or state.created_at


def idle_due(state: TicketState) -> datetime | None:
    """When the ticket's next idle reminder is due, if it has one."""
    policy = state.sla.policy if state.sla is not None else None
    since = last_activity(state)
    if policy is None or policy.idle_after is None or since is None:
        return None
    if state.status not in IDLE_STATUSES or state.idle_level >= len(_idle_audiences(state)):
        return None
    try:
        return add_business_time(policy.calendar, since, policy.idle_after * (state.idle_level + 1))
    except CalendarError:
        return None  # a calendar with no working time left: never idle


def apply_idle(state: TicketState, now: datetime) -> Change:
    """The ticket has been idle long enough for the next person to be told."""
    audience = _idle_audiences(state)[state.idle_level]
    level = state.idle_level + 1
    since = last_activity(state) or now
    idle = event(
        state,
        EventKind.IDLE,
        SYSTEM,
        now,
        {"level": level, "since": since.isoformat(), "told": audience.value},
        public=False,
    )
    notify = [
        NotifyRequest(
            audience=audience,
            kind=NotificationKind.IDLE,
            key=f"{state.id}:idle:{idle.seq}",
            message=notices.IDLE,
            detail=notices.IDLE_DETAIL,
            params={
                "number": state.number or 0,
                "subject": state.subject,
                "since": since.isoformat(),
            },
        )
    ]
    new, idle = advance(state, now, idle, idle_level=level, idle_since=state.idle_since or now)
    return Change(new, idle, notify)


def customer_reminder_due(state: TicketState) -> datetime | None:
    """When the customer the ticket waits for is next reminded (or the ticket closed)."""
    policy = state.sla.policy if state.sla is not None else None
    if policy is None or policy.remind_customer_after is None:
        return None
    if state.status != Status.PENDING or not state.awaiting_customer:
        return None
    if state.pending_since is None:
        return None
    return state.pending_since + policy.remind_customer_after * (state.customer_reminders + 1)


def apply_customer_reminder(state: TicketState, now: datetime) -> Change:
    """Remind the customer (mailed to them), or close the ticket when the reminders are
    used up."""
    assert state.sla is not None
    limit = state.sla.policy.close_after_reminders
    if limit is not None and state.customer_reminders >= limit:
        return Change(
            *apply_close(
                state,
                SYSTEM,
                now,
                automatic=True,
                reason=f"no answer from the customer after {state.customer_reminders} reminders",
            )
        )
    count = state.customer_reminders + 1
    left = None if limit is None else limit - count
    reminded = event(
        state,
        EventKind.CUSTOMER_REMINDED,
        SYSTEM,
        now,
        # What the mail says is written in the customer's language from these
        # (`notices.reminder_text`); the workflow writes no sentence.
        {"reminder": count, "left": left, "number": state.number, "subject": state.subject},
    )
    new, reminded = advance(state, now, reminded, customer_reminders=count)
    return Change(new, reminded, mail=True)
