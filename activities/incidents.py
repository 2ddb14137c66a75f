"""Side effects of `AlertWorkflow`: change the incident as the event says, record the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models import Alert, AlertEvent, Integration, Ticket
from workflows import ids
from workflows.alerts import (
    WORKING,
    AlertAction,
    AlertBatch,
    AlertBatchResult,
    AlertRunState,
    AlertSignal,
    Decision,
    IncidentCheck,
    IncidentQuery,
    decide,
)
from workflows.choices import AlertStatus, Channel, ResolutionCode, Status, TicketType
from workflows.ticket.client import TicketClient, TicketClosed
from workflows.ticket.errors import RETRYABLE, RuleViolation
from workflows.ticket.messages import (
    SYSTEM,
    Acknowledge,
    AddNote,
    OpenTicket,
    Reopen,
    Resolve,
)

_alerts = cast(Table, Alert.__table__)
_events = cast(Table, AlertEvent.__table__)
_integrations = cast(Table, Integration.__table__)
_tickets = cast(Table, Ticket.__table__)

_NOW_WORKING = frozenset({Decision.OPEN, Decision.REPEAT, Decision.REOPEN})
"""After these, the alert's incident is being worked: further triggers only repeat."""

_ALERT_STATUS = {
    AlertAction.TRIGGER: AlertStatus.FIRING.value,
    AlertAction.ACKNOWLEDGE: AlertStatus.ACKNOWLEDGED.value,
    AlertAction.RESOLVE: AlertStatus.RESOLVED.value,
}


@dataclass
class AlertStep:
    state: AlertRunState
    signal: AlertSignal
    new_ticket_key: str
    """Idempotency key of the incident a trigger would open now."""


