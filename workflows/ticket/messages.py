"""Messages of the ticket workflow: its state, one model per action, and what its
activities take and give.

These models are a wire format between the API and running workflows, some of
which live for months: add fields only with defaults, never rename or remove.
They carry no constraints pydantic would enforce when decoding; each field's rule
is declared on it as metadata (`workflows.ticket.fields`), which the update's
validator checks and the API turns into its request schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from workflows.business_time import BusinessCalendar
from workflows.choices import (
    N_,
    Audience,
    Channel,
    EventKind,
    MailKind,
    NotificationKind,
    ResolutionCode,
    Status,
    TicketType,
)
from workflows.priority import DEFAULT_MATRIX, matrix_problems
from workflows.routing import RoutingState
from workflows.sla import SlaPolicy, SlaState
from workflows.ticket.fields import (
    BODY_MAX,
    FILENAME_MAX,
    REASON_MAX,
    SUBJECT_MAX,
    Aware,
    Items,
    Level,
    OneOf,
    Ref,
    RefKind,
    Text,
)


class ActionMessage(BaseModel):
    """Base of the actions' messages: attribute docstrings become field descriptions, which
    the API's request schemas show."""

    model_config = ConfigDict(use_attribute_docstrings=True)


Subject = Annotated[str, Text(SUBJECT_MAX, required=True)]
Description = Annotated[str, Text(BODY_MAX)]
Body = Annotated[str, Text(BODY_MAX, required=True)]
"""A reply, note, question or answer: not blank."""
Note = Annotated[str, Text(REASON_MAX)]
"""A short optional remark that goes with a change."""
Reason = Annotated[str, Text(REASON_MAX, required=True)]
LevelValue = Annotated[int, Level()]
GroupId = Annotated[int | None, Ref(RefKind.GROUP)]
AgentId = Annotated[int | None, Ref(RefKind.AGENT)]
ServiceId = Annotated[int | None, Ref(RefKind.SERVICE)]


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
    kind: EventKind
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

    @classmethod
    def opening(cls, msg: OpenTicket) -> TicketInput:
        """The start argument of a new ticket."""
        return cls(open=msg)


class OpenTicket(ActionMessage):
    """Open a ticket (the creating update, sent with the workflow's start)."""

    actor: Actor
    type: TicketType = TicketType.INCIDENT
    channel: Channel = Channel.WEB
    subject: Subject = ""
    description: Description = ""
    requester_id: int | None = None
    organisation_id: int | None = None
    impact: LevelValue = 3
    urgency: LevelValue = 3
    group_id: GroupId = None
    assignee_id: AgentId = None
    service_id: ServiceId = None


class Reply(ActionMessage):
    """A public message on the ticket, visible to the requester."""

    actor: Actor
    body: Body
    attachment_ids: Annotated[
        list[str],
        Items(
            20,
            "files",
            N_("%(name)s takes at most %(maximum)s files"),
            N_("%(name)s names one of its files twice"),
        ),
        Ref(RefKind.PUBLIC_FILE),
    ] = Field(default_factory=list)
    """Files already on the ticket that go with the reply (an agent's is mailed with them)."""


class AddNote(ActionMessage):
    """An internal note, visible to staff only."""

    actor: Actor
    body: Body


class Classify(ActionMessage):
    """Change impact, urgency and the affected service; priority follows from the matrix."""

    actor: Actor
    impact: LevelValue
    urgency: LevelValue
    service_id: ServiceId = None


class ClassifyRequest(ActionMessage):
    """How a person asks for `Classify`: a service left out stays as it is."""

    impact: LevelValue
    urgency: LevelValue
    service_id: ServiceId = None
    """The affected service; left out: unchanged."""
    clear_service: bool = False
    """True: the ticket concerns no service."""


class Assign(ActionMessage):
    """Set the group and/or the agent working on the ticket (None clears it)."""

    actor: Actor
    group_id: GroupId = None
    assignee_id: AgentId = None
    note: Note = ""


