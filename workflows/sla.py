"""SLA clocks: pure functions over a policy snapshot and business time. No I/O, no clock.

A ticket's SLA is a snapshot of the policy that matched it (with its business
calendar resolved to dates) and one clock per target: first response, next
update, resolution. A clock accumulates the business time it has run and the
business time it has been paused; its due instant is always derived from those,
so pausing, resuming, a priority change or a new policy move the deadline by
exactly the business time involved and never lose what has elapsed.

Checkpoints (warnings at a percentage of the target, the breach, escalation
levels after it) are derived too. Each has a key that is recorded when it
fires, so a checkpoint fires once whatever happens to the ticket afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from workflows.business_time import (
    BusinessCalendar,
    CalendarError,
    add_business_time,
    business_time_between,
)
from workflows.choices import N_, ClockStatus, SlaStatus

DEFAULT_WARNINGS = [50, 75, 90]
DEFAULT_PAUSE_STATUSES = ["pending"]


class ClockName(StrEnum):
    FIRST_RESPONSE = "first_response"
    """Met by the first public reply of an agent."""
    NEXT_UPDATE = "next_update"
    """Starts whenever the customer writes; met by the next public reply of an agent."""
    RESOLUTION = "resolution"
    """Met when the ticket is resolved."""


CLOCK_LABELS = {
    ClockName.FIRST_RESPONSE: N_("First response"),
    ClockName.NEXT_UPDATE: N_("Next update"),
    ClockName.RESOLUTION: N_("Resolution"),
}


class ReopenRule(StrEnum):
    CONTINUE = "continue"
    """A reopened ticket's resolution clock goes on from where it stopped."""
    RESTART = "restart"
    """A reopened ticket starts a new resolution cycle with the full target."""


class EscalationKind(StrEnum):
    NOTIFY_ASSIGNEE = "notify_assignee"
    NOTIFY_GROUP_LEAD = "notify_group_lead"
    NOTIFY_MANAGERS = "notify_managers"
    NOTIFY_USER = "notify_user"
    RAISE_PRIORITY = "raise_priority"
    REASSIGN = "reassign"


NOTIFY_KINDS = frozenset(
    {
        EscalationKind.NOTIFY_ASSIGNEE,
        EscalationKind.NOTIFY_GROUP_LEAD,
        EscalationKind.NOTIFY_MANAGERS,
        EscalationKind.NOTIFY_USER,
    }
)


class EscalationAction(BaseModel):
    kind: EscalationKind
    user_id: int | None = None
    """For notify_user."""
    group_id: int | None = None
    """For reassign: the ticket goes to this group, unassigned."""


class EscalationLevel(BaseModel):
    """What happens once `after` business time has passed since a clock's breach."""

    after: timedelta = timedelta(0)
    actions: list[EscalationAction] = Field(default_factory=list)
    clocks: list[ClockName] = Field(default_factory=lambda: list(ClockName))


class Targets(BaseModel):
    """Business-time targets of one priority; None means no target for that clock."""

    first_response: timedelta | None = None
    next_update: timedelta | None = None
    resolution: timedelta | None = None

    def of(self, name: ClockName) -> timedelta | None:
        value: timedelta | None = getattr(self, name.value)
        return value


class SlaPolicy(BaseModel):
    """A policy as a ticket keeps it: a wire format, add fields only with defaults."""

    id: int
    version: int = 1
    name: str = ""
    calendar: BusinessCalendar
    calendar_id: int | None = None
    targets: dict[int, Targets] = Field(default_factory=dict)
    """By priority (1..5)."""
    pause_statuses: list[str] = Field(default_factory=lambda: list(DEFAULT_PAUSE_STATUSES))
    warnings: list[int] = Field(default_factory=lambda: list(DEFAULT_WARNINGS))
    """Percentages of the target at which a warning fires."""
    escalations: list[EscalationLevel] = Field(default_factory=list)
    on_reopen: ReopenRule = ReopenRule.CONTINUE
    idle_after: timedelta | None = None
    """Business time without anyone acting on an open ticket before it is idle."""
    remind_customer_after: timedelta | None = None
    """While a ticket waits for the customer, remind them this long after each wait."""
    close_after_reminders: int | None = None
    """Close a ticket still waiting one interval after this many reminders."""

    def targets_for(self, priority: int) -> Targets:
        return self.targets.get(priority, Targets())


