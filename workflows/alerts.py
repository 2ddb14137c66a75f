"""`AlertWorkflow`: one per (integration, alert key), feeding the incident that alert raised.

Every event a monitoring tool sends for an alert key reaches the same workflow
by signal-with-start on a workflow id derived from the integration and the key
(`ids.alert_workflow_id`), so any number of concurrent identical triggers are
handled one after another by one workflow, and lead to one open incident.

The incident itself is an ordinary ticket of type `incident` with its own
`TicketWorkflow` (lifecycle, SLA clocks, auto-close). This workflow decides, per
event, with the pure rule `decide`:

- trigger: a working incident counts one more occurrence (no notification);
  a resolved one within the integration's flap window is reopened and marked
  flapping; otherwise a new incident is opened;
- acknowledge: recorded on the incident, which is then in progress;
- resolve: resolves the incident, or only adds a note, as the integration says;
- acknowledge or resolve with no working incident: accepted and ignored.

Side effects happen in one activity per batch of queued events
(`apply_alert_events`), which
sends the ticket's workflow the same validated updates an agent's change would
be, with update ids derived from the event, and records the outcome; it is
idempotent, so a retry changes nothing twice. The workflow ends once its
incident is closed, or resolved for longer than the flap window; a later
trigger starts a new run, hence a new incident.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.choices import Status
    from workflows.ids import ALERT_SIGNAL, APPLY_ALERT_EVENTS, INCIDENT_STATUS


class AlertAction(StrEnum):
    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class ResolveMode(StrEnum):
    RESOLVE = "resolve"
    """A resolve from the source resolves the incident."""
    NOTE = "note"
    """A resolve from the source only adds an internal note; a person resolves."""


class IncidentFields(BaseModel):
    """What a new incident is opened with (mapped from the event by the integration's rules)."""

    subject: str
    description: str = ""
    requester_id: int
    impact: int = 3
    urgency: int = 3
    service_id: int | None = None
    group_id: int | None = None


class AlertSignal(BaseModel):
    """One accepted event; its raw payload is already stored as `alert_events.id = event_id`."""

    event_id: int
    alert_key: str = ""
    """The alert's own key when several alerts feed one run (Alertmanager group); "" = the run's."""
    action: AlertAction
    at: datetime
    source: str = ""
    summary: str = ""
    severity: str = ""
    incident: IncidentFields
    resolve_mode: ResolveMode = ResolveMode.RESOLVE
    flap_window_seconds: int = 0


class AlertRunState(BaseModel):
    integration_id: int
    key: str
    ticket_id: str | None = None
    number: int | None = None
    status: str | None = None
    """Status of the incident as last seen (None: no incident yet)."""
    cycle: int = 0
    """Incidents this run has opened; part of the next incident's idempotency key."""
    events: int = 0
    flap_window_seconds: int = 0


class AlertInput(BaseModel):
    integration_id: int
    key: str
    state: AlertRunState | None = None
    pending: list[AlertSignal] = Field(default_factory=list)


class Decision(StrEnum):
    OPEN = "opened"
    REPEAT = "repeated"
    REOPEN = "reopened"
    ACKNOWLEDGE = "acknowledged"
    RESOLVE = "resolved"
    NOTE = "noted"
    IGNORE = "ignored"
    PARTLY = "resolved_partly"
    """One alert of several resolved; the incident waits for the others."""


WORKING = frozenset({Status.NEW.value, Status.OPEN.value, Status.PENDING.value})


def decide(
    action: AlertAction,
    at: datetime,
    status: str | None,
    resolved_at: datetime | None,
    resolve_mode: ResolveMode,
    flap_window: timedelta,
    others_firing: bool = False,
) -> Decision:
    """What an event does to the alert's incident, given the incident's status now.

    `others_firing`: other alerts linked to the same incident still fire, so a
    resolve of this one leaves the incident as it is.
    """
    working = status in WORKING
    if action == AlertAction.TRIGGER:
        if working:
            return Decision.REPEAT
        if (
            status == Status.RESOLVED.value
            and resolved_at is not None
            and at - resolved_at <= flap_window
        ):
            return Decision.REOPEN
        return Decision.OPEN
    if not working:
        return Decision.IGNORE  # as PagerDuty does for an unknown or finished key
    if action == AlertAction.ACKNOWLEDGE:
        # A pending incident is already in hand; the acknowledge is recorded only.
        return Decision.ACKNOWLEDGE if status != Status.PENDING.value else Decision.IGNORE
    if others_firing:
        return Decision.PARTLY
    return Decision.RESOLVE if resolve_mode == ResolveMode.RESOLVE else Decision.NOTE


class AlertBatch(BaseModel):
    """Input of `apply_alert_events`: the events queued for the run, applied in order."""

    state: AlertRunState
    signals: list[AlertSignal]
    key_prefix: str
    """With the cycle number, the idempotency key of an incident the batch opens."""


class AlertBatchResult(BaseModel):
    state: AlertRunState
    decisions: list[Decision]


BATCH = 100
"""Events per activity: a storm of repeats costs one activity per batch, not per event."""


class IncidentQuery(BaseModel):
    ticket_id: str | None
    flap_window_seconds: int


class IncidentCheck(BaseModel):
    status: str | None = None
    finished: bool = True
    """Closed, gone, or resolved for longer than the flap window: the run may end."""


_TIMEOUT = timedelta(minutes=2)
_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
_WATCH = timedelta(hours=1)
"""How often a run whose incident is still being worked looks whether it has ended."""


@workflow.defn
class AlertWorkflow:
    @workflow.init
    def __init__(self, inp: AlertInput) -> None:
        self._queue: list[AlertSignal] = list(inp.pending)
        self._state = inp.state or AlertRunState(integration_id=inp.integration_id, key=inp.key)

    @workflow.signal(name=ALERT_SIGNAL)
    def event(self, signal: AlertSignal) -> None:
        self._queue.append(signal)

    @workflow.query
    def current(self) -> AlertRunState:
        return self._state

    @workflow.run
    async def run(self, inp: AlertInput) -> AlertRunState:
        while True:
            while self._queue:
                batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
                await self._apply(batch)
                if workflow.info().is_continue_as_new_suggested():
                    workflow.continue_as_new(
                        AlertInput(
                            integration_id=inp.integration_id,
                            key=inp.key,
                            state=self._state,
                            pending=self._queue,
                        )
                    )
            try:
                await workflow.wait_condition(lambda: bool(self._queue), timeout=self._idle())
                continue
            except TimeoutError:
                pass
            check: IncidentCheck = await workflow.execute_activity(
                INCIDENT_STATUS,
                IncidentQuery(
                    ticket_id=self._state.ticket_id,
                    flap_window_seconds=self._state.flap_window_seconds,
                ),
                result_type=IncidentCheck,
                start_to_close_timeout=_TIMEOUT,
                retry_policy=_RETRY,
            )
            self._state.status = check.status
            if check.finished and not self._queue:
                return self._state

    def _idle(self) -> timedelta:
        if self._state.status in WORKING:
            return _WATCH
        # Resolved (or nothing opened): stay for the flap window, then end.
        return timedelta(seconds=max(self._state.flap_window_seconds, 0) + 5)

    async def _apply(self, signals: list[AlertSignal]) -> None:
        info = workflow.info()
        # A regular activity, not a local one: opening an incident waits for another
        # workflow, which under a storm can outlast a workflow task's timeout.
        result: AlertBatchResult = await workflow.execute_activity(
            APPLY_ALERT_EVENTS,
            AlertBatch(
                state=self._state, signals=signals, key_prefix=f"{info.workflow_id}:{info.run_id}"
            ),
            result_type=AlertBatchResult,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
        self._state = result.state
