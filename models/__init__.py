"""SQLAlchemy tables, the engine/session factory and the Alembic migrations."""

from models.base import Base
from models.desk import DeskSetting
from models.directory import ApiToken, Group, GroupMember, Organisation, User, WebSession
from models.tickets import Attachment, Ticket, TicketEventRow

__all__ = [
    "ApiToken",
    "Attachment",
    "Base",
    "DeskSetting",
    "Group",
    "GroupMember",
    "Organisation",
    "Ticket",
    "TicketEventRow",
    "User",
    "WebSession",
]
