"""Request and response schemas of the JSON API, one family per entity."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from workflows.choices import (
    Availability,
    Channel,
    DateCalendar,
    Digits,
    NotificationKind,
    Role,
    SlaStatus,
    Status,
    TicketType,
)
from workflows.routing import Strategy
from workflows.sla_config import CalendarSpec, PolicySpec
from workflows.ticket.fields import BODY_MAX, REASON_MAX, SUBJECT_MAX

MAX_INT = 2**31 - 1
MAX_BIGINT = 2**63 - 1
SEARCH_MAX = 200
"""Longest search text a list accepts."""
DbId = Annotated[int, Field(ge=1, le=MAX_INT, strict=True)]
"""An id of a stored row: out-of-range numbers are a 422, never a database error."""
Level = Annotated[int, Field(ge=1, le=3, strict=True, description="1 = high, 3 = low")]
Flag = Annotated[bool, Field(strict=True)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=BODY_MAX)]
Reason = Annotated[str, StringConstraints(max_length=REASON_MAX)]


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


# Trimmed texts: the length is checked as sent (what the OpenAPI schema promises),
# then the blanks around are dropped; a text of blanks only is refused.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_not_blank)]
Skill = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(_not_blank)]
Host = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_not_blank)]
Pem = Annotated[
    str, StringConstraints(min_length=1, max_length=100_000), AfterValidator(_not_blank)
]


class Strict(BaseModel):
    """Base of every request body: unknown fields and NUL characters are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL text and JSONB cannot hold NUL; refuse it at the door.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class FieldError(BaseModel):
    field: str | None
    message: str


class ErrorBody(BaseModel):
    """Every error the API answers with."""

    detail: str = Field(description="What went wrong, in words a person can act on")
    field: str | None = Field(None, description="The request field at fault, when there is one")
    code: str = Field(description="Stable machine code, e.g. illegal_state, invalid_field, csrf")
    errors: list[FieldError] | None = Field(
        None, description="Every field at fault, when there are several"
    )


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "The body could not be parsed"),
        (401, "Not authenticated"),
        (403, "Not allowed for this caller"),
        (404, "Not found, or not visible to this caller"),
        (409, "Not possible in the record's current state"),
        (413, "Body larger than the limit"),
        (422, "A field is invalid"),
        (503, "A backing service is unavailable; nothing was changed"),
        (504, "The workflow did not answer in time"),
    )
}


# ---------------------------------------------------------------- people


class UserRef(BaseModel):
    id: int
    name: str


