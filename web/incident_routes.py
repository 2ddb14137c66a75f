"""HTML pages for incidents from monitoring: the alerts list and integration administration.

They call the same service functions as the JSON API (api/services/incidents.py and
api/services/integrations.py) and send test events through the same intake (api/intake/).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import SessionDep, TemporalDep
from api.errors import ApiError
from api.intake.accept import Incoming, accept
from api.schemas import MAX_INT, IntegrationBody, IntegrationPublic
from api.services import directory
from api.services import incidents as service
from api.services import integrations as integration_service
from api.services.sla import list_services
from web.common import (
    WebAdmin,
    WebStaff,
    parse,
    see_other,
    validated,
)
from web.errors import error_text
from web.i18n import _
from web.render import page
from workflows.alerts import AlertAction
from workflows.choices import AlertStatus

router = APIRouter(include_in_schema=False)

IntegrationId = Annotated[int, Path(ge=1, le=MAX_INT)]
ALERT_STATES = tuple(s.value for s in AlertStatus)


@router.get("/incidents")
async def incidents_page(
    request: Request, user: WebStaff, session: SessionDep, status: str = ""
) -> Response:
    """Alerts from monitoring, most recently seen first, each with the incident it feeds."""
    state = status if status in ALERT_STATES else None
    alerts = await service.list_alerts(session, status=state)
    integrations = {i.id: i.name for i in await integration_service.list_integrations(session)}
    return page(
        request,
        "incidents/list.html",
        {"user": user, "alerts": alerts, "integrations": integrations, "status": state or ""},
    )


# ---------------------------------------------------------------- administration


async def _admin_page(
    request: Request,
    user: Any,
    session: AsyncSession,
    *,
    created: Any = None,
    flash: str | None = None,
    error: ApiError | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    context = {
        "user": user,
        "integrations": await integration_service.list_integrations(session),
        "groups": await directory.list_groups(session),
        "base": str(request.base_url).rstrip("/"),
        "created": created,
        "flash": flash,
        "values": values or {},
        "error": error_text(error) if error else None,
        "error_field": error.field if error else None,
    }
    return page(request, "incidents/integrations.html", context, error.status if error else 200)


@router.get("/admin/integrations")
async def integrations_page(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    return await _admin_page(request, user, session)


@router.post("/admin/integrations")
async def create_integration(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in ("name", "kind", "group_id", "flap")}
    values["resolve_mode"] = str(form.get("resolve_mode", "resolve"))
    mapping_fields = ("items", "dedup_key", "summary", "status", "severity", "source")
    for name in mapping_fields:
        values[f"map_{name}"] = str(form.get(f"map_{name}", "")).strip()
    try:
        flap_minutes = float(values["flap"] or "0")
    except ValueError:
        flap_minutes = -1
    data: dict[str, Any] = {
        "name": values["name"],
        "kind": values["kind"],
        "resolve_mode": values["resolve_mode"],
        "flap_window_seconds": str(round(flap_minutes * 60)),
    }
    if values["group_id"]:
        data["group_id"] = values["group_id"]
    mapping = {n: values[f"map_{n}"] for n in mapping_fields if values[f"map_{n}"]}
    if values["kind"] == "webhook" and mapping:
        data["mapping"] = mapping
    try:
        if flap_minutes < 0:
            raise ApiError(
                422, _("the flap window is a number of minutes, 0 or more"), field="flap"
            )
        body = parse(IntegrationBody, data)
        created = await integration_service.create_integration(session, body)
    except ApiError as exc:
        return await _admin_page(request, user, session, error=exc, values=values)
    return await _admin_page(request, user, session, created=created)


@router.post("/admin/integrations/{integration_id}/token")
async def new_token(
    request: Request, integration_id: IntegrationId, user: WebAdmin, session: SessionDep
) -> Response:
    created = await integration_service.rotate_token(session, integration_id)
    return await _admin_page(request, user, session, created=created)


@router.post("/admin/integrations/{integration_id}/revoke")
async def revoke_token(
    integration_id: IntegrationId, user: WebAdmin, session: SessionDep
) -> Response:
    await integration_service.revoke_token(session, integration_id)
    return see_other("/admin/integrations")


@router.post("/admin/integrations/{integration_id}/test")
async def test_event(
    request: Request,
    integration_id: IntegrationId,
    user: WebAdmin,
    session: SessionDep,
    client: TemporalDep,
) -> Response:
    """Send a test trigger through the same intake as the tool's own events."""
    row = await integration_service.integration_row(session, integration_id)
    key = f"test-{uuid.uuid4().hex[:12]}"
    event = Incoming(
        action=AlertAction.TRIGGER,
        key=key,
        summary=f"Test event from {row.name}",
        severity="info",
        source="tempodesk test button",
        payload={"test": True, "sent_by": user.email, "dedup_key": key},
        details=f"A test event sent by {user.name} from the integration page.",
    )
    await accept(session, client, row, [event])
    flash = _("Test event sent (key %(key)s); its incident appears under Incidents.", key=key)
    return await _admin_page(request, user, session, flash=flash)


# ---------------------------------------------------------------- editing one integration

RULE_ROWS_EXTRA = 3
"""Empty rule rows offered under the existing ones."""


