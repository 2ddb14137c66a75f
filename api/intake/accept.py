"""The shared intake path: who sent an event, what incident it opens, and its hand-over.

Intake stores every accepted event raw first, then signals the alert's workflow
with signal-with-start and answers at once: the incident's work happens in
`AlertWorkflow` (workflows/alerts.py), never while the monitoring tool waits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from api.errors import ApiError
from api.schemas import IntegrationRule
from api.security import digest, same
from models import AlertEvent, Integration
from workflows import ids
from workflows.alerts import (
    AlertAction,
    AlertInput,
    AlertSignal,
    AlertWorkflow,
    IncidentFields,
    ResolveMode,
)
from workflows.ticket.fields import BODY_MAX, SUBJECT_MAX

SEVERITY_LEVELS: dict[str, tuple[int, int]] = {
    "critical": (1, 1),
    "error": (2, 1),
    "warning": (2, 2),
    "info": (3, 3),
}
"""Default (impact, urgency) per severity; with the default matrix P1, P2, P3 and P5."""
SEVERITY_MAX = 20
SOURCE_MAX = 255
"""What an alert keeps of its severity and source (the columns of the alerts table)."""


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
