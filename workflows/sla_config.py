"""SLA configuration as process owners write it, and what a ticket keeps of it.

The specs here are the one definition of a calendar and of an SLA policy: the
API, the YAML file, the admin UI and the activities all validate with them.
`resolve_calendar` turns a calendar spec into the dated `BusinessCalendar` the
clock maths needs (public holidays come from the `holidays` package, which
computes them: no I/O); `to_snapshot` makes the `SlaPolicy` a ticket keeps.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import holidays
from pydantic import BaseModel, Field

from workflows.business_time import BusinessCalendar, WorkRange, calendar_problems
from workflows.choices import N_, PRIORITIES, Status, TicketType
from workflows.sla import (
    DEFAULT_PAUSE_STATUSES,
    DEFAULT_WARNINGS,
    EscalationKind,
    EscalationLevel,
    ReopenRule,
    SlaPolicy,
    Targets,
)
from workflows.ticket.errors import Sentence

SPAN_BEFORE = timedelta(days=7)
SPAN_AFTER = timedelta(days=2 * 366)
"""A resolved calendar covers this much around the day it was resolved; a ticket open
longer than that refreshes it."""

PAUSABLE = (Status.NEW, Status.OPEN, Status.PENDING)

Problem = tuple[str, str]
"""(field, message) — the field as a dotted path, the message in words a person can act on
(a `Sentence`: English text that a page can say in its reader's language)."""

MAX_ID = 2**31 - 1
NAME_MAX = 200
LONGEST_TARGET = timedelta(days=3650)
MAX_REMINDERS = 20
"""More reminders than this is nagging, not service."""
PRIORITY_RANGE = N_("priorities run from 1 to 5")


def _text_problems(field: str, value: str, maximum: int, *, required: bool) -> list[Problem]:
    if required and not value.strip():
        return [(field, Sentence(N_("%(field)s must not be empty"), field=field))]
    if len(value) > maximum:
        return [
            (
                field,
                Sentence(
                    N_("%(field)s is longer than %(maximum)s characters"),
                    field=field,
                    maximum=maximum,
                ),
            )
        ]
    if "\x00" in value:
        return [(field, Sentence(N_("%(field)s contains a NUL character"), field=field))]
    return []


def _id_problems(field: str, values: list[int]) -> list[Problem]:
    bad = [v for v in values if not 1 <= v <= MAX_ID]
    return [(field, Sentence(N_("%(value)s is not an id"), value=str(bad[0])))] if bad else []


def _duration_problems(field: str, value: timedelta | None, *, zero_ok: bool) -> list[Problem]:
    if value is None:
        return []
    if value < timedelta(0) or (value == timedelta(0) and not zero_ok):
        if zero_ok:
            return [(field, Sentence(N_("cannot be negative")))]
        return [(field, Sentence(N_("must be longer than zero")))]
    if value > LONGEST_TARGET:
        return [(field, Sentence(N_("cannot be longer than ten years")))]
    return []


def _closed_week() -> list[list[WorkRange]]:
    return [[] for _ in range(7)]


class DaySpec(BaseModel):
    """A manual day off (no hours) or a day with its own hours (a half-day)."""

    day: date
    hours: list[WorkRange] = Field(default_factory=list)
    label: str = ""


class CalendarSpec(BaseModel):
    name: str
    timezone: str = "UTC"
    week: list[list[WorkRange]] = Field(default_factory=lambda: _closed_week())
    """Monday first; working ranges in minutes after local midnight."""
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    days: list[DaySpec] = Field(default_factory=list)


def holiday_problems(country: str | None, subdivision: str | None) -> list[Problem]:
    if country is None:
        if subdivision is not None:
            return [("holiday_subdivision", Sentence(N_("a subdivision needs a holiday_country")))]
        return []
    supported = holidays.list_supported_countries()
    if country not in supported:
        if country.upper() in supported:
            # Codes are stored as given (YAML round-trips them), so say the fix, not guess.
            message = Sentence(
                N_("%(country)s is not a country code the holidays package knows; %(fix)s is"),
                country=repr(country),
                fix=repr(country.upper()),
            )
        else:
            message = Sentence(
                N_("%(country)s is not a country code the holidays package knows"),
                country=repr(country),
            )
        return [("holiday_country", message)]
    if subdivision is not None and subdivision not in supported[country]:
        return [
            (
                "holiday_subdivision",
                Sentence(
                    N_("%(subdivision)s is not a subdivision of %(country)s; one of %(choices)s"),
                    subdivision=repr(subdivision),
                    country=country,
                    choices=list(supported[country][:30]),
                ),
            )
        ]
    return []


def calendar_spec_problems(spec: CalendarSpec) -> list[Problem]:
    """Everything wrong with a calendar, each with the field it concerns."""
    problems = _text_problems("name", spec.name, NAME_MAX, required=True)
    problems += _text_problems("timezone", spec.timezone, 64, required=True)
    for index, day in enumerate(spec.days, start=1):
        problems += _text_problems(f"days.{index}.label", day.label, NAME_MAX, required=False)
    if problems:
        return problems
    probe = BusinessCalendar(
        name=spec.name,
        timezone=spec.timezone,
        week=spec.week,
        special_days={d.day: d.hours for d in spec.days},
    )
    for message in calendar_problems(probe):
        field = "timezone" if message.startswith("timezone") else "week"
        if message[:4].isdigit():
            field = "days"
        problems.append((field, message))
    days = [d.day for d in spec.days]
    if len(days) != len(set(days)):
        problems.append(("days", Sentence(N_("a day is listed twice"))))
    has_hours = any(spec.week) or any(d.hours for d in spec.days)
    if not has_hours:
        problems.append(("week", Sentence(N_("the calendar has no working hours at all"))))
    problems += holiday_problems(spec.holiday_country, spec.holiday_subdivision)
    return problems


def resolve_calendar(spec: CalendarSpec, around: date) -> BusinessCalendar:
    """The calendar with its days off as dates, for the span around `around`."""
    first, last = around - SPAN_BEFORE, around + SPAN_AFTER
    days_off: list[date] = []
    if spec.holiday_country:
        known = holidays.country_holidays(
            spec.holiday_country,
            subdiv=spec.holiday_subdivision,
            years=range(first.year, last.year + 1),
        )
        days_off = sorted(d for d in known if first <= d <= last)
    return BusinessCalendar(
        name=spec.name,
        timezone=spec.timezone,
        week=spec.week,
        days_off=days_off,
        special_days={d.day: d.hours for d in spec.days if first <= d.day <= last},
        first_day=first,
        last_day=last,
    )


class Conditions(BaseModel):
    """Which records a policy applies to; an empty list allows anything."""

    types: list[TicketType] = Field(default_factory=list)
    priorities: list[int] = Field(default_factory=list)
    service_ids: list[int] = Field(default_factory=list)
    organisation_ids: list[int] = Field(default_factory=list)
    group_ids: list[int] = Field(default_factory=list)

    def allow(
        self,
        type_: TicketType,
        priority: int,
        service_id: int | None,
        organisation_id: int | None,
        group_id: int | None,
    ) -> bool:
        checks: list[tuple[list[Any], Any]] = [
            (self.types, type_),
            (self.priorities, priority),
            (self.service_ids, service_id),
            (self.organisation_ids, organisation_id),
            (self.group_ids, group_id),
        ]
        return all(not allowed or value in allowed for allowed, value in checks)


class PolicySpec(BaseModel):
    """An SLA policy as stored and edited. Durations are business time."""

    name: str
    description: str = ""
    calendar_id: int
    is_default: bool = False
    active: bool = True
    conditions: Conditions = Field(default_factory=Conditions)
    targets: dict[int, Targets] = Field(default_factory=dict)
    pause_statuses: list[Status] = Field(
        default_factory=lambda: [Status(s) for s in DEFAULT_PAUSE_STATUSES]
    )
    warnings: list[int] = Field(default_factory=lambda: list(DEFAULT_WARNINGS))
    escalations: list[EscalationLevel] = Field(default_factory=list)
    on_reopen: ReopenRule = ReopenRule.CONTINUE
    idle_after: timedelta | None = None
    """Business time nobody acts on an open ticket before it is idle (assignee told,
    then the group lead after as long again); None: never."""
    remind_customer_after: timedelta | None = None
    """Remind a customer the ticket waits for after this long, again after each
    interval (calendar time); None: never."""
    close_after_reminders: int | None = None
    """Close a ticket still waiting one interval after this many reminders; None: never."""


def policy_spec_problems(spec: PolicySpec) -> list[Problem]:
    """Everything wrong with a policy that can be told without the database."""
    problems = _text_problems("name", spec.name, NAME_MAX, required=True)
    problems += _text_problems("description", spec.description, 2000, required=False)
    problems += _id_problems("calendar_id", [spec.calendar_id])
    conditions = spec.conditions
    for field, ids_ in (
        ("conditions.service_ids", conditions.service_ids),
        ("conditions.organisation_ids", conditions.organisation_ids),
        ("conditions.group_ids", conditions.group_ids),
    ):
        problems += _id_problems(field, ids_)
    for priority, targets in spec.targets.items():
        if priority not in PRIORITIES:
            problems.append((f"targets.{priority}", Sentence(PRIORITY_RANGE)))
        for clock in ("first_response", "next_update", "resolution"):
            field = f"targets.{priority}.{clock}"
            problems += _duration_problems(field, getattr(targets, clock), zero_ok=False)
    if not any(
        getattr(t, c) is not None
        for t in spec.targets.values()
        for c in ("first_response", "next_update", "resolution")
    ):
        problems.append(
            ("targets", Sentence(N_("give at least one target for at least one priority")))
        )
    for status in spec.pause_statuses:
        if status not in PAUSABLE:
            problems.append(
                (
                    "pause_statuses",
                    Sentence(
                        N_("%(status)s cannot pause a clock; use new, open or pending"),
                        status=status.value,
                    ),
                )
            )
    if len(set(spec.warnings)) != len(spec.warnings) or any(not 0 < w < 100 for w in spec.warnings):
        problems.append(
            ("warnings", Sentence(N_("warnings are distinct percentages between 1 and 99")))
        )
    previous = timedelta(-1)
    for index, level in enumerate(spec.escalations, start=1):
        where = f"escalations.{index}"
        if level.after < timedelta(0):
            problems.append(
                (f"{where}.after", Sentence(N_("an escalation comes at or after the breach")))
            )
        elif level.after > LONGEST_TARGET:
            problems.append(
                (f"{where}.after", Sentence(N_("cannot be more than ten years after the breach")))
            )
        elif level.after <= previous:
            problems.append(
                (f"{where}.after", Sentence(N_("escalation levels must come in order, later each")))
            )
        previous = level.after
        if not level.actions:
            problems.append(
                (f"{where}.actions", Sentence(N_("an escalation level needs at least one action")))
            )
        if not level.clocks:
            problems.append(
                (f"{where}.clocks", Sentence(N_("name the targets this level escalates")))
            )
        for action in level.actions:
            given = [i for i in (action.user_id, action.group_id) if i is not None]
            problems += _id_problems(f"{where}.actions", given)
            if action.kind == EscalationKind.NOTIFY_USER and action.user_id is None:
                problems.append((f"{where}.actions", Sentence(N_("notify_user needs a user_id"))))
            if action.kind == EscalationKind.REASSIGN and action.group_id is None:
                problems.append((f"{where}.actions", Sentence(N_("reassign needs a group_id"))))
    problems += _duration_problems("idle_after", spec.idle_after, zero_ok=False)
    problems += _duration_problems(
        "remind_customer_after", spec.remind_customer_after, zero_ok=False
    )
    if spec.close_after_reminders is not None:
        if not 1 <= spec.close_after_reminders <= MAX_REMINDERS:
            problems.append(
                (
                    "close_after_reminders",
                    Sentence(N_("give a number from 1 to %(maximum)s"), maximum=MAX_REMINDERS),
                )
            )
        elif spec.remind_customer_after is None:
            problems.append(
                (
                    "close_after_reminders",
                    Sentence(N_("closing after reminders needs remind_customer_after")),
                )
            )
    for priority in spec.conditions.priorities:
        if priority not in PRIORITIES:
            problems.append(("conditions.priorities", Sentence(PRIORITY_RANGE)))
    return problems


def to_snapshot(
    spec: PolicySpec, policy_id: int, version: int, calendar: BusinessCalendar
) -> SlaPolicy:
    return SlaPolicy(
        id=policy_id,
        version=version,
        name=spec.name,
        calendar=calendar,
        calendar_id=spec.calendar_id,
        targets=spec.targets,
        pause_statuses=[s.value for s in spec.pause_statuses],
        warnings=list(spec.warnings),
        escalations=list(spec.escalations),
        on_reopen=spec.on_reopen,
        idle_after=spec.idle_after,
        remind_customer_after=spec.remind_customer_after,
        close_after_reminders=spec.close_after_reminders,
    )
