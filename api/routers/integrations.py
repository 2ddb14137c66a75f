"""Monitoring integrations: administration (admins) and alert intake (integration keys)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status

from api.deps import AdminUser, SessionDep, StaffUser, TemporalDep
from api.errors import ApiError
from api.schemas import (
    AlertLink,
    AlertPublic,
    AlertsAccepted,
    EventAccepted,
    IncidentAlerts,
    IntegrationBody,
    IntegrationCreated,
    IntegrationPublic,
    MajorBody,
    ParentBody,
    TicketPublic,
)
from api.services import incidents as service
from api.services import integrations as integration_service
from api.services import tickets as ticket_service

router = APIRouter(tags=["integrations"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]

_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["routing_key", "event_action"],
    "properties": {
        "routing_key": {"type": "string", "minLength": 1, "maxLength": 200},
        "event_action": {"type": "string", "enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "minLength": 1, "maxLength": 255},
        "payload": {
            "type": "object",
            "required": ["summary", "source", "severity"],
            "properties": {
                "summary": {"type": "string", "minLength": 1, "maxLength": 1024},
                "source": {"type": "string", "minLength": 1, "maxLength": 255},
                "severity": {"type": "string", "enum": ["critical", "error", "warning", "info"]},
                "timestamp": {"type": "string", "format": "date-time"},
                "component": {"type": "string"},
                "group": {"type": "string"},
                "class": {"type": "string"},
                "custom_details": {},
            },
        },
        "links": {"type": "array", "items": {"type": "object"}},
        "images": {"type": "array", "items": {"type": "object"}},
    },
}

_ALERTMANAGER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["alerts"],
    "properties": {
        "version": {"type": "string", "enum": ["4"]},
        "status": {"type": "string"},
        "groupKey": {"type": "string"},
        "truncatedAlerts": {"type": "integer"},
        "alerts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["status", "fingerprint"],
                "properties": {
                    "status": {"type": "string", "enum": ["firing", "resolved"]},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                    "startsAt": {"type": "string", "format": "date-time"},
                    "endsAt": {"type": "string", "format": "date-time"},
                    "fingerprint": {"type": "string", "minLength": 1, "maxLength": 255},
                    "generatorURL": {"type": "string"},
                },
            },
        },
    },
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# ---------------------------------------------------------------- intake


@router.post(
    "/integrations/events",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_body(_EVENT_SCHEMA),
)
async def events_v2(request: Request, session: SessionDep, client: TemporalDep) -> EventAccepted:
    """PagerDuty Events API v2: trigger, acknowledge or resolve an alert by `dedup_key`.

    Authenticated by the integration's key in `routing_key`. Answers once the
    event is stored; the incident is opened or changed right after. A trigger
    without `dedup_key` gets one, returned here. An acknowledge or resolve for
    a key with no open incident is accepted and ignored.
    """
    routing_key, event = service.parse_event_v2(await request.body())
    integration = await service.integration_for(session, routing_key, "events")
    await service.accept(session, client, integration, [event])
    return EventAccepted(dedup_key=event.key)


@router.post(
    "/integrations/alertmanager",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_body(_ALERTMANAGER_SCHEMA),
)
async def alertmanager(
    request: Request, session: SessionDep, client: TemporalDep
) -> AlertsAccepted:
    """Prometheus Alertmanager webhook (version 4); each alert is handled by its fingerprint.

    Authenticated with `Authorization: Bearer <integration token>` (Alertmanager's
    `http_config.authorization.credentials`).
    """
    integration = await service.integration_for(session, _bearer(request), "alertmanager")
    events = service.parse_alertmanager(await request.body())
    await service.accept(session, client, integration, events)
    return AlertsAccepted(alerts=len(events))


@router.post(
    "/integrations/webhook",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_body({"type": "object"}),
)
async def webhook(request: Request, session: SessionDep, client: TemporalDep) -> AlertsAccepted:
    """Any JSON alert (Zabbix, Icinga, Grafana, ...), read with the integration's mapping.

    Authenticated with `Authorization: Bearer <integration token>`.
    """
    integration = await service.integration_for(session, _bearer(request), "webhook")
    events = service.parse_webhook(await request.body(), integration.mapping)
    await service.accept(session, client, integration, events)
    return AlertsAccepted(alerts=len(events))


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "send 'Authorization: Bearer <integration token>'", code="unauthenticated"
        )
    return token.strip()


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
    alert_status: Annotated[
        Literal["firing", "acknowledged", "resolved"] | None, Query(alias="status")
    ] = None,
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
    client: TemporalDep,
) -> IncidentAlerts:
    """Link an alert (by integration and key) to this incident; its next events feed it."""
    return await service.link_alert(session, client, user, number, body)


@router.post("/tickets/{number}/major", tags=["tickets"])
async def set_major(
    number: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: MajorBody,
    user: StaffUser,
    session: SessionDep,
    client: TemporalDep,
) -> TicketPublic:
    """Declare an incident major, or no longer major (staff)."""
    return await service.set_major(session, client, user, number, body)


@router.post("/tickets/{number}/parent", tags=["tickets"])
async def link_parent(
    number: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: ParentBody,
    user: StaffUser,
    session: SessionDep,
    client: TemporalDep,
) -> TicketPublic:
    """Make an incident a child of a major incident; `parent_number: null` unlinks (staff)."""
    return await service.link_parent(session, client, user, number, body)


@router.get("/tickets/{number}/children", tags=["tickets"])
async def children(
    number: Annotated[int, Path(ge=1, le=2**31 - 1)], user: StaffUser, session: SessionDep
) -> list[TicketPublic]:
    """The child incidents of a major incident (staff)."""
    return await service.children_of(session, user, number)