class Pend(ActionMessage):
    """Wait for someone else, with a reason."""

    actor: Actor
    reason: Reason
    awaiting_customer: bool = True
    """Waiting for the customer's answer (their policy may remind them); False for a
    wait on someone else (a supplier, a change window)."""


class Resume(ActionMessage):
    """Back to work after pending."""

    actor: Actor


class Resolve(ActionMessage):
    """Resolve with an ITIL closure code; the reopen window starts."""

    actor: Actor
    resolution_code: Annotated[str, OneOf(ResolutionCode)]
    note: Annotated[str, Text(BODY_MAX)] = ""


class Reopen(ActionMessage):
    """Reopen a resolved ticket within its reopen window."""

    actor: Actor
    reason: Note = ""


class Close(ActionMessage):
    """Close a resolved ticket now instead of at the end of its reopen window."""

    actor: Actor


class Consult(ActionMessage):
    """Ask a colleague about the ticket (internal)."""

    actor: Actor
    colleague_id: Annotated[int, Ref(RefKind.AGENT)]
    message: Body


class AnswerConsult(ActionMessage):
    """The consulted colleague answers, as an internal note."""

    actor: Actor
    consult_seq: int
    body: Body


class SetReminder(ActionMessage):
    """Remind the assignee of the ticket at `at` (None: cancel the reminder)."""

    actor: Actor
    at: Annotated[datetime | None, Aware()]
    note: Note = ""


class AcceptOffer(ActionMessage):
    """The agent a ticket is offered to takes it."""

    actor: Actor


class DeclineOffer(ActionMessage):
    """The agent a ticket is offered to passes; it is never offered to them again."""

    actor: Actor
    reason: Note = ""


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


class SetMajor(ActionMessage):
    """Declare an incident major, or no longer major."""

    actor: Actor
    major: bool
    note: Note = ""


class LinkParent(ActionMessage):
    """Make this incident a child of a major incident (None: no longer a child).

    The API checks that the parent is a major incident the actor can see.
    """

    actor: Actor
    parent_number: Annotated[int | None, Ref(RefKind.MAJOR_INCIDENT)]
    note: Note = ""


class Acknowledge(ActionMessage):
    """Someone took the incident up at its source (a monitoring tool's acknowledge)."""

    actor: Actor
    source: Note = ""
    note: Description = ""


class Attach(ActionMessage):
    """Record an attachment the API has already stored."""

    actor: Actor
    attachment_id: str
    filename: Annotated[str, Text(FILENAME_MAX, required=True)]
    content_type: str
    size: int
    public: bool = True


class ApplySlaPolicy(ActionMessage):
    """Put the ticket under this policy (a changed policy applied to open tickets).

    The clocks keep the business time already elapsed and paused.
    """

    actor: Actor
    policy: SlaPolicy


class NotifyRequest(BaseModel):
    """Who should hear about an event; the projection resolves the audience to people."""

    audience: Audience
    user_id: int | None = None
    kind: NotificationKind
    key: str
    """What caused it; with the recipient it makes the notification unique."""
    message: str = ""
    """What it says: a catalogue message id (`workflows.ticket.notices`) filled from
    `params`, written in each reader's language where it is shown."""
    detail: str = ""
    """A second line, also a message id filled from `params`."""
    params: dict[str, str | int] = Field(default_factory=dict)
    body: str = ""
    """People's own words that come with it (a transfer's note, a colleague's question),
    shown as they are."""
    title: str = ""
    """Before message ids: the sentence itself (activities scheduled by an older worker)."""


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
    kind: MailKind = MailKind.REPLY


class ProjectionResult(BaseModel):
    number: int
    deliver: bool = False
    """Someone the event notified takes mail (and an SMTP server is configured) or
    pushes: the workflow starts the delivery activity only then."""
    mail: bool = False
    """The worker that saved the change can send mail (an SMTP server is configured): the
    workflow starts a reply's mail activity only then."""


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
