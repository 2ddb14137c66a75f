"""Choice sets of the ticket domain, declared once.

Each choice has a value (stored and sent over the wire), a label for people and
a colour used by the web UI. The API schemas, the UI and the list filters all
read these sets; nothing else spells the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


def N_(message: str) -> str:
    """Marks a text people read for the desk's catalogues (`pybabel extract`, docs/i18n.md);
    whoever shows it translates it then. Workflows hold no catalogue of their own."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a text with plural forms for the catalogues; shown with `ngettext`."""
    return singular, plural


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    colour: str


class Role(StrEnum):
    """What a person may do. Managers and admins can do everything an agent can."""

    CUSTOMER = "customer"
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.CUSTOMER


class TicketType(StrEnum):
    """ITIL record types handled by the ticket workflow."""

    INCIDENT = "incident"
    SERVICE_REQUEST = "service_request"


class Status(StrEnum):
    """Lifecycle of a ticket. `closed` is final: the workflow has ended."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Channel(StrEnum):
    """Where a ticket came from."""

    WEB = "web"
    PORTAL = "portal"
    API = "api"
    EMAIL = "email"
    PHONE = "phone"
    MONITORING = "monitoring"


class ResolutionCode(StrEnum):
    """How a ticket was resolved (ITIL closure codes)."""

    SOLVED = "solved"
    WORKAROUND = "workaround"
    NOT_REPRODUCIBLE = "not_reproducible"
    DUPLICATE = "duplicate"
    NO_FAULT_FOUND = "no_fault_found"
    CANCELLED = "cancelled"


LEVELS = (1, 2, 3)
"""Impact and urgency run from 1 (high) to 3 (low)."""

PRIORITIES = (1, 2, 3, 4, 5)
"""Priority runs from P1 (critical) to P5 (planning)."""


ROLE_CHOICES = {
    Role.CUSTOMER: Choice("customer", "Customer", "grey"),
    Role.AGENT: Choice("agent", "Agent", "blue"),
    Role.MANAGER: Choice("manager", "Manager", "purple"),
    Role.ADMIN: Choice("admin", "Administrator", "red"),
}

TYPE_CHOICES = {
    TicketType.INCIDENT: Choice("incident", "Incident", "red"),
    TicketType.SERVICE_REQUEST: Choice("service_request", "Service request", "blue"),
}

STATUS_CHOICES = {
    Status.NEW: Choice("new", "New", "blue"),
    Status.OPEN: Choice("open", "Open", "green"),
    Status.PENDING: Choice("pending", "Pending", "orange"),
    Status.RESOLVED: Choice("resolved", "Resolved", "teal"),
    Status.CLOSED: Choice("closed", "Closed", "grey"),
}

RESOLUTION_CHOICES = {
    ResolutionCode.SOLVED: Choice("solved", "Solved", "green"),
    ResolutionCode.WORKAROUND: Choice("workaround", "Workaround provided", "teal"),
    ResolutionCode.NOT_REPRODUCIBLE: Choice("not_reproducible", "Not reproducible", "grey"),
    ResolutionCode.DUPLICATE: Choice("duplicate", "Duplicate", "grey"),
    ResolutionCode.NO_FAULT_FOUND: Choice("no_fault_found", "No fault found", "grey"),
    ResolutionCode.CANCELLED: Choice("cancelled", "Cancelled by requester", "grey"),
}

LEVEL_CHOICES = {
    1: Choice("1", "High", "red"),
    2: Choice("2", "Medium", "orange"),
    3: Choice("3", "Low", "green"),
}

PRIORITY_CHOICES = {
    1: Choice("1", "P1 Critical", "red"),
    2: Choice("2", "P2 High", "orange"),
    3: Choice("3", "P3 Medium", "yellow"),
    4: Choice("4", "P4 Low", "green"),
    5: Choice("5", "P5 Planning", "grey"),
}

OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)
"""Statuses in which a ticket is still being worked on."""


class EventKind(StrEnum):
    """What one entry of a ticket's timeline records. Stored with every event: never
    rename a value."""

    OPENED = "opened"
    REPLIED = "replied"
    NOTE_ADDED = "note_added"
    CLASSIFIED = "classified"
    ASSIGNED = "assigned"
    PENDED = "pended"
    RESUMED = "resumed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    ATTACHED = "attached"
    ACKNOWLEDGED = "acknowledged"
    MAJOR_SET = "major_set"
    MAJOR_CLEARED = "major_cleared"
    PARENT_LINKED = "parent_linked"
    SLA_POLICY_APPLIED = "sla_policy_applied"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    SLA_ESCALATED = "sla_escalated"
    PRIORITY_RAISED = "priority_raised"
    OFFERED = "offered"
    UNROUTED = "unrouted"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_DECLINED = "offer_declined"
    OFFER_EXPIRED = "offer_expired"
    CONSULT_ASKED = "consult_asked"
    CONSULT_ANSWERED = "consult_answered"
    REMINDER_SET = "reminder_set"
    REMINDED = "reminded"
    IDLE = "idle"
    CUSTOMER_REMINDED = "customer_reminded"


COMMENT_KINDS = (EventKind.REPLIED, EventKind.NOTE_ADDED)
"""Events whose body is a comment: a public reply or an internal note."""


class NotificationKind(StrEnum):
    """Why a person is notified; each person may mute any of them for mail and push."""

    OFFERED = "offered"
    ASSIGNED = "assigned"
    TRANSFERRED = "transferred"
    UNROUTED = "unrouted"
    CONSULT = "consult"
    CONSULT_ANSWERED = "consult_answered"
    REMINDER = "reminder"
    IDLE = "idle"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    SLA_ESCALATED = "sla_escalated"


class Audience(StrEnum):
    """Whom a notification of a ticket's event is for; the projection finds the people."""

    ASSIGNEE = "assignee"
    GROUP_LEAD = "group_lead"
    MANAGERS = "managers"
    USER = "user"
    """The one person `NotifyRequest.user_id` names."""


