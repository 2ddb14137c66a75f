"""Alert intake and incidents' alerts, shared by the JSON API and the web UI.

The integrations themselves are administered in api/services/integrations.py.

Intake stores every accepted event raw first, then signals the alert's workflow
with signal-with-start and answers at once: the incident's work happens in
`AlertWorkflow` (workflows/alerts.py), never while the monitoring tool waits.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jmespath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from api.auth import Principal
from api.errors import ApiError
from api.schemas import (
    AlertEventPublic,
    AlertLink,
    AlertPublic,
    IncidentAlerts,
    IntegrationRule,
    MajorBody,
    ParentBody,
    TicketPublic,
    WebhookMapping,
)
from api.security import digest, same
from api.services.tickets import act, get_row, get_ticket, visible_to
from models import Alert, AlertEvent, Integration, Ticket
from workflows import ids
from workflows.alerts import (
    WORKING,
    AlertAction,
    AlertInput,
    AlertSignal,
    AlertWorkflow,
    IncidentFields,
    ResolveMode,
)
from workflows.choices import TicketType
from workflows.lifecycle import BODY_MAX, SUBJECT_MAX, ViolationKind
from workflows.ticket_model import AddNote, LinkParent, SetMajor

SEVERITY_LEVELS: dict[str, tuple[int, int]] = {
    "critical": (1, 1),
    "error": (2, 1),
    "warning": (2, 2),
    "info": (3, 3),
}
"""Default (impact, urgency) per severity; with the default matrix P1, P2, P3 and P5."""


# ---------------------------------------------------------------- authentication of intake


async def integration_for(session: AsyncSession, token: str | None, kind: str) -> Integration:
    """The integration a token belongs to: 401 unknown, 403 revoked, inactive or wrong kind."""
    if not token:
        raise ApiError(401, "an integration key is required", code="unauthenticated")
    row = await session.scalar(select(Integration).where(Integration.token_digest == digest(token)))
    if row is None or row.token_digest is None or not same(row.token_digest, digest(token)):
        raise ApiError(401, "unknown integration key", code="unauthenticated")
    if row.token_revoked_at is not None:
        raise ApiError(403, "this integration key was revoked", code="forbidden")
    if not row.active:
        raise ApiError(403, f"integration {row.name!r} is switched off", code="forbidden")
    if row.kind != kind:
        raise ApiError(
            403, f"integration {row.name!r} takes {row.kind} events, not {kind}", code="forbidden"
        )
    return row


# ---------------------------------------------------------------- intake


@dataclass
class Incoming:
    """One alert event as the intake understood it, before it is stored."""

    action: AlertAction
    key: str
    summary: str
    severity: str
    source: str
    payload: dict[str, Any]
    details: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    group_key: str = ""
    """Alertmanager's groupKey: with link_by=group, its alerts share one incident."""


def _match(rule: IntegrationRule, event: Incoming) -> bool:
    if rule.severities and event.severity not in rule.severities:
        return False
    return all(event.labels.get(k) == v for k, v in rule.labels.items())


def incident_fields(integration: Integration, event: Incoming) -> IncidentFields:
    """What a new incident from this event is opened with: defaults, then the first rule."""
    impact, urgency = SEVERITY_LEVELS.get(event.severity, (2, 2))
    service_id, group_id = integration.service_id, integration.group_id
    for raw in integration.rules:
        rule = IntegrationRule.model_validate(raw)
        if _match(rule, event):
            impact = rule.impact or impact
            urgency = rule.urgency or urgency
            service_id = rule.service_id or service_id
            group_id = rule.group_id or group_id
            break
    subject = event.summary.strip() or f"Alert {event.key}"
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1] + "…"
    description = event.details[:BODY_MAX]
    return IncidentFields(
        subject=subject,
        description=description,
        requester_id=integration.requester_id,
        impact=impact,
        urgency=urgency,
        service_id=service_id,
        group_id=group_id,
    )


