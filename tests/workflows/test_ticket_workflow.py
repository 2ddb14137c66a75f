"""TicketWorkflow in isolation: the real workflow on the real dev server, stand-in activities.

The stand-ins record what the workflow asked to persist and can fail on demand,
which the real database cannot do reliably.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker
from temporalio.workflow import _Definition

from api.settings import Settings
from tempodesk.worker import STRICT_RUNNERS, workflow_runner
from tests.workflows.updates import send
from tests.workflows.where_am_i import WhereAmI
from workflows import ids
from workflows.choices import Status
from workflows.ticket.actions import ACTIONS
from workflows.ticket.lifecycle import apply_open
from workflows.ticket.messages import (
    Actor,
    AddNote,
    DeskConfig,
    OpenTicket,
    ProjectedOpening,
    ProjectionResult,
    ProjectOpening,
    ProjectTicket,
    Reply,
    Resume,
    TicketInput,
    TicketMail,
)
from workflows.ticket.workflow import TicketWorkflow

AGENT = Actor(user_id=1, role="agent")


@dataclass
class StandIns:
    written: list[ProjectTicket] = field(default_factory=list)
    fail_next: bool = False
    can_mail: bool = True
    """What the projection answers for `ProjectionResult.mail` (the worker has SMTP)."""
    mailed: list[TicketMail] = field(default_factory=list)

    @activity.defn(name=ids.PERSIST_TICKET)
    async def persist(self, msg: ProjectTicket) -> ProjectionResult:
        if self.fail_next:
            self.fail_next = False
            raise ApplicationError("database is down", non_retryable=True)
        self.written.append(msg)
        return ProjectionResult(number=4711, mail=self.can_mail)

    @activity.defn(name=ids.SEND_TICKET_MAIL)
    async def send_mail(self, mail: TicketMail) -> str:
        self.mailed.append(mail)
        return "sent"

    @activity.defn(name=ids.OPEN_TICKET)
    async def open(self, msg: ProjectOpening) -> ProjectedOpening:
        state, event = apply_open(msg.ticket_id, msg.open, DeskConfig(), msg.at)
        result = await self.persist(ProjectTicket(state=state, event=event))
        return ProjectedOpening(
            state=state.model_copy(update={"number": result.number}), event=event
        )

    @activity.defn(name=ids.LOAD_DESK_CONFIG)
    async def config(self) -> DeskConfig:
        return DeskConfig()


@dataclass
class Harness:
    client: Client
    task_queue: str
    stand_ins: StandIns

    async def start(self) -> str:
        workflow_id = f"ticket-test-{uuid.uuid4().hex}"
        msg = OpenTicket(actor=AGENT, subject="Disk full", requester_id=1)
        handle = await self.client.start_workflow(
            TicketWorkflow.run, TicketInput.opening(msg), id=workflow_id, task_queue=self.task_queue
        )
        # No `open` update was sent: the workflow opens the ticket by itself.
        state = await send(handle, msg, update_id=ids.OPEN_UPDATE_ID)
        assert state.number == 4711
        return workflow_id


@pytest.fixture(params=["strict", "deployed"])
async def harness(
    temporal_client: Client, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    """The workflow in the SDK's sandbox as it comes (its modules re-imported for
    each run and held to the sandbox's rules: where a breach of them shows), and
    outside it, as deployed workers run it."""
    runners = (
        STRICT_RUNNERS
        if request.param == "strict"
        else {"workflow_runner": workflow_runner(Settings())}
    )
    stand_ins = StandIns()
    task_queue = f"test-{uuid.uuid4().hex}"
    async with Worker(
        temporal_client,
        task_queue=task_queue,
        workflows=[TicketWorkflow],
        activities=[stand_ins.persist, stand_ins.open, stand_ins.config, stand_ins.send_mail],
        **runners,
    ):
        yield Harness(temporal_client, task_queue, stand_ins)


async def test_start_without_the_update_still_opens_the_ticket_once(harness: Harness) -> None:
    workflow_id = await harness.start()
    handle = harness.client.get_workflow_handle(workflow_id)
    again = await send(handle, OpenTicket(actor=AGENT, subject="Other", requester_id=1))
    assert again.subject == "Disk full" and again.seq == 1
    assert [w.event.kind for w in harness.stand_ins.written] == ["opened"]


async def test_rejected_update_leaves_no_trace_in_history(harness: Harness) -> None:
    handle = harness.client.get_workflow_handle(await harness.start())
    before = [e.event_type for e in (await handle.fetch_history()).events]

    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await send(handle, Resume(actor=AGENT))

    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "illegal_state"
    after = [e.event_type for e in (await handle.fetch_history()).events]
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED not in after[len(before) :]
    assert [w.event.kind for w in harness.stand_ins.written] == ["opened"]


@pytest.mark.parametrize(
    ("name", "arg", "says"),
    [
        ("frobnicate", {"actor": {"user_id": 1, "role": "agent"}}, "no action 'frobnicate'"),
        ("reply", "just a string", "not a valid Reply"),
        ("reply", {"actor": {"user_id": 1, "role": "agent"}}, "body"),
    ],
)
async def test_an_unknown_action_or_a_malformed_message_is_refused_cleanly(
    harness: Harness, name: str, arg: object, says: str
) -> None:
    """Every change reaches one dynamic update handler; what it cannot decode is refused
    by the validator (nothing in history), never a failed workflow task."""
    handle = harness.client.get_workflow_handle(await harness.start())
    before = len((await handle.fetch_history()).events)

    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(name, arg)

    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "invalid_field"
    assert says in caught.value.cause.message
    assert len((await handle.fetch_history()).events) == before
    # The ticket goes on taking changes.
    state = await send(handle, Reply(actor=AGENT, body="still here"))
    assert state.seq == 2


def _patch_markers(events: list[Any]) -> list[str]:
    return [
        e.marker_recorded_event_attributes.marker_name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]


async def test_a_new_ticket_opens_without_a_patch_marker(harness: Harness) -> None:
    """A patch marker makes the server update the TemporalChangeVersion search attribute:
    a write per new ticket for nothing, since a new run always takes the current path."""
    events = (
        await harness.client.get_workflow_handle(await harness.start()).fetch_history()
    ).events
    kinds = [e.event_type for e in events]
    assert EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES not in kinds
    assert _patch_markers(list(events)) == []


async def test_failed_projection_write_changes_nothing(harness: Harness) -> None:
    handle = harness.client.get_workflow_handle(await harness.start())
    harness.stand_ins.fail_next = True

    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await send(handle, Reply(actor=AGENT, body="lost"))

    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "unavailable"
    state = await handle.query(TicketWorkflow.current)
    assert state.seq == 1 and state.status == Status.NEW
    # The next change takes the sequence number the failed one would have had.
    state = await send(handle, Reply(actor=AGENT, body="kept"))
    assert state.seq == 2 and state.status == Status.OPEN
    assert [(w.event.seq, w.event.kind) for w in harness.stand_ins.written] == [
        (1, "opened"),
        (2, "replied"),
    ]


async def _scheduled_mail(handle: WorkflowHandle[Any, Any]) -> int:
    return sum(
        1
        for e in (await handle.fetch_history()).events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == ids.SEND_TICKET_MAIL
    )


async def test_a_reply_is_mailed_only_by_a_worker_that_can_mail(harness: Harness) -> None:
    """Without an SMTP server a reply's mail activity would only record that nothing was
    sent: the projection says so and the workflow starts none (a round trip per reply)."""
    harness.stand_ins.can_mail = False
    quiet = harness.client.get_workflow_handle(await harness.start())
    await send(quiet, Reply(actor=AGENT, body="no SMTP"))
    assert await _scheduled_mail(quiet) == 0

    harness.stand_ins.can_mail = True
    mailing = harness.client.get_workflow_handle(await harness.start())
    await send(mailing, Reply(actor=AGENT, body="with SMTP"))
    assert await _scheduled_mail(mailing) == 1
    await send(mailing, AddNote(actor=AGENT, body="internal"))
    assert await _scheduled_mail(mailing) == 1, "an internal note is never mailed"
    assert [(m.ticket_id, m.seq, m.kind) for m in harness.stand_ins.mailed] == [
        (mailing.id, 2, "reply")
    ]


async def test_every_action_of_the_registry_reaches_its_message_decoder(
    harness: Harness,
) -> None:
    """The workflow dispatches every update named in the registry (the ticket client sends
    exactly those names): each one decodes its own message type, nothing is unknown."""
    handle = harness.client.get_workflow_handle(await harness.start())
    for name, action in ACTIONS.items():
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(name, "not a message")
        assert isinstance(caught.value.cause, ApplicationError)
        assert f"not a valid {action.message.__name__}" in caught.value.cause.message


@pytest.mark.parametrize(("runners", "sandboxed"), [("strict", True), ("deployed", False)])
async def test_the_strict_runners_sandbox_what_deployed_workers_do_not(
    temporal_client: Client, runners: str, sandboxed: bool
) -> None:
    """The tests' `STRICT_RUNNERS` put a workflow declared `sandboxed=False` (as
    `TicketWorkflow` is) in the sandbox; the deployed worker runs it outside."""
    assert not _Definition.must_from_class(TicketWorkflow).sandboxed
    chosen = (
        STRICT_RUNNERS if runners == "strict" else {"workflow_runner": workflow_runner(Settings())}
    )
    task_queue = f"test-{uuid.uuid4().hex}"
    async with Worker(temporal_client, task_queue=task_queue, workflows=[WhereAmI], **chosen):
        inside = await temporal_client.execute_workflow(
            WhereAmI.run, id=f"where-{uuid.uuid4().hex}", task_queue=task_queue
        )
    assert inside is sandboxed