class SlaStatus(StrEnum):
    """Where a ticket stands against its SLA (lists filter and sort by it)."""

    NONE = "none"
    RUNNING = "running"
    PAUSED = "paused"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"


class ClockStatus(StrEnum):
    """Where one SLA clock (first response, next update, resolution) stands."""

    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    STOPPED = "stopped"


class Availability(StrEnum):
    """Whether an agent is offered tickets now."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class AlertStatus(StrEnum):
    """Where an alert from monitoring stands, as its source last said."""

    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class MailKind(StrEnum):
    """What a ticket's mail activity sends about one of its events."""

    REPLY = "reply"
    """The event itself, to the requester (an agent's reply, a reminder to answer)."""
    NOTIFICATION = "notification"
    """The notifications the event raised, to the people notified."""


class DateCalendar(StrEnum):
    """The calendar a person reads dates in."""

    GREGORIAN = "gregorian"
    PERSIAN = "persian"
    """Solar Hijri, as used in Iran and Afghanistan."""


class Digits(StrEnum):
    """The digits a person reads numbers in."""

    DEFAULT = "default"
    """Their language's usual digits (Persian: ۰-۹; the others: 0-9)."""
    LATIN = "latn"
    NATIVE = "native"
    """Their language's own digits (Arabic: ٠-٩; Persian: ۰-۹)."""


DATE_CALENDAR_CHOICES = {
    DateCalendar.GREGORIAN: Choice("gregorian", "Gregorian", "grey"),
    DateCalendar.PERSIAN: Choice("persian", "Solar Hijri (Persian)", "grey"),
}
DIGITS_CHOICES = {
    Digits.DEFAULT: Choice("default", "Usual for my language", "grey"),
    Digits.LATIN: Choice("latn", "0123456789", "grey"),
    Digits.NATIVE: Choice("native", "My language's own digits", "grey"),
}