class IncidentActivities:
    def __init__(self, tickets: TicketClient, engine: AsyncEngine) -> None:
        self._tickets = tickets
        self._engine = engine

    @activity.defn(name=ids.APPLY_ALERT_EVENTS)
    async def apply_alert_events(self, batch: AlertBatch) -> AlertBatchResult:
        """Apply the run's queued events in order; returns the run's state after them.

        Idempotent: a new incident's workflow id comes from the run and the cycle
        number, every other change uses an update id derived from the event, and
        the records set absolute values; so a retried batch decides and does the
        same again, and changes nothing twice.
        """
        state = batch.state.model_copy(deep=True)
        decisions: list[Decision] = []
        signals = batch.signals
        i = 0
        while i < len(signals):
            signal = signals[i]
            step = AlertStep(state, signal, f"{batch.key_prefix}:{state.cycle + 1}")
            decision, ticket_id, number, status = await self._apply_one(step)
            if decision == Decision.OPEN:
                state.cycle += 1
            if ticket_id is not None and ticket_id != state.ticket_id:
                state.ticket_id, state.number = ticket_id, number
            state.status = status
            state.flap_window_seconds = signal.flap_window_seconds
            decisions.append(decision)
            i += 1
            # In a storm the same alert repeats while its incident is worked: every
            # further trigger of it is a repeat, recorded together in one write.
            repeats = []
            if decision in _NOW_WORKING and ticket_id is not None and status in WORKING:
                while (
                    i < len(signals)
                    and signals[i].action == AlertAction.TRIGGER
                    and signals[i].alert_key == signal.alert_key
                ):
                    repeats.append(signals[i])
                    i += 1
            if repeats:
                last = AlertStep(state, repeats[-1], step.new_ticket_key)
                await self._record(
                    last,
                    Decision.REPEAT,
                    Decision.REPEAT.value,
                    ticket_id,
                    event_ids=[r.event_id for r in repeats],
                )
                decisions += [Decision.REPEAT] * len(repeats)
        state.events += len(signals)
        return AlertBatchResult(state=state, decisions=decisions)

    async def _apply_one(
        self, step: AlertStep
    ) -> tuple[Decision, str | None, int | None, str | None]:
        """Decide what one event does, do it through the incident's workflow, record it."""
        signal, state = step.signal, step.state
        alert_key = signal.alert_key or state.key
        async with self._engine.connect() as conn:
            ticket_id = await self._incident_for(conn, state.integration_id, alert_key, state)
            status, resolved_at, number, others_firing = None, None, state.number, False
            if ticket_id is not None:
                row = (
                    await conn.execute(
                        select(_tickets.c.status, _tickets.c.resolved_at, _tickets.c.number).where(
                            _tickets.c.id == ticket_id
                        )
                    )
                ).first()
                if row is not None:
                    status, resolved_at, number = row.status, row.resolved_at, row.number
                others = await conn.scalar(
                    select(func.count())
                    .select_from(_alerts)
                    .where(
                        _alerts.c.ticket_id == ticket_id,
                        _alerts.c.status != AlertStatus.RESOLVED.value,
                        ~(
                            (_alerts.c.integration_id == state.integration_id)
                            & (_alerts.c.key == alert_key)
                        ),
                    )
                )
                others_firing = bool(others)
        decision = decide(
            signal.action,
            signal.at,
            status,
            resolved_at,
            signal.resolve_mode,
            timedelta(seconds=signal.flap_window_seconds),
            others_firing=others_firing,
        )
        outcome = decision.value
        if decision == Decision.OPEN:
            ticket_id, number, status = await self._open(step)
        elif decision not in (Decision.REPEAT, Decision.IGNORE, Decision.PARTLY):
            assert ticket_id is not None
            refused, new_status = await self._change(ticket_id, decision, step)
            if refused is not None:
                outcome = f"refused: {refused}"[:40]
            elif new_status is not None:
                status = new_status
        await self._record(step, decision, outcome, ticket_id)
        return decision, ticket_id, number, status

    async def _incident_for(
        self, conn: AsyncConnection, integration_id: int, alert_key: str, state: AlertRunState
    ) -> str | None:
        """The incident this alert feeds: the one it is linked to while that is worked (an
        agent may have linked it to another incident), else the run's current incident."""
        linked = await conn.scalar(
            select(_alerts.c.ticket_id).where(
                _alerts.c.integration_id == integration_id, _alerts.c.key == alert_key
            )
        )
        if linked is not None and linked != state.ticket_id:
            status = await conn.scalar(select(_tickets.c.status).where(_tickets.c.id == linked))
            if status in WORKING:
                return str(linked)
        return state.ticket_id

    async def _open(self, step: AlertStep) -> tuple[str, int | None, str | None]:
        """Open this cycle's incident (once, however often retried): its id, number, status."""
        fields = step.signal.incident
        msg = OpenTicket(
            actor=SYSTEM,
            type=TicketType.INCIDENT,
            channel=Channel.MONITORING,
            subject=fields.subject,
            description=fields.description,
            requester_id=fields.requester_id,
            impact=fields.impact,
            urgency=fields.urgency,
            group_id=fields.group_id,
            service_id=fields.service_id,
        )
        try:
            opened = await self._tickets.open(
                msg, caller=f"integration:{step.state.integration_id}", key=step.new_ticket_key
            )
        except RuleViolation as exc:
            if exc.kind in RETRYABLE:
                raise  # the engine is away: Temporal retries the activity
            # The opening rules refused the mapped fields: a configuration problem of the
            # integration that retrying cannot fix.
            raise ApplicationError(f"incident refused: {exc.message}", non_retryable=True) from exc
        if opened.state is not None:
            return opened.state.id, opened.state.number, opened.state.status.value
        # An earlier attempt opened this cycle's incident, which has ended since: its row.
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    select(_tickets.c.number, _tickets.c.status).where(
                        _tickets.c.id == opened.workflow_id
                    )
                )
            ).first()
        if found is None:
            return opened.workflow_id, None, None
        return opened.workflow_id, found.number, found.status

    async def _change(
        self, ticket_id: str, decision: Decision, step: AlertStep
    ) -> tuple[str | None, str | None]:
        """(reason it was refused, new status) after sending the incident its update."""
        signal = step.signal
        source = signal.source or "the monitoring source"
        msg: Any
        if decision == Decision.REOPEN:
            msg = Reopen(actor=SYSTEM, reason=f"The alert fired again in {source} (flapping).")
        elif decision == Decision.ACKNOWLEDGE:
            msg = Acknowledge(actor=SYSTEM, source=source)
        elif decision == Decision.RESOLVE:
            msg = Resolve(
                actor=SYSTEM,
                resolution_code=ResolutionCode.SOLVED,
                note=f"{source} reported the alert resolved.",
            )
        else:
            msg = AddNote(actor=SYSTEM, body=f"{source} reported the alert resolved.")
        try:
            state = await self._tickets.act(
                ticket_id, msg, update_id=ids.alert_update_id(signal.event_id)
            )
        except TicketClosed:
            return "the incident is closed", Status.CLOSED.value
        except RuleViolation as exc:
            if exc.kind in RETRYABLE:
                raise  # the engine is unavailable: Temporal retries the activity
            return exc.message, None
        return None, state.status.value

    async def _record(
        self,
        step: AlertStep,
        decision: Decision,
        outcome: str,
        ticket_id: str | None,
        *,
        event_ids: list[int] | None = None,
    ) -> None:
        """Record the outcome on the event (or on `event_ids`, repeats ending with `step`'s)
        and the alert's state; absolute values, so a retry writes the same."""
        signal, state = step.signal, step.state
        alert_key = signal.alert_key or state.key
        async with self._engine.begin() as conn:
            await conn.execute(
                update(_events)
                .where(_events.c.id.in_(event_ids or [signal.event_id]))
                .values(ticket_id=ticket_id, outcome=outcome)
            )
            await conn.execute(
                update(_integrations)
                .where(_integrations.c.id == state.integration_id)
                .values(last_event_at=func.now())
            )
            if ticket_id is None:
                return  # an acknowledge or resolve for a key without an incident
            occurrences = (
                select(func.count())
                .select_from(_events)
                .where(
                    _events.c.ticket_id == ticket_id,
                    _events.c.integration_id == state.integration_id,
                    _events.c.key == alert_key,
                    _events.c.action == AlertAction.TRIGGER.value,
                )
                .scalar_subquery()
            )
            values: dict[str, Any] = {
                "integration_id": state.integration_id,
                "key": alert_key,
                "ticket_id": ticket_id,
                "status": _ALERT_STATUS[signal.action],
                "summary": signal.summary,
                "severity": signal.severity,
                "source": signal.source,
                "occurrences": occurrences,
                "flapping": decision == Decision.REOPEN,
                "first_seen": signal.at,
                "last_seen": signal.at,
            }
            stmt = insert(_alerts).values(**values)
            changes: dict[str, Any] = {
                "ticket_id": ticket_id,
                "occurrences": occurrences,
                "last_seen": func.greatest(_alerts.c.last_seen, signal.at),
            }
            if decision != Decision.IGNORE:
                changes["status"] = stmt.excluded.status
            if signal.action == AlertAction.TRIGGER:
                changes.update(
                    summary=stmt.excluded.summary,
                    severity=stmt.excluded.severity,
                    source=stmt.excluded.source,
                )
            if decision == Decision.OPEN:
                changes.update(flapping=False, first_seen=signal.at)
            elif decision == Decision.REOPEN:
                changes["flapping"] = True
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["integration_id", "key"], set_=changes)
            )

    @activity.defn(name=ids.INCIDENT_STATUS)
    async def incident_status(self, query: IncidentQuery) -> IncidentCheck:
        """Whether the alert's run may end: its incident closed, or resolved past flapping."""
        if query.ticket_id is None:
            return IncidentCheck()
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        _tickets.c.status,
                        (
                            _tickets.c.resolved_at + timedelta(seconds=query.flap_window_seconds)
                            <= func.now()
                        ).label("flap_over"),
                    ).where(_tickets.c.id == query.ticket_id)
                )
            ).first()
        if row is None:
            return IncidentCheck()
        if row.status == Status.RESOLVED.value:
            return IncidentCheck(status=row.status, finished=bool(row.flap_over))
        return IncidentCheck(status=row.status, finished=row.status == Status.CLOSED.value)
