"""Messages of the ticket workflow: its state and one model per update.

These models are a wire format between the API and running workflows, some of
which live for months: add fields only with defaults, never rename or remove.
They deliberately carry no constraints beyond their types. Field rules live in
the validators (`workflows.lifecycle`), so a bad value is rejected as a clear
update failure instead of failing a workflow task on decode.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from workflows.business_time import BusinessCalendar
from workflows.choices import Channel, Status, TicketType
from workflows.priority import DEFAULT_MATRIX, matrix_problems
from workflows.routing import RoutingState
from workflows.sla import SlaPolicy, SlaState


class Actor(BaseModel):
    """Who asks for a change. `user_id` is None for the desk itself (timers)."""

    user_id: int | None = None
    role: str = "system"
    organisation_id: int | None = None


SYSTEM = Actor()


class DeskConfig(BaseModel):
    """Desk-wide settings the workflow needs, read through an activity."""

    priority_matrix: list[list[int]] = Field(
        default_factory=lambda: [list(row) for row in DEFAULT_MATRIX]
    )
    reopen_window_seconds: int = 7 * 24 * 3600

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> DeskConfig:
        """Build from stored settings, keeping the default for anything absent or unusable."""
        config = cls()
        matrix = stored.get("priority_matrix")
        if isinstance(matrix, list) and not matrix_problems(matrix):
            config.priority_matrix = matrix
        window = stored.get("reopen_window_seconds")
        if isinstance(window, int) and window >= 0:
            config.reopen_window_seconds = window
        return config


class TicketEvent(BaseModel):
    """One entry of a ticket's append-only timeline."""

    seq: int
    kind: str
    at: datetime
    actor_id: int | None = None
    actor_role: str = "system"
    public: bool = True
    data: dict[str, Any] = Field(default_factory=dict)


class OpenConsult(BaseModel):
    seq: int
    """The event that asked it; the answer names it."""
    colleague_id: int
    asked_by: int | None


class TicketState(BaseModel):
    """The whole state of a ticket, owned by its workflow and mirrored in PostgreSQL."""

    id: str
    number: int | None = None
    seq: int = 0
    status: Status = Status.NEW
    type: TicketType = TicketType.INCIDENT
    channel: Channel = Channel.WEB
    subject: str = ""
    description: str = ""
    requester_id: int | None = None
    organisation_id: int | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    impact: int = 3
    urgency: int = 3
    priority: int = 5
    pending_reason: str | None = None
    resolution_code: str | None = None
    resolution_note: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_until: datetime | None = None
    reopen_count: int = 0
    attachment_ids: list[str] = Field(default_factory=list)
    service_id: int | None = None
    sla: SlaState | None = None
    major: bool = False
    """A major incident: all hands, its own review; child incidents link to it."""
    parent_number: int | None = None
    """The major incident this incident is a child of."""
    routing: RoutingState = Field(default_factory=RoutingState)
    consults: list[OpenConsult] = Field(default_factory=list)
    """Questions to colleagues not answered yet."""
    remind_at: datetime | None = None
    """When the assignee asked to be reminded of the ticket."""
    last_activity_at: datetime | None = None
    """When a person last acted on the ticket (None: since it was opened)."""
    idle_level: int = 0
    """How many idle reminders have gone out since then."""
    idle_since: datetime | None = None
    awaiting_customer: bool = False
    """Pending on the customer's answer (not on a third party)."""
    pending_since: datetime | None = None
    customer_reminders: int = 0
    """Reminders sent to the customer during the current wait."""


class TicketInput(BaseModel):
    """Start (or continue-as-new) argument of `TicketWorkflow`.

    A fresh ticket carries `open`; a continued one carries `state`.
    """

    open: OpenTicket | None = None
    state: TicketState | None = None
    mail: list[TicketMail] = Field(default_factory=list)
    """Mail the previous run started and had not finished sending: started again (the
    outbox makes a repeat harmless), so continuing as new never waits for an SMTP server."""
    done_updates: list[str] = Field(default_factory=list)
    """Ids of the last updates the previous runs applied. Temporal recognises a repeated
    update id only within one run; a retry arriving after continue-as-new is answered
    from these instead of being applied again."""
    one_write: bool = False
    """Set by every current starter (`TicketInput.opening`): the ticket opens in one
    local activity without asking `workflow.patched`, whose marker made the server
    update a search attribute (TemporalChangeVersion) for every new ticket. A run
    started without it (recorded before) asks, and replays as it was recorded."""

    @classmethod
    def opening(cls, msg: OpenTicket) -> TicketInput:
        """The start argument of a new ticket."""
        return cls(open=msg, one_write=True)


class OpenTicket(BaseModel):
    actor: Actor
    type: TicketType = TicketType.INCIDENT
    channel: Channel = Channel.WEB
    subject: str = ""
    description: str = ""
    requester_id: int | None = None
    organisation_id: int | None = None
    impact: int = 3
    urgency: int = 3
    group_id: int | None = None
    assignee_id: int | None = None
    service_id: int | None = None


class Reply(BaseModel):
    """A public message on the ticket, visible to the requester."""

    actor: Actor
    body: str
    attachment_ids: list[str] = Field(default_factory=list)
    """Files already on the ticket that go with the reply (an agent's is mailed with them)."""


class AddNote(BaseModel):
    """An internal note, visible to staff only."""

    actor: Actor
    body: str


class Classify(BaseModel):
    """Change impact, urgency and the affected service; priority follows from the matrix."""

    actor: Actor
    impact: int
    urgency: int
    service_id: int | None = None


class Assign(BaseModel):
    """Set the group and/or the agent working on the ticket (None clears it)."""

    actor: Actor
    group_id: int | None = None
    assignee_id: int | None = None
    note: str = ""


