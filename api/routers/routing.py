"""Offers of tickets to agents, and agents' availability."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from api.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, StaffUser, TemporalDep
from api.schemas import (
    AttentionPublic,
    AvailabilityBody,
    AvailabilityPublic,
    BulkJobPublic,
    BulkReassign,
    ConsultRequest,
    NotificationPrefsBody,
    NotificationPrefsPublic,
    OfferPublic,
    ReminderPublic,
    RoutingRuleBody,
    RoutingRulePublic,
    RuleOrder,
)
from api.services import bulk
from api.services import routing as service
from api.services import routing_rules as rules

router = APIRouter(tags=["routing"])


@router.get("/offers")
async def my_offers(user: StaffUser, session: SessionDep) -> list[OfferPublic]:
    """Tickets offered to me now, the soonest to expire first."""
    return await service.my_offers(session, user)


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


@router.get("/consults")
async def my_consults(user: StaffUser, session: SessionDep) -> list[ConsultRequest]:
    """Questions colleagues asked me that I have not answered yet."""
    return await service.my_consults(session, user)


@router.get("/reminders")
async def my_reminders(user: StaffUser, session: SessionDep) -> list[ReminderPublic]:
    """Reminders set on tickets assigned to me, soonest first."""
    return await service.my_reminders(session, user)


@router.get("/attention")
async def needing_attention(user: StaffUser, session: SessionDep) -> list[AttentionPublic]:
    """Open tickets of mine, or of the groups I lead, that are idle or whose SLA is at risk
    or breached."""
    return await service.needing_attention(session, user)


RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/routing-rules")
async def list_rules(user: StaffUser, session: SessionDep) -> list[RoutingRulePublic]:
    """Routing rules in the order they are tried on a new ticket without a group."""
    return await rules.list_rules(session)


@router.post("/routing-rules", status_code=status.HTTP_201_CREATED)
async def create_rule(
    body: RoutingRuleBody, user: AdminUser, session: SessionDep
) -> RoutingRulePublic:
    """A rule tried after the existing ones; without conditions it is the default (admin)."""
    return await rules.create_rule(session, body)


@router.put("/routing-rules/order")
async def reorder_rules(
    body: RuleOrder, user: AdminUser, session: SessionDep
) -> list[RoutingRulePublic]:
    """Set the order the rules are tried in (admin)."""
    return await rules.reorder(session, body.ids)


@router.put("/routing-rules/{rule_id}")
async def update_rule(
    rule_id: RuleId, body: RoutingRuleBody, user: AdminUser, session: SessionDep
) -> RoutingRulePublic:
    return await rules.update_rule(session, rule_id, body)


@router.delete("/routing-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: RuleId, user: AdminUser, session: SessionDep) -> Response:
    await rules.delete_rule(session, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/notification-preferences", tags=["notifications"])
async def get_prefs(user: CurrentUser, session: SessionDep) -> NotificationPrefsPublic:
    return await service.get_prefs(session, user)


@router.put("/me/notification-preferences", tags=["notifications"])
async def set_prefs(
    body: NotificationPrefsBody, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> NotificationPrefsPublic:
    """Which of my notifications are also mailed, and an Apprise URL to push them to."""
    return await service.set_prefs(session, user, body, settings.secret_key)