async def accept(
    session: AsyncSession, client: Client, integration: Integration, events: list[Incoming]
) -> list[int]:
    """Store each event raw, then hand it to its alert's workflow; returns the event ids."""
    rows = [
        AlertEvent(
            integration_id=integration.id,
            key=e.key,
            action=e.action.value,
            payload=e.payload,
        )
        for e in events
    ]
    session.add_all(rows)
    await session.flush()
    received = {r.id: r.received_at for r in rows}
    await session.commit()

    async def hand_over(row: AlertEvent, event: Incoming) -> None:
        grouped = integration.link_by == "group" and bool(event.group_key)
        run_key = f"group:{event.group_key}" if grouped else event.key
        signal = AlertSignal(
            event_id=row.id,
            alert_key=event.key if grouped else "",
            action=event.action,
            at=received[row.id] or datetime.now(UTC),
            source=event.source,
            summary=event.summary,
            severity=event.severity,
            incident=incident_fields(integration, event),
            resolve_mode=ResolveMode(integration.resolve_mode),
            flap_window_seconds=integration.flap_window_seconds,
        )
        await client.start_workflow(
            AlertWorkflow.run,
            AlertInput(integration_id=integration.id, key=run_key),
            id=ids.alert_workflow_id(integration.id, run_key),
            task_queue=ids.TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            start_signal=ids.ALERT_SIGNAL,
            start_signal_args=[signal],
        )

    await asyncio.gather(*(hand_over(r, e) for r, e in zip(rows, events, strict=True)))
    return [r.id for r in rows]


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text[:limit]


# ---------------------------------------------------------------- Events API v2


def _bad(field_name: str, message: str) -> ApiError:
    return ApiError(400, f"{field_name}: {message}", field=field_name, code="invalid_event")


