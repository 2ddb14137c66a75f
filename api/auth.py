"""Who is calling: bearer tokens for API clients, a session cookie plus CSRF token for browsers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from api.errors import refused
from api.security import digest, new_secret, same
from models import ApiToken, GroupMember, Organisation, User, WebSession
from workflows.choices import N_, Role
from workflows.ticket.messages import Actor

SESSION_COOKIE = "tempodesk_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass
class Principal:
    """An authenticated caller."""

    id: int
    email: str
    name: str
    role: Role
    organisation_id: int | None
    organisation_shared: bool
    via: str
    csrf_token: str | None = None
    group_ids: list[int] = field(default_factory=list)
    language: str | None = None
    timezone: str | None = None
    date_calendar: str | None = None
    digits: str | None = None
    """How this person reads pages (`models.User`); None: what the request says."""

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def actor(self) -> Actor:
        return Actor(user_id=self.id, role=self.role.value, organisation_id=self.organisation_id)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


_GROUP_IDS = (
    select(func.array_agg(GroupMember.group_id))
    .where(GroupMember.user_id == User.id)
    .scalar_subquery()
    .label("group_ids")
)
_CALLER = (
    User.id,
    User.email,
    User.name,
    User.role,
    User.organisation_id,
    Organisation.shared_tickets,
    _GROUP_IDS,
    User.language,
    User.timezone,
    User.date_calendar,
    User.digits,
)
"""What a Principal is made of, read with the credential in one statement."""
_BY_TOKEN = (
    select(*_CALLER, ApiToken.id.label("token_id"), ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .outerjoin(Organisation, Organisation.id == User.organisation_id)
    .where(
        ApiToken.digest == bindparam("digest"),
        ApiToken.revoked_at.is_(None),
        User.active.is_(True),
    )
)
_BY_SESSION = (
    select(*_CALLER, WebSession.csrf_token)
    .join(WebSession, WebSession.user_id == User.id)
    .outerjoin(Organisation, Organisation.id == User.organisation_id)
    .where(
        WebSession.digest == bindparam("digest"),
        WebSession.expires_at > bindparam("now"),
        User.active.is_(True),
    )
)
"""Built once with bind parameters: building them per request cost as much as running them."""


def _principal(row: Row[Any], via: str, csrf: str | None) -> Principal:
    role = Role(row.role)
    return Principal(
        id=row.id,
        email=row.email,
        name=row.name,
        role=role,
        organisation_id=row.organisation_id,
        organisation_shared=bool(row.shared_tickets),
        via=via,
        csrf_token=csrf,
        group_ids=[] if role == Role.CUSTOMER else sorted(row.group_ids or []),
        language=row.language,
        timezone=row.timezone,
        date_calendar=row.date_calendar,
        digits=row.digits,
    )


async def authenticate(
    request: Request, session: AsyncSession | AsyncConnection
) -> Principal | None:
    """The caller, or None. A bearer header wins over a cookie and is never CSRF-checked.

    One statement per request: the credential, its user and the user's groups."""
    token = _bearer(request)
    if token is not None:
        row = (await session.execute(_BY_TOKEN, {"digest": digest(token)})).one_or_none()
        if row is None:
            raise refused(401, N_("the bearer token is unknown or revoked"), code="unauthenticated")
        now = datetime.now(UTC)
        if row.last_used_at is None or now - row.last_used_at > _TOKEN_TOUCH_INTERVAL:
            await session.execute(
                update(ApiToken).where(ApiToken.id == row.token_id).values(last_used_at=now)
            )
            await session.commit()
        return _principal(row, "token", None)

    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    row = (
        await session.execute(_BY_SESSION, {"digest": digest(cookie), "now": datetime.now(UTC)})
    ).one_or_none()
    if row is None:
        return None
    return _principal(row, "session", row.csrf_token)


async def check_csrf(request: Request, principal: Principal) -> None:
    """Cookie-authenticated writes must echo the session's CSRF token (header or form field)."""
    if principal.via != "session" or request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or principal.csrf_token is None or not same(sent, principal.csrf_token):
        raise refused(403, N_("the CSRF token is missing or wrong; reload the page"), code="csrf")


async def start_session(session: AsyncSession, user_id: int, hours: int) -> str:
    """Create a browser session; returns the cookie value (only its digest is stored)."""
    secret = new_secret()
    session.add(
        WebSession(
            digest=digest(secret),
            user_id=user_id,
            csrf_token=new_secret(),
            expires_at=datetime.now(UTC) + timedelta(hours=hours),
        )
    )
    await session.commit()
    return secret


async def end_session(session: AsyncSession, cookie: str | None) -> None:
    if cookie:
        from sqlalchemy import delete

        await session.execute(delete(WebSession).where(WebSession.digest == digest(cookie)))
        await session.commit()
