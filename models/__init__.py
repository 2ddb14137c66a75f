"""SQLAlchemy tables, the engine/session factory and the Alembic migrations."""

from models.base import Base
from models.bulk import BulkJob
from models.desk import DeskConfigGeneration, DeskSetting
from models.directory import (
    ApiToken,
    Group,
    GroupMember,
    Organisation,
    OrganisationDomain,
    RoutingRuleRow,
    User,
    WebSession,
)
from models.incidents import Alert, AlertEvent, Integration
from models.mail import Mailbox, MailMessage, MailOutbox
from models.mail_templates import MailTemplateOverride
from models.notifications import Notification
from models.services import Service
from models.sla import Calendar, CalendarDay, SlaPolicyRow
from models.tickets import Attachment, Ticket, TicketEventRow

__all__ = [
    "Alert",
    "AlertEvent",
    "ApiToken",
    "Attachment",
    "Base",
    "BulkJob",
    "Calendar",
    "CalendarDay",
    "DeskConfigGeneration",
    "DeskSetting",
    "Group",
    "GroupMember",
    "Integration",
    "MailMessage",
    "MailOutbox",
    "MailTemplateOverride",
    "Mailbox",
    "Notification",
    "Organisation",
    "OrganisationDomain",
    "RoutingRuleRow",
    "Service",
    "SlaPolicyRow",
    "Ticket",
    "TicketEventRow",
    "User",
    "WebSession",
]
