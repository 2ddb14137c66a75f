"""Mail templates an admin edited in the app, and the sandbox every mail template renders in.

The API (checking and previewing an admin's text) and the worker (sending
mail) both import this module, so a template that passed the check at save
time meets the very same environment when a mail is sent.
"""

from __future__ import annotations

import operator
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from jinja2 import BaseLoader, StrictUndefined, select_autoescape
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.tickets import Ticket

TEMPLATE_KINDS = ("reply", "notification")
"""`reply`: an agent's public reply to the requester; `notification`: an SLA notice to staff."""
TEMPLATE_PARTS = ("subject.txt", "txt", "html")
"""The subject line, the plain-text body and the HTML body (the only one autoescaped)."""
TEMPLATE_MAX_CHARS = 100_000
"""Longest template text an admin may store."""
RENDERED_MAX_CHARS = 1_000_000
"""Longest text one `*` may build while rendering (`{{ 'x' * 10**9 }}` would fill memory)."""

TEMPLATE_VARIABLES: dict[str, tuple[str, ...]] = {
    "reply": ("ticket", "tag", "body", "author", "desk_name", "requester_name"),
    "notification": ("ticket", "tag", "title", "body", "name", "desk_name"),
}
"""What each kind's templates may use; `ticket` has the ticket's fields (number, subject, ...)."""

TICKET_FIELDS = tuple(attr.key for attr in Ticket.__mapper__.column_attrs if not attr.deferred)
"""The ticket's fields a template may read: its columns, less the search index (deferred:
never loaded with a row, and nothing a person reads)."""


def template_name(language: str, kind: str, part: str) -> str:
    """The name a template has in the built-in and override folders, e.g. `de/reply.txt`."""
    return f"{language}/{kind}.{part}"


def ticket_view(ticket: Ticket) -> SimpleNamespace:
    """A ticket as templates see it: its fields as plain values, none of the ORM object's
    methods or its metadata, so a template can read the ticket but reach nothing beyond."""
    return SimpleNamespace(**{key: getattr(ticket, key) for key in TICKET_FIELDS})


class MailTemplateOverride(Base):
    """One part of a mail template in one language, as an admin edited it in the app.

    It wins over the override folder's file and the built-in one of the same
    name; deleting it brings those back.
    """

    __tablename__ = "mail_template_overrides"
    __table_args__ = (
        CheckConstraint("kind IN ('reply', 'notification')", name="kind"),
        CheckConstraint("part IN ('subject.txt', 'txt', 'html')", name="part"),
    )

    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    part: Mapped[str] = mapped_column(String(16), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class MailTemplateSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox for text an admin typed: no underscore attributes, no changing
    lists or dicts, `range` capped by Jinja, and `*`/`**` refused where the result
    would be huge."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**" and isinstance(right, int) and right > 100:
            raise SecurityError("exponents above 100 are not allowed in a mail template")
        if op == "*":
            for text, times in ((left, right), (right, left)):
                if (
                    isinstance(text, str | list | tuple)
                    and isinstance(times, int)
                    and len(text) * times > RENDERED_MAX_CHARS
                ):
                    raise SecurityError("the text a template repeats with * is too long")
            return operator.mul(left, right)
        return super().call_binop(context, op, left, right)


def template_environment(loader: BaseLoader | None = None) -> MailTemplateSandbox:
    """The environment mail templates render in: sandboxed, undefined names an error,
    `.html` templates autoescaped (so a reply's text cannot inject markup)."""
    return MailTemplateSandbox(
        loader=loader,
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )
