"""Idle tickets and customer reminders: pure functions of the state and the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.workflows.test_lifecycle import AGENT, CUSTOMER, opened
from tests.workflows.test_sla import office, policy
from workflows.choices import Status
from workflows.sla import start_sla
from workflows.ticket import notices
from workflows.ticket.followup import (
    apply_customer_reminder,
    apply_idle,
    customer_reminder_due,
    idle_due,
)
from workflows.ticket.lifecycle import apply_add_note, apply_pend, apply_reply
from workflows.ticket.messages import (
    AddNote,
    NotifyRequest,
    Pend,
    Reply,
    TicketEvent,
    TicketState,
)

FRIDAY_4PM = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 16:00 in Berlin


def idle(state: TicketState, at: datetime) -> tuple[TicketState, TicketEvent, list[NotifyRequest]]:
    change = apply_idle(state, at)
    return change.state, change.event, change.notify


def remind(state: TicketState, at: datetime) -> tuple[TicketState, TicketEvent, bool]:
    change = apply_customer_reminder(state, at)
    return change.state, change.event, change.mail


def with_policy(state: TicketState, now: datetime, **fields: object) -> TicketState:
    sla = start_sla(policy(office(), **fields), state.priority, state.status.value, now)
    return state.model_copy(update={"sla": sla})


def test_idle_counts_business_time_and_tells_the_assignee_then_the_lead() -> None:
    state = opened(created_at=FRIDAY_4PM, status=Status.OPEN, assignee_id=7, group_id=3, seq=1)
    state = with_policy(state, FRIDAY_4PM, idle_after=timedelta(hours=2))
    # One business hour left on Friday, the second on Monday morning (09:00–10:00 Berlin).
    first = idle_due(state)
    assert first == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    state, event, notify = idle(state, first)
    assert event.kind == "idle" and event.data["told"] == "assignee" and not event.public
    assert [n.audience for n in notify] == ["assignee"] and state.idle_since == first
    second = idle_due(state)
    assert second == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)  # as long again
    state, event, notify = idle(state, second)
    assert [n.audience for n in notify] == ["group_lead"] and state.idle_since == first
    assert idle_due(state) is None, "nobody left to tell"


def test_a_person_acting_ends_the_idleness() -> None:
    state = opened(created_at=FRIDAY_4PM, status=Status.OPEN, seq=1)
    state = with_policy(state, FRIDAY_4PM, idle_after=timedelta(hours=1))
    due = idle_due(state)
    assert due is not None
    state, _, notify = idle(state, due)
    assert [n.audience for n in notify] == ["managers"], "no group, no assignee"
    later = due + timedelta(minutes=5)
    state, _ = apply_add_note(state, AddNote(actor=AGENT, body="Looking"), later)
    assert state.idle_since is None and state.idle_level == 0
    assert state.last_activity_at == later
    # 17:05 in Berlin: the hour counts from Monday 09:00.
    assert idle_due(state) == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def test_no_idle_while_waiting_or_without_a_setting() -> None:
    state = opened(created_at=FRIDAY_4PM, status=Status.OPEN, seq=1)
    assert idle_due(with_policy(state, FRIDAY_4PM)) is None
    state = with_policy(state, FRIDAY_4PM, idle_after=timedelta(hours=1))
    pended, _ = apply_pend(state, Pend(actor=AGENT, reason="Which one?"), FRIDAY_4PM)
    assert idle_due(pended) is None


def test_customer_reminders_count_from_the_wait_and_close_after_the_last() -> None:
    start = FRIDAY_4PM
    state = opened(created_at=start, status=Status.OPEN, seq=1)
    state = with_policy(
        state, start, remind_customer_after=timedelta(days=2), close_after_reminders=2
    )
    state, _ = apply_pend(state, Pend(actor=AGENT, reason="Which one?"), start)
    assert customer_reminder_due(state) == start + timedelta(days=2)  # calendar time
    state, event, mail = remind(state, start + timedelta(days=2))
    assert mail and event.kind == "customer_reminded" and event.public
    # The workflow stores what the mail needs, not the sentence (written per language).
    assert event.data["left"] == 1 and "body" not in event.data
    assert "after 1 more reminder." in english_reminder(event.data)
    assert customer_reminder_due(state) == start + timedelta(days=4)
    state, event, mail = remind(state, start + timedelta(days=4))
    assert mail and event.data["left"] == 0 and "will be closed" in english_reminder(event.data)
    state, event, mail = remind(state, start + timedelta(days=6))
    assert not mail and event.kind == "closed" and state.status == Status.CLOSED
    assert event.data == {
        "automatic": True,
        "reason": "no answer from the customer after 2 reminders",
        "status": {"from": "pending", "to": "closed"},
    }


def test_the_customer_answering_or_another_kind_of_wait_means_no_reminder() -> None:
    start = FRIDAY_4PM
    state = opened(created_at=start, status=Status.OPEN, seq=1)
    state = with_policy(state, start, remind_customer_after=timedelta(days=1))
    waiting, _ = apply_pend(state, Pend(actor=AGENT, reason="Which one?"), start)
    state, _, _ = remind(waiting, start + timedelta(days=1))
    answered, _ = apply_reply(state, Reply(actor=CUSTOMER, body="That one"), start)
    assert answered.status == Status.OPEN and answered.customer_reminders == 0
    assert customer_reminder_due(answered) is None
    vendor = Pend(actor=AGENT, reason="Vendor", awaiting_customer=False)
    on_vendor, _ = apply_pend(state, vendor, start)
    assert customer_reminder_due(on_vendor) is None


def english_reminder(data: dict[str, Any]) -> str:
    return notices.reminder_text(str, lambda one, many, n: one if n == 1 else many, data)
