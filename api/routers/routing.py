"""Offers of tickets to agents, and agents' availability."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.deps import SessionDep, StaffUser, TemporalDep
from api.schemas import (
    MAX_BIGINT,
    AvailabilityBody,
    AvailabilityPublic,
    BulkJobPublic,
    BulkReassign,
    OfferDecline,
    OfferPublic,
    TicketPublic,
)
from api.services import bulk
from api.services import routing as service

router = APIRouter(tags=["routing"])
Number = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


@router.get("/offers")
async def my_offers(user: StaffUser, session: SessionDep) -> list[OfferPublic]:
    """Tickets offered to me now, the soonest to expire first."""
    return await service.my_offers(session, user)


@router.post("/tickets/{number}/offer/accept", tags=["tickets"])
async def accept_offer(
    number: Number, user: StaffUser, session: SessionDep, client: TemporalDep
) -> TicketPublic:
    """Take a ticket offered to me: it is assigned to me."""
    return await service.accept(session, client, user, number)


@router.post("/tickets/{number}/offer/decline", tags=["tickets"])
async def decline_offer(
    number: Number, body: OfferDecline, user: StaffUser, session: SessionDep, client: TemporalDep
) -> TicketPublic:
    """Pass on a ticket offered to me; it goes to the next agent and never back to me."""
    return await service.decline(session, client, user, number, body.reason)


@router.get("/me/availability")
async def get_availability(user: StaffUser, session: SessionDep) -> AvailabilityPublic:
    return await service.get_availability(session, user)


@router.put("/me/availability")
async def set_availability(
    body: AvailabilityBody, user: StaffUser, session: SessionDep
) -> AvailabilityPublic:
    """Online agents are offered tickets; away and offline ones are not."""
    return await service.set_availability(session, user, body)


@router.post("/bulk/reassign", status_code=status.HTTP_202_ACCEPTED)
async def bulk_reassign(
    body: BulkReassign, user: StaffUser, session: SessionDep, client: TemporalDep
) -> BulkJobPublic:
    """Reassign many open tickets (managers and admins); follow it at /bulk-jobs/{id}."""
    return await bulk.reassign(session, client, user, body)