class GroupRef(BaseModel):
    id: int
    name: str


Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
"""A template language, e.g. `de`; the service checks templates exist in it."""
PersonName = Name
TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""An IANA time zone such as `Asia/Tehran`; the service checks the zone exists."""


class UserPublic(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    organisation_id: int | None
    active: bool
    language: str | None = Field(
        None,
        description="This person's language, of the pages they read and the mail they receive; "
        "null: the desk's default",
    )
    timezone: str | None = Field(None, description="IANA zone pages show instants in; null: UTC")
    date_calendar: DateCalendar | None = Field(
        None, description="Calendar pages show dates in; null: Gregorian"
    )
    digits: Digits | None = Field(
        None, description="Digits pages show numbers in; null: the language's usual ones"
    )


class UserCreate(Strict):
    email: EmailStr
    name: PersonName
    role: Role
    organisation_id: DbId | None = None
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)] | None = None
    language: Language | None = Field(
        None,
        description="Language of the mail templates this person receives (one that templates "
        "exist in, see GET /users/languages); null: the desk's default",
    )


class UserUpdate(Strict):
    """Fields left out stay as they are; null returns a setting to its default."""

    name: PersonName | None = None
    language: Language | None = None
    timezone: TimeZoneName | None = None
    date_calendar: DateCalendar | None = None
    digits: Digits | None = None


class OrganisationPublic(BaseModel):
    id: int
    name: str
    domains: list[str] = Field(description="Mail domains whose unknown senders become its contacts")
    shared_tickets: bool


MailDomain = Annotated[str, StringConstraints(min_length=1, max_length=255)]
"""Checked and normalised (IDNA, lower case, surrounding blanks dropped) by the service."""


class OrganisationCreate(Strict):
    name: Name
    domains: Annotated[list[MailDomain], Field(max_length=100)] = Field(
        default_factory=list,
        description="Mail domains (e.g. acme.example); each belongs to one organisation at most",
    )
    shared_tickets: Flag = False


RoutingStrategy = Strategy


class GroupPublic(BaseModel):
    id: int
    name: str
    description: str
    member_ids: list[int]
    lead_id: int | None = None
    strategy: str = "manual"
    offer_timeout_seconds: int = 300
    skills: dict[int, list[str]] = Field(default_factory=dict, description="Per member id")
    required_skills: list[str] = Field(
        default_factory=list, description="Skills every ticket of the group needs"
    )


class GroupCreate(Strict):
    name: Name
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    member_ids: list[DbId] = []
    lead_id: DbId | None = Field(None, description="An agent; hears of escalations")
    strategy: RoutingStrategy = Field(
        Strategy.MANUAL,
        description="manual: agents take tickets from the queue; round_robin, least_loaded "
        "(weighted by priority) or skills: each new ticket is offered to one member",
    )
    offer_timeout_seconds: int = Field(
        300, ge=5, le=7 * 24 * 3600, strict=True, description="How long an offer waits"
    )
    skills: dict[Annotated[int, Field(ge=1, le=MAX_INT)], list[Skill]] = Field(
        default_factory=dict, description="Skills per member id (for the skills strategy)"
    )
    required_skills: list[Skill] = Field(
        default_factory=list,
        max_length=20,
        description="Skills every ticket of the group needs: the skills strategy offers "
        "it only to members having these and the ticket's own",
    )


class TokenCreate(Strict):
    name: Name


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str
    user_id: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret. Shown once; only its digest is stored.")


# ---------------------------------------------------------------- desk settings


class DeskSettings(Strict):
    priority_matrix: list[list[int]] = Field(
        description="Rows impact 1..3, columns urgency 1..3, values priority 1..5"
    )
    reopen_window_seconds: int = Field(
        ge=0,
        le=365 * 24 * 3600,
        strict=True,
        description="How long a resolved ticket may be reopened",
    )


# ---------------------------------------------------------------- tickets


class ServiceRef(BaseModel):
    id: int
    name: str


class ServicePublic(BaseModel):
    id: int
    name: str
    description: str
    active: bool


class ServiceCreate(Strict):
    name: Name
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    active: Flag = True


class TicketCreate(Strict):
    type: TicketType = TicketType.INCIDENT
    subject: Annotated[str, StringConstraints(min_length=1, max_length=SUBJECT_MAX)]
    description: Annotated[str, StringConstraints(max_length=BODY_MAX)] = ""
    impact: Level = 3
    urgency: Level = 3
    requester_id: DbId | None = Field(None, description="Staff only; defaults to the caller")
    group_id: DbId | None = Field(None, description="Staff only")
    assignee_id: DbId | None = Field(None, description="Staff only")
    channel: Channel | None = Field(None, description="Staff only; defaults to api or portal")
    service_id: DbId | None = Field(None, description="The affected service")


class SlaClockPublic(BaseModel):
    """One SLA target of a ticket, in business time of its policy's calendar."""

    name: str
    label: str
    state: str = Field(description="running, paused, met, breached or stopped")
    target_seconds: float
    elapsed_seconds: float
    remaining_seconds: float = Field(description="Negative once over the target")
    paused_seconds: float
    due_at: datetime | None
    breached_at: datetime | None
    met_at: datetime | None


class PolicyRef(BaseModel):
    id: int
    name: str
    version: int


