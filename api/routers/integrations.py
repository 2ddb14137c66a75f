"""Monitoring integrations (admins), and the alerts and major incidents they lead to (staff).

The intake endpoints themselves are in api/routers/intake.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import AdminUser, SessionDep, StaffUser, TicketsDep
from api.schemas import (
    AlertLink,
    AlertPublic,
    IncidentAlerts,
    IntegrationBody,
    IntegrationCreated,
    IntegrationPublic,
    TicketPublic,
)
from api.services import incidents as service
from api.services import integrations as integration_service
from api.services import tickets as ticket_service
from workflows.choices import AlertStatus

router = APIRouter(tags=["integrations"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]

# ---------------------------------------------------------------- administration


@router.get("/integrations")
async def list_integrations(user: AdminUser, session: SessionDep) -> list[IntegrationPublic]:
    """Every monitoring integration (admin only)."""
    return await integration_service.list_integrations(session)


@router.post("/integrations", status_code=status.HTTP_201_CREATED)
async def create_integration(
    body: IntegrationBody, user: AdminUser, session: SessionDep
) -> IntegrationCreated:
    """A new integration; its token is in the answer, once (admin only)."""
    return await integration_service.create_integration(session, body)


@router.get("/integrations/{integration_id}")
async def get_integration(
    integration_id: Id, user: AdminUser, session: SessionDep
) -> IntegrationPublic:
    return await integration_service.get_integration(session, integration_id)


@router.put("/integrations/{integration_id}")
async def update_integration(
    integration_id: Id, body: IntegrationBody, user: AdminUser, session: SessionDep
) -> IntegrationPublic:
    """Change defaults, rules, flap window, resolve mode or switch it off (admin only)."""
    return await integration_service.update_integration(session, integration_id, body)


@router.post("/integrations/{integration_id}/token", status_code=status.HTTP_201_CREATED)
async def rotate_token(
    integration_id: Id, user: AdminUser, session: SessionDep
) -> IntegrationCreated:
    """A new token, shown once; the previous one stops working (admin only)."""
    return await integration_service.rotate_token(session, integration_id)


@router.delete("/integrations/{integration_id}/token")
async def revoke_token(
    integration_id: Id, user: AdminUser, session: SessionDep
) -> IntegrationPublic:
    """Revoke the token: its events get 403 until a new one is made (admin only)."""
    return await integration_service.revoke_token(session, integration_id)


@router.get("/alerts", tags=["tickets"])
async def list_alerts(
    user: StaffUser,
    session: SessionDep,
    integration_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    alert_status: Annotated[AlertStatus | None, Query(alias="status")] = None,
) -> list[AlertPublic]:
    """Alerts from monitoring, most recently seen first, with their incident (staff only)."""
    return await service.list_alerts(session, integration_id=integration_id, status=alert_status)


@router.get("/tickets/{number}/alerts", tags=["tickets"])
async def incident_alerts(
    number: Annotated[int, Path(ge=1, le=2**31 - 1)], user: StaffUser, session: SessionDep
) -> IncidentAlerts:
    """The alerts feeding an incident and every event received for it, raw (staff only)."""
    ticket = await ticket_service.get_row(session, user, number)
    found = await service.incident_alerts(session, ticket.id)
    return found or IncidentAlerts(alerts=[], events=[], firing=False)


@router.post("/tickets/{number}/alerts", tags=["tickets"])
async def link_alert(
    number: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: AlertLink,
    user: StaffUser,
    session: SessionDep,
    tickets: TicketsDep,
) -> IncidentAlerts:
    """Link an alert (by integration and key) to this incident; its next events feed it."""
    return await service.link_alert(session, tickets, user, number, body)


@router.get("/tickets/{number}/children", tags=["tickets"])
async def children(
    number: Annotated[int, Path(ge=1, le=2**31 - 1)], user: StaffUser, session: SessionDep
) -> list[TicketPublic]:
    """The child incidents of a major incident (staff)."""
    return await service.children_of(session, user, number)