class Pend(BaseModel):
    actor: Actor
    reason: str
    awaiting_customer: bool = True
    """Waiting for the customer's answer (their policy may remind them); False for a
    wait on someone else (a supplier, a change window)."""


class Resume(BaseModel):
    actor: Actor


class Resolve(BaseModel):
    actor: Actor
    resolution_code: str
    note: str = ""


class Reopen(BaseModel):
    actor: Actor
    reason: str = ""


class Close(BaseModel):
    actor: Actor


class Consult(BaseModel):
    """Ask a colleague about the ticket (internal)."""

    actor: Actor
    colleague_id: int
    message: str


class AnswerConsult(BaseModel):
    """The consulted colleague answers, as an internal note."""

    actor: Actor
    consult_seq: int
    body: str


class SetReminder(BaseModel):
    """Remind the assignee of the ticket at `at` (None: cancel the reminder)."""

    actor: Actor
    at: datetime | None
    note: str = ""


class AcceptOffer(BaseModel):
    """The agent a ticket is offered to takes it."""

    actor: Actor


class DeclineOffer(BaseModel):
    """The agent a ticket is offered to passes; it is never offered to them again."""

    actor: Actor
    reason: str = ""


class RouteRequest(BaseModel):
    """Input of the routing activity: whom in this group to offer the ticket to."""

    ticket_id: str
    group_id: int
    declined: list[int] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)


class RouteDecision(BaseModel):
    strategy: str = "manual"
    agent_id: int | None = None
    timeout_seconds: int = 300


class SetMajor(BaseModel):
    """Declare an incident major, or no longer major."""

    actor: Actor
    major: bool
    note: str = ""


class LinkParent(BaseModel):
    """Make this incident a child of a major incident (None: no longer a child).

    The API checks that the parent is a major incident the actor can see.
    """

    actor: Actor
    parent_number: int | None
    note: str = ""


class Acknowledge(BaseModel):
    """Someone took the incident up at its source (a monitoring tool's acknowledge)."""

    actor: Actor
    source: str = ""
    note: str = ""


class Attach(BaseModel):
    """Record an attachment the API has already stored."""

    actor: Actor
    attachment_id: str
    filename: str
    content_type: str
    size: int
    public: bool = True


class ApplySlaPolicy(BaseModel):
    """Put the ticket under this policy (a changed policy applied to open tickets).

    The clocks keep the business time already elapsed and paused.
    """

    actor: Actor
    policy: SlaPolicy


class NotifyRequest(BaseModel):
    """Who should hear about an event; the projection resolves the audience to people."""

    audience: str
    """assignee, group_lead, managers or user."""
    user_id: int | None = None
    kind: str
    key: str
    """What caused it; with the recipient it makes the notification unique."""
    title: str
    body: str = ""


class ProjectTicket(BaseModel):
    """What the projection activity writes: the new state and the event that led to it."""

    state: TicketState
    event: TicketEvent
    notify: list[NotifyRequest] = Field(default_factory=list)


class TicketFacts(BaseModel):
    """What decides which SLA policy applies; priority None = from impact and urgency."""

    type: TicketType
    impact: int
    urgency: int
    priority: int | None = None
    service_id: int | None = None
    organisation_id: int | None = None
    group_id: int | None = None


class TicketContext(BaseModel):
    """Desk settings and the SLA policy that matches a ticket, read in one activity."""

    config: DeskConfig
    policy: SlaPolicy | None = None


class CalendarLookup(BaseModel):
    """A calendar resolved anew for the span around today; None when it was deleted."""

    calendar: BusinessCalendar | None = None


class TicketMail(BaseModel):
    """Mail the people of a ticket about one of its events (e.g. an agent's public reply)."""

    ticket_id: str
    seq: int
    kind: str = "reply"


class ProjectionResult(BaseModel):
    number: int
    deliver: bool = True
    """Someone the event notified takes mail (and an SMTP server is configured) or
    pushes: the workflow starts the delivery activity only then. True in results
    recorded before it existed, so their histories replay as they ran."""
    mail: bool = True
    """The worker that saved the change can send mail (an SMTP server is configured): the
    workflow starts a reply's mail activity only then. True in results recorded before
    it existed, so their histories replay as they ran."""


class ProjectOpening(BaseModel):
    """What the opening activity needs: the request and the instant the workflow opened it."""

    ticket_id: str
    open: OpenTicket
    at: datetime


class ProjectedOpening(BaseModel):
    """The opened ticket (with its number) and its first event, as written."""

    state: TicketState
    event: TicketEvent


TicketInput.model_rebuild()


ACTIONS: dict[str, type[BaseModel]] = {
    "open": OpenTicket,
    "reply": Reply,
    "add_note": AddNote,
    "classify": Classify,
    "assign": Assign,
    "pend": Pend,
    "resume": Resume,
    "resolve": Resolve,
    "reopen": Reopen,
    "close": Close,
    "apply_sla_policy": ApplySlaPolicy,
    "attach": Attach,
    "acknowledge": Acknowledge,
    "set_major": SetMajor,
    "link_parent": LinkParent,
    "consult": Consult,
    "answer_consult": AnswerConsult,
    "set_reminder": SetReminder,
    "accept_offer": AcceptOffer,
    "decline_offer": DeclineOffer,
}
"""Every change a ticket takes: the Temporal update's name and its message. The names
are part of every recorded history; never rename one."""

_ACTION_NAMES = {message: name for name, message in ACTIONS.items()}


def action_name(msg: BaseModel) -> str:
    """The update that carries this message to the ticket's workflow."""
    return _ACTION_NAMES[type(msg)]