class TicketPublic(BaseModel):
    number: int
    workflow_id: str
    type: TicketType
    status: Status
    channel: Channel
    subject: str
    description: str
    requester: UserRef | None
    organisation_id: int | None
    group: GroupRef | None
    assignee: UserRef | None
    impact: int
    urgency: int
    priority: int
    pending_reason: str | None
    resolution_code: str | None
    resolution_note: str | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_until: datetime | None
    reopen_count: int
    service: ServiceRef | None = None
    sla_state: str = Field("none", description="none, running, paused, at_risk, breached or met")
    sla_due_at: datetime | None = Field(None, description="Earliest due instant of a running clock")
    sla_clocks: list[SlaClockPublic] = Field(
        default_factory=list, description="Staff only; as of the last change of the ticket"
    )
    major: bool = Field(False, description="A major incident")
    parent_number: int | None = Field(None, description="The major incident this is a child of")
    idle_since: datetime | None = Field(
        None, description="Staff only; when the ticket became idle (nobody acted on it)"
    )
    actions: list[str] = Field(description="Actions the caller may take now")


class TicketPage(BaseModel):
    items: list[TicketPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class EventPublic(BaseModel):
    seq: int
    kind: str
    at: datetime
    actor: UserRef | None
    actor_role: str
    public: bool
    data: dict[str, object]


class CommentCreate(Strict):
    body: Body
    public: Flag = Field(True, description="False: an internal note (staff only)")
    attachment_ids: Annotated[list[uuid.UUID], Field(max_length=20)] = Field(
        default_factory=list,
        description="Public files already uploaded to the ticket that go with a public reply; "
        "an agent's reply is mailed with them attached",
    )


class CommentPublic(BaseModel):
    seq: int
    at: datetime
    author: UserRef | None
    public: bool
    body: str
    body_html: str = Field(description="The body sanitised for display as HTML")


class AttachmentPublic(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    public: bool
    created_at: datetime
    uploaded_by: int | None


SlaFilter = SlaStatus

SortKey = Literal[
    "sla_due_at",
    "-sla_due_at",
    "number",
    "-number",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "priority",
    "-priority",
]
Queue = Literal["all", "mine", "groups", "unassigned"]


# ---------------------------------------------------------------- SLA configuration


class CalendarBody(Strict, CalendarSpec):
    """A business calendar: time zone, weekly hours (minutes after midnight), holidays."""


class CalendarPublic(CalendarSpec):
    id: int
    updated_at: datetime


class CalendarPreview(BaseModel):
    start: datetime
    target_seconds: float
    due_at: datetime = Field(description="When a ticket opened at `start` with this target is due")
    working_now: bool
    next_opening: datetime
    days_off: list[str] = Field(description="Days off in the next 60 days (ISO dates)")


class SlaPolicyBody(Strict, PolicySpec):
    """An SLA policy. Durations are business time: seconds or ISO 8601 (PT8H)."""


class SlaPolicyPublic(PolicySpec):
    id: int
    position: int
    version: int
    updated_at: datetime
    open_tickets: int = Field(description="Open tickets following this policy (any version)")
    outdated_tickets: int = Field(description="Open tickets on an older version of it")


class PolicyOrder(Strict):
    ids: list[DbId] = Field(description="Every policy id, in the order they are tried")


class BulkJobPublic(BaseModel):
    id: str
    kind: str
    status: str = Field(description="running, finished or failed")
    total: int
    done: int
    succeeded: int
    failures: list[dict[str, object]]
    created_at: datetime
    finished_at: datetime | None


class NotificationPublic(BaseModel):
    """A notification in its reader's language (`users.language`), with the catalogue
    message id and parameters it was written from, for clients that translate."""

    id: int
    kind: str
    title: str
    body: str
    message: str | None = Field(None, description="The title's catalogue message id")
    detail: str | None = Field(None, description="The body's first line's message id")
    params: dict[str, str | int] = Field(default_factory=dict, description="What fills the ids")
    ticket_number: int | None
    created_at: datetime
    read_at: datetime | None


class LiveNotification(NotificationPublic):
    """A notification as the live stream sends it: with the page to open."""

    link: str | None = Field(description="The web page it is about (its ticket's), if any")


class NotificationStreamEvent(BaseModel):
    """`event: notification`: a notification for the caller was written."""

    unread: int = Field(description="The caller's unread notifications, this one included")
    notification: LiveNotification


class ResyncStreamEvent(BaseModel):
    """`event: resync`: the stream may have missed notifications; re-read the list."""

    unread: int = Field(description="The caller's unread notifications now")


class SlaImportReport(BaseModel):
    """What an import changed (or, dry run, would change)."""

    dry_run: bool
    changes: list[str]


# ---------------------------------------------------------------- monitoring integrations

IntegrationKind = Literal["events", "alertmanager", "webhook"]
Expression = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Severity = Literal["critical", "error", "warning", "info"]


class WebhookMapping(Strict):
    """Where a generic JSON webhook keeps each field, as JMESPath expressions (jmespath.org)."""

    items: Expression | None = Field(
        None, description="The list of alerts in one body (e.g. `alerts`); absent: the body is one"
    )
    dedup_key: Expression = Field(description="e.g. `eventid` (Zabbix) or `fingerprint`")
    summary: Expression = Field(description="e.g. `subject` or `annotations.summary`")
    severity: Expression | None = None
    source: Expression | None = None
    status: Expression | None = Field(None, description="Read against the two lists below")
    resolved: list[Annotated[str, StringConstraints(max_length=100)]] = Field(
        default_factory=lambda: ["resolved", "ok", "recovery", "up"],
        description="Status values (any case) that resolve",
    )
    acknowledged: list[Annotated[str, StringConstraints(max_length=100)]] = Field(
        default_factory=lambda: ["acknowledged", "ack"],
        description="Status values (any case) that acknowledge; anything else triggers",
    )
    severities: dict[Annotated[str, StringConstraints(max_length=100)], Severity] = Field(
        default_factory=dict, description="The tool's severity names to ours (any case)"
    )


class IntegrationRule(Strict):
    """When an event matches (all given conditions), its incident gets these fields."""

    severities: list[Annotated[str, StringConstraints(max_length=20)]] = Field(
        default_factory=list, description="Any of these severities (empty: any)"
    )
    labels: dict[
        Annotated[str, StringConstraints(max_length=100)],
        Annotated[str, StringConstraints(max_length=200)],
    ] = Field(default_factory=dict, description="Alertmanager labels that must all be equal")
    impact: Level | None = None
    urgency: Level | None = None
    service_id: DbId | None = None
    group_id: DbId | None = None


class IntegrationBody(Strict):
    name: Name
    kind: IntegrationKind = Field(
        description="events: PagerDuty Events API v2 shape; alertmanager: its webhook"
    )
    service_id: DbId | None = None
    group_id: DbId | None = Field(None, description="Group new incidents land in")
    resolve_mode: Literal["resolve", "note"] = Field(
        "resolve", description="resolve: a resolve from the source resolves; note: adds a note"
    )
    flap_window_seconds: int = Field(
        0,
        ge=0,
        le=7 * 24 * 3600,
        strict=True,
        description="A trigger this soon after the resolve reopens the incident (flapping)",
    )
    link_by: Literal["alert", "group"] = Field(
        "alert",
        description="alert: one incident per alert; group: the alerts of one Alertmanager "
        "group (groupKey) share an incident, resolved when all of them are",
    )
    rules: list[IntegrationRule] = Field(default_factory=list, max_length=100)
    mapping: WebhookMapping | None = Field(None, description="webhook only, and required there")
    active: Flag = True


class IntegrationPublic(BaseModel):
    id: int
    name: str
    kind: str
    active: bool
    token_prefix: str | None
    token_active: bool
    token_revoked_at: datetime | None
    service_id: int | None
    group_id: int | None
    resolve_mode: str
    flap_window_seconds: int
    link_by: str
    rules: list[IntegrationRule]
    mapping: WebhookMapping | None
    requester_id: int = Field(description="The contact its incidents are raised by")
    created_at: datetime
    last_event_at: datetime | None


class IntegrationCreated(IntegrationPublic):
    token: str = Field(description="Shown once: the routing key (events) or bearer token")


class EventAccepted(BaseModel):
    status: Literal["success"] = "success"
    message: str = "Event processed"
    dedup_key: str


class AlertsAccepted(BaseModel):
    status: Literal["success"] = "success"
    alerts: int = Field(description="Alerts accepted, each handled by its fingerprint")


class AlertPublic(BaseModel):
    integration_id: int
    key: str
    ticket_number: int | None = Field(None, description="The incident it currently feeds")
    status: str = Field(description="firing, acknowledged or resolved, as the source last said")
    summary: str
    severity: str
    source: str
    occurrences: int
    flapping: bool
    first_seen: datetime
    last_seen: datetime


class AlertEventPublic(BaseModel):
    id: int
    integration_id: int
    key: str
    action: str
    received_at: datetime
    outcome: str | None
    payload: dict[str, object] = Field(description="The event exactly as received")


class IncidentAlerts(BaseModel):
    alerts: list[AlertPublic]
    events: list[AlertEventPublic]
    firing: bool = Field(description="Any of its alerts still firing at the source")


class AlertLink(Strict):
    """Link an alert to this incident: its events feed it from now on."""

    integration_id: DbId
    key: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class AvailabilityBody(Strict):
    availability: Availability
    max_open_tickets: Annotated[int, Field(ge=1, le=1000, strict=True)] | None = Field(
        None, description="No offers while this many assigned tickets are open; null: no limit"
    )
    calendar_id: DbId | None = Field(
        None,
        description="Working hours (an SLA calendar): offers only inside them; null: any time",
    )


class AvailabilityPublic(BaseModel):
    availability: str
    max_open_tickets: int | None
    calendar_id: int | None


class OfferPublic(BaseModel):
    number: int
    subject: str
    priority: int
    group_id: int | None
    expires_at: datetime


class BulkReassign(Strict):
    """Move many open tickets at once: those named, or all of an agent or group."""

    numbers: list[Annotated[int, Field(ge=1, le=MAX_BIGINT, strict=True)]] | None = Field(
        None, max_length=10_000, description="These tickets (else the filters below)"
    )
    from_assignee_id: DbId | None = Field(None, description="All open tickets of this agent")
    from_group_id: DbId | None = Field(None, description="All open tickets of this group")
    group_id: DbId | None = Field(None, description="Where they go")
    assignee_id: DbId | None = Field(None, description="Who gets them (none: the group queue)")
    note: Reason = ""


class ConsultRequest(BaseModel):
    number: int
    subject: str
    consult_seq: int
    asked_by: UserRef | None
    message: str
    asked_at: datetime


class ReminderPublic(BaseModel):
    number: int
    subject: str
    remind_at: datetime


class AttentionPublic(BaseModel):
    """A ticket that needs someone: idle, or its SLA at risk or breached."""

    number: int
    subject: str
    status: Status
    assignee_id: int | None
    idle_since: datetime | None
    sla_state: str | None
    sla_due_at: datetime | None


class RuleConditionsBody(Strict):
    types: list[TicketType] = []
    service_ids: list[DbId] = []
    organisation_ids: list[DbId] = []
    priorities: list[Annotated[int, Field(ge=1, le=5, strict=True)]] = []
    channels: list[Channel] = []
    keywords: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50, description="Any of them in subject or description"
    )


class RoutingRuleBody(Strict):
    """Places a new ticket without a group: the first active rule that matches wins."""

    name: Name
    active: Flag = True
    conditions: RuleConditionsBody = Field(default_factory=RuleConditionsBody)
    group_id: DbId
    skills: list[Skill] = Field(default_factory=list, max_length=20)


class RoutingRulePublic(RoutingRuleBody):
    id: int
    position: int


class RuleOrder(Strict):
    ids: list[DbId] = Field(description="Every rule id, in the order they are tried")


NOTIFICATION_KINDS: tuple[str, ...] = tuple(k.value for k in NotificationKind)


class NotificationPrefsBody(Strict):
    """How I hear of things besides the in-app list (which always has everything)."""

    email: Flag = Field(True, description="Mail me my notifications")
    muted: list[NotificationKind] = Field(
        default_factory=list, description="Kinds never mailed or pushed to me"
    )
    apprise_url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = Field(
        None,
        description="Also push to this Apprise URL (Slack, Teams, an SMS gateway, ...); "
        "stored encrypted, never shown again; null removes it",
    )
    keep_apprise: Flag = Field(False, description="Keep the stored URL (ignore apprise_url)")


class NotificationPrefsPublic(BaseModel):
    email: bool
    muted: list[str]
    apprise: bool = Field(description="An Apprise URL is stored")
