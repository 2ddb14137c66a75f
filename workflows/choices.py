"""Choice sets of the ticket domain, declared once.

Each choice has a value (stored and sent over the wire), a label for people and
a colour used by the web UI. The API schemas, the UI and the list filters all
read these sets; nothing else spells the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
