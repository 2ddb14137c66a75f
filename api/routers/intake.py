"""Alert intake from monitoring tools, authenticated by an integration's key.

The bodies are read raw and checked by the intake's own models (api/intake/),
not by FastAPI: a monitoring tool is answered 400 naming the field (as PagerDuty
answers), 401/403 for its key before anything else (Alertmanager and webhooks
send the key in a header), and whatever content type it sends. The models still
describe the bodies in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel

from api.deps import SessionDep, TemporalDep
from api.errors import ApiError
from api.intake.accept import accept, integration_for
from api.intake.alertmanager import AlertmanagerWebhook, parse_alertmanager
from api.intake.events_v2 import EventV2, parse_event_v2
from api.intake.webhook import parse_webhook
from api.schemas import AlertsAccepted, EventAccepted

router = APIRouter(tags=["integrations"])


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """`node` with every `{"$ref": name}` replaced by the definition it names."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**_inline(defs[node["$ref"]], defs), **_inline(rest, defs)}
    return {k: _inline(v, defs) for k, v in node.items()}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _body_of(model: type[BaseModel]) -> dict[str, Any]:
    # openapi_extra cannot add to the document's components, where the model's nested
    # definitions would have to be: they are written out in place (none is recursive).
    schema = model.model_json_schema(ref_template="{model}")
    return _body(_inline(schema, schema.pop("$defs", {})))


@router.post(
    "/integrations/events",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_body_of(EventV2),
)
async def events_v2(request: Request, session: SessionDep, client: TemporalDep) -> EventAccepted:
    """PagerDuty Events API v2: trigger, acknowledge or resolve an alert by `dedup_key`.

    Authenticated by the integration's key in `routing_key`. Answers once the
    event is stored; the incident is opened or changed right after. A trigger
    without `dedup_key` gets one, returned here. An acknowledge or resolve for
    a key with no open incident is accepted and ignored.
    """
    routing_key, event = parse_event_v2(await request.body())
    integration = await integration_for(session, routing_key, "events")
    await accept(session, client, integration, [event])
    return EventAccepted(dedup_key=event.key)


@router.post(
    "/integrations/alertmanager",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_body_of(AlertmanagerWebhook),
)
async def alertmanager(
    request: Request, session: SessionDep, client: TemporalDep
) -> AlertsAccepted:
    """Prometheus Alertmanager webhook (version 4); each alert is handled by its fingerprint.

    Authenticated with `Authorization: Bearer <integration token>` (Alertmanager's
    `http_config.authorization.credentials`).
    """
    integration = await integration_for(session, _bearer(request), "alertmanager")
    events = parse_alertmanager(await request.body())
    await accept(session, client, integration, events)
    return AlertsAccepted(alerts=len(events))


@router.post(
    "/integrations/webhook",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_body(
        {
            "type": ["object", "array"],
            "description": "Any JSON object or list, read with the integration's mapping",
        }
    ),
)
async def webhook(request: Request, session: SessionDep, client: TemporalDep) -> AlertsAccepted:
    """Any JSON alert (Zabbix, Icinga, Grafana, ...), read with the integration's mapping.

    Authenticated with `Authorization: Bearer <integration token>`.
    """
    integration = await integration_for(session, _bearer(request), "webhook")
    events = parse_webhook(await request.body(), integration.mapping)
    await accept(session, client, integration, events)
    return AlertsAccepted(alerts=len(events))


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "send 'Authorization: Bearer <integration token>'", code="unauthenticated"
        )
    return token.strip()
