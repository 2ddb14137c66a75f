"""Request and response bodies of the mail admin API: mailboxes, the quarantine, templates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from api.schemas import DbId, Host, Name, Pem, Strict
from models.mail_templates import TEMPLATE_MAX_CHARS
from workflows.choices import TicketType

EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")]


class MailboxCreate(Strict):
    """A mailbox to poll; exactly one of password_env and password (PUT: or neither)."""

    name: Name
    address: EmailStr = Field(description="The address customers write to; used as Reply-To")
    protocol: Literal["imap", "pop3"]
    host: Host
    port: Annotated[int, Field(ge=1, le=65535, strict=True)]
    tls: bool = Field(True, description="Implicit TLS (IMAPS/POP3S)")
    starttls: bool = Field(
        False,
        description="Upgrade the plain connection with STARTTLS (IMAP) / STLS (POP3); "
        "not together with tls",
    )
    tls_verify: bool = Field(
        True, description="Check the server's certificate and host name (off: test servers only)"
    )
    ca_certificate: Pem | None = Field(
        None,
        description="PEM of the CA(s) to trust for this server instead of the system's "
        "(a private CA)",
    )
    username: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password_env: EnvName | None = Field(
        None,
        description="Name of the worker's environment variable that holds the password "
        "(give this or password)",
    )
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = Field(
        None,
        description="Stored encrypted with TEMPODESK_SECRET_KEY and never returned; "
        "on PUT, leaving out both password fields keeps the stored one",
    )
    folder: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "INBOX"
    group_id: DbId | None = Field(None, description="Group new tickets land in")
    record_type: TicketType = TicketType.INCIDENT
    poll_seconds: Annotated[int, Field(ge=1, le=86_400, strict=True)] = 60
    language: (
        Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] | None
    ) = Field(
        None, description="Template language for its tickets' mail, e.g. de; none: the desk's"
    )
    active: bool = True


class MailboxPublic(BaseModel):
    id: int
    name: str
    address: str
    protocol: str
    host: str
    port: int
    tls: bool
    starttls: bool
    tls_verify: bool
    ca_certificate: str | None
    username: str
    password_env: str | None
    password_stored: bool = Field(description="An encrypted password is stored")
    folder: str
    group_id: int | None
    record_type: TicketType
    poll_seconds: int
    language: str | None
    active: bool
    last_polled_at: datetime | None
    last_error: str | None


class QuarantinedPublic(BaseModel):
    """A received message the desk could not act on, and why."""

    id: int
    message_id: str
    sender: str | None
    subject: str | None
    reason: str | None
    size: int
    mailbox_id: int | None
    created_at: datetime
    processed_at: datetime | None


class Reprocessed(BaseModel):
    id: int
    status: str = Field(description="processed, ignored or quarantined (again)")
    reason: str | None
    ticket_number: int | None


class MailMessagePublic(BaseModel):
    """A message a ticket received or sent; the raw message is at `.../raw`."""

    id: int
    direction: Literal["in", "out"]
    message_id: str
    status: str
    sender: str | None
    subject: str | None
    seq: int | None = Field(description="The ticket event it produced or came from")
    size: int
    created_at: datetime


# ---------------------------------------------------------------- templates

TemplateKind = Literal["reply", "notification"]
TemplatePart = Literal["subject.txt", "txt", "html"]
TemplateSource = Literal["stored", "folder", "built-in"]


class MailTemplateText(Strict):
    """A template's text as an admin typed it (Jinja; checked before it is stored)."""

    body: Annotated[str, StringConstraints(min_length=1, max_length=TEMPLATE_MAX_CHARS)] = Field(
        description="Jinja text; the variables a kind may use are listed by GET /mail/templates"
    )


class MailTemplatePartSummary(BaseModel):
    part: TemplatePart
    source: TemplateSource = Field(
        description="stored: edited in the app; folder: TEMPODESK_MAIL_TEMPLATES_DIR; "
        "built-in: shipped with Tempodesk"
    )
    source_language: str = Field(
        description="The language whose text is used (another one when this language has none)"
    )
    updated_at: datetime | None = Field(None, description="When the stored text was saved")
    updated_by: int | None = Field(None, description="Who saved the stored text")


class MailTemplateSet(BaseModel):
    """The parts of one kind of mail in one language, and where each one's text comes from."""

    language: str
    kind: TemplateKind
    variables: list[str] = Field(description="What the templates of this kind may use")
    parts: list[MailTemplatePartSummary]


class MailTemplatePublic(MailTemplatePartSummary):
    """One part: the text mail is rendered from, and the built-in text to compare with."""

    language: str
    kind: TemplateKind
    body: str = Field(description="The text in effect")
    built_in: str = Field(
        description="The text shipped with Tempodesk (what reset leads to "
        "unless the override folder has a file)"
    )
    built_in_language: str
    default: str = Field(description="The text in effect once the stored text is deleted")
    variables: list[str]


class MailTemplatePreview(BaseModel):
    rendered: str = Field(description="The text rendered with sample values of the kind")