def _string(body: dict[str, Any], name: str, *, prefix: str = "", limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(prefix + name, "must be a string")
    if len(value) > limit:
        raise _bad(prefix + name, f"must be at most {limit} characters")
    if "\x00" in value:
        raise _bad(prefix + name, "must not contain NUL characters")
    return value


def parse_event_v2(raw: bytes) -> tuple[str, Incoming]:
    """(routing key, event) from a PagerDuty Events API v2 body; 400 naming the field."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the body is not JSON: {exc}", code="invalid_event") from exc
    if not isinstance(body, dict):
        raise _bad("body", "must be a JSON object")
    routing_key = _string(body, "routing_key", limit=200)
    if not routing_key:
        raise ApiError(401, "routing_key is required", field="routing_key", code="unauthenticated")
    action_text = _string(body, "event_action", limit=20)
    try:
        action = AlertAction(action_text)
    except ValueError:
        raise _bad("event_action", "must be trigger, acknowledge or resolve") from None
    dedup_key = _string(body, "dedup_key", limit=255)
    if dedup_key is not None and not dedup_key.strip():
        raise _bad("dedup_key", "must not be empty")
    if action != AlertAction.TRIGGER:
        if dedup_key is None:
            raise _bad("dedup_key", f"is required for {action.value}")
        return routing_key, Incoming(
            action=action, key=dedup_key, summary="", severity="", source="", payload=body
        )
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise _bad("payload", "is required for trigger and must be an object")
    summary = _string(payload, "summary", prefix="payload.", limit=1024)
    if not summary or not summary.strip():
        raise _bad("payload.summary", "is required")
    source = _string(payload, "source", prefix="payload.", limit=255)
    if not source or not source.strip():
        raise _bad("payload.source", "is required")
    severity = _string(payload, "severity", prefix="payload.", limit=20)
    if severity not in SEVERITY_LEVELS:
        raise _bad("payload.severity", "must be critical, error, warning or info")
    for name in ("timestamp", "component", "group", "class"):
        _string(payload, name, prefix="payload.", limit=1024)
    if payload.get("timestamp") is not None:
        try:
            datetime.fromisoformat(str(payload["timestamp"]).replace("Z", "+00:00"))
        except ValueError:
            raise _bad("payload.timestamp", "must be an ISO 8601 date-time") from None
    for name in ("links", "images"):
        if body.get(name) is not None and not isinstance(body[name], list):
            raise _bad(name, "must be a list")
    key = dedup_key or uuid.uuid4().hex
    lines = [
        summary,
        "",
        f"Source: {source}",
        f"Severity: {severity}",
    ]
    for name in ("component", "group", "class"):
        if payload.get(name):
            lines.append(f"{name.title()}: {payload[name]}")
    if payload.get("custom_details") is not None:
        lines += ["", "Details:", _text(payload["custom_details"], 8000)]
    for link in body.get("links") or []:
        if isinstance(link, dict) and isinstance(link.get("href"), str):
            lines.append(f"Link: {link.get('text') or link['href']} <{link['href']}>")
    if dedup_key is None:
        body = {**body, "dedup_key": key}
    return routing_key, Incoming(
        action=action,
        key=key,
        summary=summary.strip(),
        severity=severity,
        source=source.strip(),
        payload=body,
        details="\n".join(lines),
    )


# ---------------------------------------------------------------- Alertmanager


def _am_bad(field_name: str, message: str) -> ApiError:
    return ApiError(400, f"{field_name}: {message}", field=field_name, code="invalid_event")


def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _am_bad(where, "must be an object of strings")
    return value


def parse_alertmanager(raw: bytes) -> list[Incoming]:
    """Each alert of an Alertmanager webhook (version 4) as its own event, keyed by fingerprint."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the body is not JSON: {exc}", code="invalid_event") from exc
    if not isinstance(body, dict):
        raise _am_bad("body", "must be a JSON object")
    version = body.get("version")
    if version is not None and version != "4":
        raise _am_bad("version", "only version 4 of the webhook payload is understood")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise _am_bad("alerts", "must be a non-empty list")
    group = {
        k: body.get(k)
        for k in ("receiver", "status", "groupKey", "groupLabels", "externalURL", "truncatedAlerts")
        if k in body
    }
    group_key = body.get("groupKey") if isinstance(body.get("groupKey"), str) else ""
    events = []
    for i, alert in enumerate(alerts):
        where = f"alerts.{i}"
        if not isinstance(alert, dict):
            raise _am_bad(where, "must be an object")
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise _am_bad(f"{where}.status", "must be firing or resolved")
        labels = _labels(alert.get("labels"), f"{where}.labels")
        annotations = _labels(alert.get("annotations"), f"{where}.annotations")
        fingerprint = alert.get("fingerprint")
        if fingerprint is not None and (not isinstance(fingerprint, str) or not fingerprint):
            raise _am_bad(f"{where}.fingerprint", "must be a non-empty string")
        if len(fingerprint or "") > 255:
            raise _am_bad(f"{where}.fingerprint", "must be at most 255 characters")
        if fingerprint is None:
            if not labels:
                raise _am_bad(f"{where}.fingerprint", "is required when an alert has no labels")
            # Alertmanager fingerprints the label set; do the same when it is missing.
            canonical = json.dumps(sorted(labels.items()))
            fingerprint = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        for name in ("startsAt", "endsAt"):
            value = alert.get(name)
            if value is not None:
                try:
                    datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                except ValueError:
                    raise _am_bad(f"{where}.{name}", "must be an RFC 3339 date-time") from None
        name = labels.get("alertname", "alert")
        summary = annotations.get("summary") or annotations.get("description") or name
        source = labels.get("instance") or labels.get("job") or "alertmanager"
        lines = [summary, ""]
        lines += [f"{k}: {v}" for k, v in sorted(labels.items())]
        if annotations.get("description") and annotations.get("description") != summary:
            lines += ["", annotations["description"]]
        if isinstance(alert.get("generatorURL"), str):
            lines += ["", f"Source: {alert['generatorURL']}"]
        events.append(
            Incoming(
                action=AlertAction.TRIGGER if status == "firing" else AlertAction.RESOLVE,
                key=fingerprint,
                summary=summary,
                severity=labels.get("severity", ""),
                source=source,
                payload={"alert": alert, "group": group},
                details="\n".join(lines),
                labels=labels,
                group_key=group_key,
            )
        )
    return events