class Clock(BaseModel):
    """One SLA target being measured. Durations are business time of the policy's calendar."""

    name: ClockName
    cycle: int = 1
    target: timedelta
    started_at: datetime
    elapsed: timedelta = timedelta(0)
    """Business time run before `running_since` (all of it once paused or finished)."""
    paused: timedelta = timedelta(0)
    """Business time spent paused before `paused_since`."""
    running_since: datetime | None = None
    paused_since: datetime | None = None
    due_at: datetime | None = None
    """When the target is reached if the clock keeps running; None while paused or finished."""
    breached_at: datetime | None = None
    met_at: datetime | None = None
    stopped_at: datetime | None = None
    """Finished without being met: the ticket closed, or the clock no longer applies."""
    fired: list[str] = Field(default_factory=list)
    """Keys of the checkpoints of this cycle that have fired."""

    @property
    def finished(self) -> bool:
        return self.met_at is not None or self.stopped_at is not None

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def state(self) -> ClockStatus:
        """Breached once late (finished or not), else met, stopped, running or paused."""
        if self.breached_at is not None:
            return ClockStatus.BREACHED
        if self.met_at is not None:
            return ClockStatus.MET
        if self.stopped_at is not None:
            return ClockStatus.STOPPED
        return ClockStatus.RUNNING if self.running else ClockStatus.PAUSED


class SlaState(BaseModel):
    policy: SlaPolicy
    clocks: dict[ClockName, Clock] = Field(default_factory=dict)
    problem: str | None = None
    """Set when the calendar could not answer (e.g. beyond its span); cleared on refresh."""


class CheckpointKind(StrEnum):
    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"


@dataclass(frozen=True)
class Checkpoint:
    clock: ClockName
    kind: CheckpointKind
    key: str
    at: datetime
    percent: int | None = None
    level: int | None = None
    """1-based escalation level."""


# ---------------------------------------------------------------- calendar guards


def _between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta | None:
    try:
        return business_time_between(calendar, start, end)
    except CalendarError:
        return None


