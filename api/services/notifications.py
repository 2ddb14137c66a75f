"""A person's notifications: list them, mark them read."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.schemas import NotificationPublic
from models import Notification, Ticket


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
            title=n.title,
            body=n.body,
            ticket_number=number,
            created_at=n.created_at,
            read_at=n.read_at,
        )
        for n, number in rows
    ]


async def unread_count(session: AsyncSession, principal: Principal) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                Notification.user_id == principal.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


async def mark_read(session: AsyncSession, principal: Principal, ids: list[int] | None) -> int:
    """Mark the caller's notifications read (all of them when `ids` is None)."""
    query = update(Notification).where(
        Notification.user_id == principal.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    result = await session.execute(query.values(read_at=datetime.now(UTC)))
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