# ---------------------------------------------------------------- generic webhook


def _found(value: Any) -> str:
    """A mapped value as text: strings and numbers; nothing else counts as found."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value).strip()
    return ""


def parse_webhook(raw: bytes, mapping_data: dict[str, Any]) -> list[Incoming]:
    """Events from any JSON body, read with the integration's JMESPath mapping; 400 naming
    the mapping field that found nothing."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the body is not JSON: {exc}", code="invalid_event") from exc
    if not isinstance(body, dict | list):
        raise _bad("body", "must be a JSON object or list")
    mapping = WebhookMapping.model_validate(mapping_data)
    items: Any = [body]
    if mapping.items is not None:
        items = jmespath.search(mapping.items, body)
        if not isinstance(items, list) or not items:
            raise _bad("items", f"{mapping.items!r} found no list of alerts in the body")
    resolved = {v.lower() for v in mapping.resolved}
    acknowledged = {v.lower() for v in mapping.acknowledged}
    severities = {k.lower(): v for k, v in mapping.severities.items()}
    events = []
    for i, item in enumerate(items):
        where = f"items.{i}." if mapping.items is not None else ""

        def read(name: str, item: Any = item) -> str:
            expression = getattr(mapping, name)
            return _found(jmespath.search(expression, item)) if expression else ""

        key = read("dedup_key")
        if not key:
            raise _bad(where + "dedup_key", f"{mapping.dedup_key!r} found no key in the event")
        if len(key) > 255:
            raise _bad(where + "dedup_key", "the key is longer than 255 characters")
        summary = read("summary")
        if not summary:
            raise _bad(where + "summary", f"{mapping.summary!r} found no summary in the event")
        status = read("status").lower()
        if status in resolved:
            action = AlertAction.RESOLVE
        elif status in acknowledged:
            action = AlertAction.ACKNOWLEDGE
        else:
            action = AlertAction.TRIGGER
        severity_text = read("severity").lower()
        severity = severities.get(severity_text) or (
            severity_text if severity_text in SEVERITY_LEVELS else "warning"
        )
        details = json.dumps(item, indent=2, ensure_ascii=False)[:8000]
        events.append(
            Incoming(
                action=action,
                key=key,
                summary=summary[:1024],
                severity=severity,
                source=read("source")[:255] or "webhook",
                payload=item if isinstance(item, dict) else {"value": item},
                details=f"{summary}\n\n{details}",
            )
        )
    return events


# ---------------------------------------------------------------- reading


async def alerts_of(
    session: AsyncSession, ticket_id: str
) -> tuple[list[AlertPublic], list[AlertEventPublic]]:
    """The alerts feeding an incident and every event recorded on it, oldest first."""
    alerts = await list_alerts(session, ticket_id=ticket_id)
    events = await session.scalars(
        select(AlertEvent).where(AlertEvent.ticket_id == ticket_id).order_by(AlertEvent.id)
    )
    return alerts, [AlertEventPublic.model_validate(e, from_attributes=True) for e in events]


async def incident_alerts(
    session: AsyncSession, ticket_id: str, *, last: int | None = None
) -> IncidentAlerts | None:
    """An incident's alerts and events (the `last` ones), or None when none fed it."""
    alerts, events = await alerts_of(session, ticket_id)
    if not alerts and not events:
        return None
    return IncidentAlerts(
        alerts=alerts,
        events=events[-last:] if last else events,
        firing=any(a.status != "resolved" for a in alerts),
    )


