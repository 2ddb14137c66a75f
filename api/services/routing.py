"""Offers and availability: the agent's side of routing (workflows/routing.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.auth import Principal
from api.schemas import AvailabilityBody, AvailabilityPublic, OfferPublic, TicketPublic
from api.services.tickets import act
from models import Ticket, User
from workflows.ticket_model import AcceptOffer, DeclineOffer


async def my_offers(session: AsyncSession, principal: Principal) -> list[OfferPublic]:
    """Tickets offered to the caller now, the soonest to expire first."""
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.offer_agent_id == principal.id, Ticket.offer_expires_at.is_not(None))
        .order_by(Ticket.offer_expires_at, Ticket.number)
    )
    return [
        OfferPublic(
            number=t.number,
            subject=t.subject,
            priority=t.priority,
            group_id=t.group_id,
            expires_at=t.offer_expires_at,
        )
        for t in rows
        if t.offer_expires_at is not None
    ]


async def accept(
    session: AsyncSession, client: Client, principal: Principal, number: int
) -> TicketPublic:
    return await act(session, client, principal, number, AcceptOffer(actor=principal.actor()))


async def decline(
    session: AsyncSession, client: Client, principal: Principal, number: int, reason: str
) -> TicketPublic:
    msg = DeclineOffer(actor=principal.actor(), reason=reason)
    return await act(session, client, principal, number, msg)


async def set_availability(
    session: AsyncSession, principal: Principal, body: AvailabilityBody
) -> AvailabilityPublic:
    user = await session.get(User, principal.id)
    assert user is not None
    user.availability = body.availability
    user.max_open_tickets = body.max_open_tickets
    await session.commit()
    return AvailabilityPublic(
        availability=user.availability, max_open_tickets=user.max_open_tickets
    )


async def get_availability(session: AsyncSession, principal: Principal) -> AvailabilityPublic:
    user = await session.get(User, principal.id)
    assert user is not None
    return AvailabilityPublic(
        availability=user.availability, max_open_tickets=user.max_open_tickets
    )


def _availability(user: User) -> AvailabilityPublic:
    return AvailabilityPublic(
        availability=user.availability, max_open_tickets=user.max_open_tickets
    )