def _form_of(integration: IntegrationPublic) -> dict[str, Any]:
    """The integration as its edit form shows it (all text)."""
    mapping = integration.mapping.model_dump() if integration.mapping else {}
    rules = [
        {
            "severities": ", ".join(r.severities),
            "labels": ", ".join(f"{k}={v}" for k, v in r.labels.items()),
            "impact": str(r.impact or ""),
            "urgency": str(r.urgency or ""),
            "group_id": str(r.group_id or ""),
            "service_id": str(r.service_id or ""),
        }
        for r in integration.rules
    ]
    return {
        "name": integration.name,
        "group_id": str(integration.group_id or ""),
        "service_id": str(integration.service_id or ""),
        "resolve_mode": integration.resolve_mode,
        "link_by": integration.link_by,
        "flap": f"{integration.flap_window_seconds / 60:g}",
        "active": integration.active,
        "rules": rules,
        **{f"map_{k}": (v or "") for k, v in mapping.items() if isinstance(v, str | None)},
    }


def _labels(text: str, where: str) -> dict[str, str]:
    labels = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ApiError(
                422,
                _("labels are written name=value, separated by commas: %(part)s", part=repr(part)),
                field=where,
            )
        labels[key.strip()] = value.strip()
    return labels


def _body_of(kind: str, form: dict[str, Any]) -> IntegrationBody:
    """The edit form as an IntegrationBody, or an ApiError naming the form field."""
    try:
        flap_minutes = float(form["flap"] or "0")
    except ValueError:
        flap_minutes = -1
    if not (0 <= flap_minutes <= 7 * 24 * 60):
        raise ApiError(
            422, _("the flap window is a number of minutes from 0 to 10080"), field="flap"
        )
    rules = []
    for i, row in enumerate(form["rules"]):
        if not any(row.values()):
            continue
        rule: dict[str, Any] = {
            "severities": [s.strip() for s in row["severities"].split(",") if s.strip()],
            "labels": _labels(row["labels"], f"rules.{i}.labels"),
        }
        for name in ("impact", "urgency", "group_id", "service_id"):
            if row[name]:
                rule[name] = _number(row[name], f"rules.{i}.{name}")
        rules.append(rule)
    data: dict[str, Any] = {
        "name": form["name"],
        "kind": kind,
        "resolve_mode": form["resolve_mode"],
        "link_by": form["link_by"],
        "flap_window_seconds": round(flap_minutes * 60),
        "active": bool(form["active"]),
        "rules": rules,
    }
    for name in ("group_id", "service_id"):
        if form[name]:
            data[name] = _number(form[name], name)
    if kind == "webhook":
        data["mapping"] = {n: form[f"map_{n}"] for n in MAPPING_FIELDS if form.get(f"map_{n}")}
    return validated(IntegrationBody, data)


def _number(text: str, field: str) -> int:
    if not text.isdigit():
        raise ApiError(
            422, _("%(field)s must be a number", field=field), field=field, code="invalid_field"
        )
    return int(text)


MAPPING_FIELDS = ("items", "dedup_key", "summary", "status", "severity", "source")


async def _edit_page(
    request: Request,
    user: Any,
    session: AsyncSession,
    integration: IntegrationPublic,
    form: dict[str, Any],
    *,
    error: ApiError | None = None,
    saved: bool = False,
) -> Response:
    rules = list(form["rules"]) + [
        dict.fromkeys(("severities", "labels", "impact", "urgency", "group_id", "service_id"), "")
        for _ in range(RULE_ROWS_EXTRA)
    ]
    context = {
        "user": user,
        "integration": integration,
        "values": {**form, "rules": rules},
        "groups": await directory.list_groups(session),
        "services": await list_services(session),
        "mapping_fields": MAPPING_FIELDS,
        "saved": saved,
        "error": error_text(error) if error else None,
        "error_field": error.field if error else None,
    }
    return page(request, "incidents/integration.html", context, error.status if error else 200)


@router.get("/admin/integrations/{integration_id}")
async def edit_integration_page(
    request: Request, integration_id: IntegrationId, user: WebAdmin, session: SessionDep
) -> Response:
    integration = await integration_service.get_integration(session, integration_id)
    return await _edit_page(request, user, session, integration, _form_of(integration))


@router.post("/admin/integrations/{integration_id}")
async def save_integration(
    request: Request, integration_id: IntegrationId, user: WebAdmin, session: SessionDep
) -> Response:
    integration = await integration_service.get_integration(session, integration_id)
    raw = await request.form()
    text = {k: str(v).strip() for k, v in raw.items() if isinstance(v, str)}
    count = sum(1 for k in text if k.startswith("rule_") and k.endswith("_severities"))
    form: dict[str, Any] = {
        "name": text.get("name", ""),
        "group_id": text.get("group_id", ""),
        "service_id": text.get("service_id", ""),
        "resolve_mode": text.get("resolve_mode", "resolve"),
        "link_by": text.get("link_by", "alert"),
        "flap": text.get("flap", "0"),
        "active": text.get("active") == "on",
        "rules": [
            {
                name: text.get(f"rule_{i}_{name}", "")
                for name in ("severities", "labels", "impact", "urgency", "group_id", "service_id")
            }
            for i in range(count)
        ],
        **{f"map_{n}": text.get(f"map_{n}", "") for n in MAPPING_FIELDS},
    }
    try:
        body = _body_of(integration.kind, form)
        saved = await integration_service.update_integration(session, integration_id, body)
    except ApiError as exc:
        form["rules"] = [r for r in form["rules"] if any(r.values())]
        return await _edit_page(request, user, session, integration, form, error=exc)
    return await _edit_page(request, user, session, saved, _form_of(saved), saved=True)