async def link_alert(
    session: AsyncSession, client: Client, principal: Principal, number: int, body: AlertLink
) -> IncidentAlerts:
    """Move an alert to the incident `number` (which must be a working incident) and say so
    in its timeline; the alert's next events feed it."""
    target = await get_row(session, principal, number)
    if target.type != TicketType.INCIDENT.value:
        raise ApiError(409, f"#{number} is not an incident", code=ViolationKind.ILLEGAL_STATE)
    if target.status not in WORKING:
        raise ApiError(
            409,
            f"#{number} is {target.status}; link alerts to a working incident",
            code=ViolationKind.ILLEGAL_STATE,
        )
    alert = await session.scalar(
        select(Alert).where(Alert.integration_id == body.integration_id, Alert.key == body.key)
    )
    if alert is None:
        raise ApiError(
            404,
            f"no alert {body.key!r} from integration {body.integration_id}",
            field="key",
            code="not_found",
        )
    previous = await session.scalar(select(Ticket.number).where(Ticket.id == alert.ticket_id))
    if alert.ticket_id != target.id:
        note = f"Alert linked: {alert.summary or alert.key} ({alert.source})"
        if previous is not None:
            note += f", moved from #{previous}"
        await act(session, client, principal, number, AddNote(actor=principal.actor(), body=note))
        alert.ticket_id = target.id
        await session.commit()
    found = await incident_alerts(session, target.id)
    assert found is not None
    return found


async def set_major(
    session: AsyncSession, client: Client, principal: Principal, number: int, body: MajorBody
) -> TicketPublic:
    msg = SetMajor(actor=principal.actor(), major=body.major, note=body.note)
    return await act(session, client, principal, number, msg)


async def link_parent(
    session: AsyncSession, client: Client, principal: Principal, number: int, body: ParentBody
) -> TicketPublic:
    """Make incident `number` a child of a major incident (or unlink it)."""
    if body.parent_number is not None:
        parent = await session.scalar(
            select(Ticket).where(Ticket.number == body.parent_number, visible_to(principal))
        )
        if parent is None:
            raise ApiError(
                422,
                f"parent_number {body.parent_number} is not a ticket",
                field="parent_number",
                code="invalid_field",
            )
        if not parent.major:
            raise ApiError(
                422,
                f"#{parent.number} is not a major incident; declare it major first",
                field="parent_number",
                code="invalid_field",
            )
    msg = LinkParent(actor=principal.actor(), parent_number=body.parent_number, note=body.note)
    return await act(session, client, principal, number, msg)


async def children_of(
    session: AsyncSession, principal: Principal, number: int
) -> list[TicketPublic]:
    """The incidents linked to major incident `number` as its children."""
    await get_row(session, principal, number)
    found = await session.scalars(
        select(Ticket.number)
        .where(Ticket.parent_number == number, visible_to(principal))
        .order_by(Ticket.number)
    )
    return [await get_ticket(session, principal, n) for n in found]


async def list_alerts(
    session: AsyncSession,
    *,
    ticket_id: str | None = None,
    integration_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[AlertPublic]:
    """Alerts, most recently seen first, with the number of the incident each feeds."""
    query = select(Alert, Ticket.number).outerjoin(Ticket, Ticket.id == Alert.ticket_id)
    if ticket_id is not None:
        query = query.where(Alert.ticket_id == ticket_id)
    if integration_id is not None:
        query = query.where(Alert.integration_id == integration_id)
    if status is not None:
        query = query.where(Alert.status == status)
    rows = await session.execute(query.order_by(Alert.last_seen.desc(), Alert.id).limit(limit))
    return [
        AlertPublic.model_validate(alert, from_attributes=True).model_copy(
            update={"ticket_number": number}
        )
        for alert, number in rows
    ]