def _add(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime | None:
    try:
        return add_business_time(calendar, start, duration)
    except CalendarError:
        return None


# ---------------------------------------------------------------- one clock


def elapsed_at(calendar: BusinessCalendar, clock: Clock, now: datetime) -> timedelta:
    """Business time the clock has run up to `now`."""
    if clock.running_since is None or now <= clock.running_since:
        return clock.elapsed
    return clock.elapsed + (_between(calendar, clock.running_since, now) or timedelta(0))


def paused_at(calendar: BusinessCalendar, clock: Clock, now: datetime) -> timedelta:
    """Business time the clock has been paused up to `now`."""
    if clock.paused_since is None or now <= clock.paused_since:
        return clock.paused
    return clock.paused + (_between(calendar, clock.paused_since, now) or timedelta(0))


def _with_due(calendar: BusinessCalendar, clock: Clock) -> Clock:
    if clock.running_since is None or clock.finished:
        return clock.model_copy(update={"due_at": None})
    remaining = clock.target - clock.elapsed
    due: datetime | None
    if remaining <= timedelta(0):
        # Already over the target when it (re)started running: due at once,
        # unless the breach happened earlier and is on record.
        due = clock.breached_at or clock.running_since
    else:
        due = _add(calendar, clock.running_since, remaining)
    return clock.model_copy(update={"due_at": due})


def start_clock(
    calendar: BusinessCalendar, name: ClockName, target: timedelta, now: datetime, *, paused: bool
) -> Clock:
    clock = Clock(name=name, target=target, started_at=now)
    if paused:
        return clock.model_copy(update={"paused_since": now})
    return _with_due(calendar, clock.model_copy(update={"running_since": now}))


def pause_clock(calendar: BusinessCalendar, clock: Clock, now: datetime) -> Clock:
    if clock.running_since is None or clock.finished:
        return clock
    return clock.model_copy(
        update={
            "elapsed": elapsed_at(calendar, clock, now),
            "running_since": None,
            "paused_since": now,
            "due_at": None,
        }
    )


def resume_clock(calendar: BusinessCalendar, clock: Clock, now: datetime) -> Clock:
    if clock.paused_since is None or clock.finished:
        return clock
    resumed = clock.model_copy(
        update={
            "paused": paused_at(calendar, clock, now),
            "paused_since": None,
            "running_since": now,
        }
    )
    return _with_due(calendar, resumed)


def _settle(calendar: BusinessCalendar, clock: Clock, now: datetime) -> dict[str, object]:
    """The fields that stop a clock at `now`, keeping its elapsed and paused time."""
    return {
        "elapsed": elapsed_at(calendar, clock, now),
        "paused": paused_at(calendar, clock, now),
        "running_since": None,
        "paused_since": None,
        "due_at": None,
    }


def meet_clock(calendar: BusinessCalendar, clock: Clock, now: datetime) -> Clock:
    if clock.finished:
        return clock
    return clock.model_copy(update={**_settle(calendar, clock, now), "met_at": now})


def stop_clock(calendar: BusinessCalendar, clock: Clock, now: datetime) -> Clock:
    if clock.finished:
        return clock
    return clock.model_copy(update={**_settle(calendar, clock, now), "stopped_at": now})


def retarget_clock(
    calendar: BusinessCalendar, clock: Clock, target: timedelta, now: datetime
) -> Clock:
    """A new target (priority or policy changed): keeps elapsed and paused time."""
    if clock.finished:
        return clock.model_copy(update={"target": target})
    update: dict[str, object] = {"target": target}
    if clock.running_since is not None:
        update["elapsed"] = elapsed_at(calendar, clock, now)
        update["running_since"] = now
    return _with_due(calendar, clock.model_copy(update=update))


def restart_clock(
    calendar: BusinessCalendar, clock: Clock, now: datetime, *, paused: bool
) -> Clock:
    """A new cycle with the full target (next update after a customer message, reopen)."""
    fresh = start_clock(calendar, clock.name, clock.target, now, paused=paused)
    return fresh.model_copy(update={"cycle": clock.cycle + 1})


def continue_clock(
    calendar: BusinessCalendar, clock: Clock, now: datetime, *, paused: bool
) -> Clock:
    """Run a finished clock again from where it stopped (a reopened ticket)."""
    again = clock.model_copy(update={"met_at": None, "stopped_at": None})
    if paused:
        return again.model_copy(update={"paused_since": now})
    return _with_due(calendar, again.model_copy(update={"running_since": now}))


# ---------------------------------------------------------------- the ticket's SLA


def start_sla(policy: SlaPolicy, priority: int, status: str, now: datetime) -> SlaState:
    """The clocks of a new ticket: first response and resolution run from `now`."""
    targets = policy.targets_for(priority)
    paused = status in policy.pause_statuses
    clocks: dict[ClockName, Clock] = {}
    for name in (ClockName.FIRST_RESPONSE, ClockName.RESOLUTION):
        target = targets.of(name)
        if target is not None:
            clocks[name] = start_clock(policy.calendar, name, target, now, paused=paused)
    return _checked(SlaState(policy=policy, clocks=clocks))


def _checked(sla: SlaState) -> SlaState:
    """Flag a clock that should have a due instant but has none (the calendar could not say)."""
    stuck = [c.name.value for c in sla.clocks.values() if c.running and c.due_at is None]
    problem = (
        f"calendar {sla.policy.calendar.name!r} cannot place the due instant of " + ", ".join(stuck)
        if stuck
        else None
    )
    return sla.model_copy(update={"problem": problem})


def _map(
    sla: SlaState, fn: Callable[[Clock], Clock], names: tuple[ClockName, ...] | None = None
) -> SlaState:
    clocks = {
        name: fn(clock) if names is None or name in names else clock
        for name, clock in sla.clocks.items()
    }
    return _checked(sla.model_copy(update={"clocks": clocks}))


def on_status(sla: SlaState, old: str, new: str, now: datetime) -> SlaState:
    """Pausing statuses stop every running clock; leaving them resumes the clocks."""
    cal = sla.policy.calendar
    pausing = set(sla.policy.pause_statuses)
    if new in pausing and old not in pausing:
        return _map(sla, lambda c: pause_clock(cal, c, now))
    if old in pausing and new not in pausing:
        return _map(sla, lambda c: resume_clock(cal, c, now))
    return sla


def agent_replied(sla: SlaState, now: datetime) -> SlaState:
    cal = sla.policy.calendar
    return _map(
        sla,
        lambda c: meet_clock(cal, c, now),
        (ClockName.FIRST_RESPONSE, ClockName.NEXT_UPDATE),
    )


def customer_wrote(sla: SlaState, priority: int, status: str, now: datetime) -> SlaState:
    """The customer's message starts a next-update cycle (once the first response is done)."""
    target = sla.policy.targets_for(priority).next_update
    first = sla.clocks.get(ClockName.FIRST_RESPONSE)
    if target is None or (first is not None and not first.finished):
        return sla
    cal = sla.policy.calendar
    paused = status in sla.policy.pause_statuses
    current = sla.clocks.get(ClockName.NEXT_UPDATE)
    if current is not None and not current.finished:
        return sla  # already waiting for an answer: the earlier message sets the deadline
    if current is None:
        clock = start_clock(cal, ClockName.NEXT_UPDATE, target, now, paused=paused)
    else:
        clock = restart_clock(
            cal, current.model_copy(update={"target": target}), now, paused=paused
        )
    return _checked(sla.model_copy(update={"clocks": {**sla.clocks, ClockName.NEXT_UPDATE: clock}}))


def resolved(sla: SlaState, now: datetime) -> SlaState:
    """Resolving meets the resolution target; it answers the customer too."""
    cal = sla.policy.calendar
    return _map(sla, lambda c: meet_clock(cal, c, now))


def reopened(sla: SlaState, status: str, now: datetime) -> SlaState:
    cal = sla.policy.calendar
    paused = status in sla.policy.pause_statuses
    clock = sla.clocks.get(ClockName.RESOLUTION)
    if clock is None:
        return sla
    if sla.policy.on_reopen == ReopenRule.RESTART:
        clock = restart_clock(cal, clock, now, paused=paused)
    else:
        clock = continue_clock(cal, clock, now, paused=paused)
    return _checked(sla.model_copy(update={"clocks": {**sla.clocks, ClockName.RESOLUTION: clock}}))


def closed(sla: SlaState, now: datetime) -> SlaState:
    cal = sla.policy.calendar
    return _map(sla, lambda c: stop_clock(cal, c, now))


def retarget(
    sla: SlaState, priority: int, now: datetime, policy: SlaPolicy | None = None
) -> SlaState:
    """Targets of another priority or another policy, keeping elapsed and paused time.

    A clock with no target under the new terms stops; fired checkpoints stay
    fired, so a lowered priority never repeats a warning.
    """
    policy = policy or sla.policy
    targets = policy.targets_for(priority)
    cal = policy.calendar
    clocks: dict[ClockName, Clock] = {}
    for name, clock in sla.clocks.items():
        target = targets.of(name)
        if target is None:
            clocks[name] = stop_clock(cal, clock, now)
        else:
            clocks[name] = retarget_clock(cal, clock, target, now)
    return _checked(SlaState(policy=policy, clocks=clocks))


def refresh_calendar(sla: SlaState, calendar: BusinessCalendar) -> SlaState:
    """Swap in the same calendar resolved for a later span (a ticket open for a long time)."""
    policy = sla.policy.model_copy(update={"calendar": calendar})
    return _map(sla.model_copy(update={"policy": policy}), lambda c: _with_due(calendar, c))


# ---------------------------------------------------------------- checkpoints


def checkpoint_key(clock: Clock, kind: CheckpointKind, detail: int | None = None) -> str:
    suffix = "" if detail is None else f":{detail}"
    return f"{clock.name.value}:{clock.cycle}:{kind.value}{suffix}"


def clock_checkpoints(policy: SlaPolicy, clock: Clock) -> list[Checkpoint]:
    """Checkpoints of a running clock not yet fired, in time order."""
    if clock.running_since is None or clock.finished or clock.due_at is None:
        return []
    cal = policy.calendar
    found: list[Checkpoint] = []
    for percent in sorted(set(policy.warnings)):
        key = checkpoint_key(clock, CheckpointKind.WARNING, percent)
        if key in clock.fired or not 0 < percent < 100 or clock.breached_at is not None:
            continue
        threshold = clock.target * percent / 100
        at = (
            clock.running_since
            if clock.elapsed >= threshold
            else _add(cal, clock.running_since, threshold - clock.elapsed)
        )
        if at is not None:
            found.append(Checkpoint(clock.name, CheckpointKind.WARNING, key, at, percent=percent))
    breach_key = checkpoint_key(clock, CheckpointKind.BREACH)
    if breach_key not in clock.fired:
        found.append(Checkpoint(clock.name, CheckpointKind.BREACH, breach_key, clock.due_at))
    breach_at = clock.breached_at or clock.due_at
    for index, level in enumerate(policy.escalations, start=1):
        key = checkpoint_key(clock, CheckpointKind.ESCALATION, index)
        if key in clock.fired or clock.name not in level.clocks:
            continue
        at = _add(cal, breach_at, level.after)
        if at is not None:
            found.append(Checkpoint(clock.name, CheckpointKind.ESCALATION, key, at, level=index))
    return sorted(found, key=lambda c: (c.at, c.key))


def pending_checkpoints(sla: SlaState) -> list[Checkpoint]:
    found = [cp for clock in sla.clocks.values() for cp in clock_checkpoints(sla.policy, clock)]
    return sorted(found, key=lambda c: (c.at, c.key))


def next_checkpoint(sla: SlaState | None) -> Checkpoint | None:
    if sla is None:
        return None
    pending = pending_checkpoints(sla)
    return pending[0] if pending else None


def due_checkpoints(sla: SlaState, now: datetime) -> list[Checkpoint]:
    return [cp for cp in pending_checkpoints(sla) if cp.at <= now]


def fire(sla: SlaState, checkpoint: Checkpoint) -> SlaState:
    """Record that `checkpoint` fired; a breach marks the clock breached at its due instant."""
    clock = sla.clocks[checkpoint.clock]
    update: dict[str, object] = {"fired": [*clock.fired, checkpoint.key]}
    if checkpoint.kind == CheckpointKind.BREACH and clock.breached_at is None:
        update["breached_at"] = checkpoint.at
    clocks = {**sla.clocks, checkpoint.clock: clock.model_copy(update=update)}
    return sla.model_copy(update={"clocks": clocks})


def escalation_actions(policy: SlaPolicy, checkpoint: Checkpoint) -> list[EscalationAction]:
    if checkpoint.kind != CheckpointKind.ESCALATION or checkpoint.level is None:
        return []
    return list(policy.escalations[checkpoint.level - 1].actions)


# ---------------------------------------------------------------- summaries


@dataclass(frozen=True)
class SlaSummary:
    """What lists sort and filter by."""

    due_at: datetime | None
    """Earliest due instant of a running clock (a breached one is in the past)."""
    state: SlaStatus
    breached: bool
    dues: dict[ClockName, datetime | None]


def summary(sla: SlaState | None) -> SlaSummary:
    if sla is None or not sla.clocks:
        return SlaSummary(None, SlaStatus.NONE, False, {})
    clocks = list(sla.clocks.values())
    dues = {c.name: c.due_at for c in clocks}
    running_dues = [c.due_at for c in clocks if c.due_at is not None]
    breached = any(c.breached_at is not None for c in clocks)
    warned = any(
        c.running and any(":warning:" in key for key in c.fired) for c in clocks if not c.finished
    )
    if breached:
        state = SlaStatus.BREACHED
    elif warned:
        state = SlaStatus.AT_RISK
    elif any(c.running for c in clocks):
        state = SlaStatus.RUNNING
    elif any(not c.finished for c in clocks):
        state = SlaStatus.PAUSED
    else:
        state = SlaStatus.MET
    return SlaSummary(min(running_dues) if running_dues else None, state, breached, dues)


def clock_report(sla: SlaState, now: datetime) -> dict[str, dict[str, object]]:
    """Every clock as plain data for the projection and the UI (business seconds)."""
    cal = sla.policy.calendar
    report: dict[str, dict[str, object]] = {}
    for name, clock in sla.clocks.items():
        elapsed = elapsed_at(cal, clock, now)
        report[name.value] = {
            "state": clock.state.value,
            "cycle": clock.cycle,
            "target_seconds": clock.target.total_seconds(),
            "elapsed_seconds": elapsed.total_seconds(),
            "remaining_seconds": (clock.target - elapsed).total_seconds(),
            "paused_seconds": paused_at(cal, clock, now).total_seconds(),
            "due_at": clock.due_at.isoformat() if clock.due_at else None,
            "breached_at": clock.breached_at.isoformat() if clock.breached_at else None,
            "met_at": clock.met_at.isoformat() if clock.met_at else None,
            "outcome": (
                ClockStatus.BREACHED.value
                if clock.breached_at is not None
                else ClockStatus.MET.value
                if clock.met_at is not None
                else None
            ),
        }
    return report
