"""A person's notifications: list them, mark them read, and what the live stream reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.auth import Principal
from api.schemas import LiveNotification, NotificationPublic
from models import Notification, Ticket, User, catalogues
from workflows.ticket import notices


async def list_notifications(
    session: AsyncSession, principal: Principal, *, unread_only: bool = False, limit: int = 50
) -> list[NotificationPublic]:
    query = (
        select(Notification, Ticket.number)
        .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
        .where(Notification.user_id == principal.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = (await session.execute(query)).all()
    return [
        NotificationPublic(
            id=n.id,
            kind=n.kind,
            **_text(n, principal.language),
            ticket_number=number,
            created_at=n.created_at,
            read_at=n.read_at,
        )
        for n, number in rows
    ]


def _text(n: Notification, language: str | None) -> dict[str, Any]:
    """A notification's words in its reader's language (English where the desk has no
    catalogue in it), with the message ids and parameters they are written from."""
    if not n.message:  # stored before message ids: the English it was written in
        return {"title": n.title, "body": n.body, "message": None, "detail": None, "params": {}}
    params: dict[str, Any] = dict(n.params or {})
    gettext = catalogues.translations(language or catalogues.SOURCE_LANGUAGE).gettext
    title, body = notices.words(gettext, n.message, n.detail, params, n.body)
    return {
        "title": title,
        "body": body,
        "message": n.message,
        "detail": n.detail,
        "params": params,
    }


@dataclass(frozen=True)
class Badge:
    """What the header shows: the unread count, and the newest notification's id (the
    point from which the page's live stream continues)."""

    unread: int
    newest_id: int


async def badge(session: AsyncSession, principal: Principal) -> Badge:
    unread, newest = (
        await session.execute(
            select(
                func.count().filter(Notification.read_at.is_(None)),
                func.coalesce(func.max(Notification.id), 0),
            ).where(Notification.user_id == principal.id)
        )
    ).one()
    return Badge(unread=int(unread), newest_id=int(newest))


def _live(n: Notification, number: int | None, language: str | None) -> LiveNotification:
    return LiveNotification(
        id=n.id,
        kind=n.kind,
        **_text(n, language),
        ticket_number=number,
        created_at=n.created_at,
        read_at=n.read_at,
        link=f"/tickets/{number}" if number is not None else None,
    )


@dataclass(frozen=True)
class Announced:
    """A notification row the worker announced, with its owner's unread count."""

    user_id: int
    unread: int
    notification: LiveNotification


async def announced(session: AsyncSession, ids: list[int]) -> list[Announced]:
    """The rows with these ids, oldest first, each with its owner's unread count.

    The owner is the row's, not whoever the announcement named: a stream is only ever
    given its own person's rows.
    """
    others = aliased(Notification)
    unread = (
        select(func.count())
        .where(others.user_id == Notification.user_id, others.read_at.is_(None))
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Notification, Ticket.number, unread, User.language)
        .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
        .join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(ids))
        .order_by(Notification.id)
    )
    return [
        Announced(n.user_id, int(count), _live(n, number, language))
        for n, number, count, language in rows
    ]


@dataclass(frozen=True)
class CatchUp:
    """What a stream missed after an event id: the rows (oldest first), or None when there
    were more than the caller wants to replay or no id to start from."""

    unread: int
    newest_id: int
    missed: list[LiveNotification] | None


async def catch_up(
    session: AsyncSession, principal: Principal, after: int | None, limit: int
) -> CatchUp:
    current = await badge(session, principal)
    if after is None:
        return CatchUp(current.unread, current.newest_id, None)
    rows = (
        await session.execute(
            select(Notification, Ticket.number)
            .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
            .where(Notification.user_id == principal.id, Notification.id > after)
            .order_by(Notification.id)
            .limit(limit + 1)
        )
    ).all()
    missed = (
        [_live(n, number, principal.language) for n, number in rows] if len(rows) <= limit else None
    )
    return CatchUp(current.unread, current.newest_id, missed)


async def mark_read(session: AsyncSession, principal: Principal, ids: list[int] | None) -> int:
    """Mark the caller's notifications read (all of them when `ids` is None)."""
    query = update(Notification).where(
        Notification.user_id == principal.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    result = await session.execute(query.values(read_at=datetime.now(UTC)))
    await session.commit()
    # SQLAlchemy types execute() as Result, but an UPDATE gives a CursorResult, with rowcount.
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
