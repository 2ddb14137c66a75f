"""SLA admin forms <-> the specs in `workflows.sla_config`.

A form sends text only. These functions read it into a `CalendarSpec` or a
`PolicySpec` (the rules themselves stay with the specs and the service), and
write a spec back as the text the form shows. What cannot even be read ("9 to
5" as hours) comes back as problems keyed by form field, with the spec read as
far as it could be, so the page can show these next to the service's own
(field, message)s in one go.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from web.i18n import N_, _
from workflows.business_time import WITHOUT_DAY, WorkRange
from workflows.choices import PRIORITIES, Status, TicketType
from workflows.sla import (
    ClockName,
    EscalationAction,
    EscalationKind,
    EscalationLevel,
    ReopenRule,
    Targets,
)
from workflows.sla_config import CalendarSpec, Conditions, DaySpec, PolicySpec
from workflows.ticket.errors import Sentence

WEEKDAY_NAMES = [
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
]
"""Catalogue messages: the page translates them where it shows them."""
CLOCKS = [c.value for c in ClockName]
SIMPLE_ACTIONS = [
    EscalationKind.NOTIFY_ASSIGNEE,
    EscalationKind.NOTIFY_GROUP_LEAD,
    EscalationKind.NOTIFY_MANAGERS,
    EscalationKind.RAISE_PRIORITY,
]
ACTION_LABELS = {
    EscalationKind.NOTIFY_ASSIGNEE: N_("Notify the assignee"),
    EscalationKind.NOTIFY_GROUP_LEAD: N_("Notify the group lead"),
    EscalationKind.NOTIFY_MANAGERS: N_("Notify managers"),
    EscalationKind.NOTIFY_USER: N_("Notify a named person"),
    EscalationKind.RAISE_PRIORITY: N_("Raise the priority"),
    EscalationKind.REASSIGN: N_("Reassign to a group"),
}
BLANK_LEVELS = 2
"""Empty escalation rows a form offers beyond the levels a policy has."""

Problems = dict[str, str]


class FormProblems(Exception):
    """Form fields that could not be read, each with what to write instead."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


# ---------------------------------------------------------------- durations and hours

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])", re.ASCII)
LONGEST = timedelta(days=100 * 366)
"""Far beyond any target the service accepts; longer text is refused before any arithmetic."""


def parse_duration(text: str) -> timedelta | None:
    """ "8h", "1h 30m", "45s", "2d" or a bare number of hours; blank is no duration."""
    text = text.strip().lower().replace(",", ".")
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text, re.ASCII):
        seconds = float(text) * 3600
    else:
        parts = _DURATION.findall(text)
        if not parts or _DURATION.sub("", text).strip():
            raise ValueError(
                _("%(text)s is not a duration; write e.g. 8h, 1h 30m, 45s or 2d", text=repr(text))
            )
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds > LONGEST.total_seconds():
        raise ValueError(_("%(text)s is far too long for a target", text=repr(text)))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta | float | None) -> str:
    """A duration as the form writes it: "1h 30m", "45s", "0s"."""
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    sign, rest = ("-" if seconds < 0 else ""), abs(round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return sign + (" ".join(parts) or "0s")


_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$", re.ASCII)


def parse_ranges(text: str) -> list[WorkRange]:
    """ "09:00-12:00, 13:00-17:00" as working ranges (order and overlap are the spec's rules)."""
    ranges = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        found = _RANGE.match(part)
        if not found:
            raise ValueError(_("%(text)s is not a range like 09:00-17:00", text=repr(part)))
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if m1 > 59 or m2 > 59:
            raise ValueError(_("%(text)s: minutes run from 00 to 59", text=repr(part)))
        ranges.append(WorkRange(start=h1 * 60 + m1, end=h2 * 60 + m2))
    return ranges


def format_ranges(ranges: list[WorkRange]) -> str:
    return ", ".join(
        f"{r.start // 60:02d}:{r.start % 60:02d}-{r.end // 60:02d}:{r.end % 60:02d}" for r in ranges
    )


# ---------------------------------------------------------------- calendars


_HOURS_PREFIX = re.compile(r"^((?:\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*,?\s*)+)(.*)$")


def _day_lines(text: str, field: str, *, with_hours: bool) -> list[DaySpec]:
    """One day a line: "2026-12-24 09:00-12:00 Christmas Eve" (hours only `with_hours`)."""
    days = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        first, _sep, rest = line.partition(" ")
        try:
            day = date.fromisoformat(first)
        except ValueError:
            raise FormProblems(
                {
                    field: _(
                        "line %(line)s: %(text)s is not a date like 2026-12-24",
                        line=number,
                        text=repr(first),
                    )
                }
            ) from None
        rest = rest.strip()
        hours: list[WorkRange] = []
        if with_hours:
            found = _HOURS_PREFIX.match(rest)
            if not found:
                raise FormProblems(
                    {
                        field: _(
                            "line %(line)s: give the day's hours, e.g. %(day)s 09:00-12:00",
                            line=number,
                            day=first,
                        )
                    }
                )
            try:
                hours = parse_ranges(found.group(1))
            except ValueError as exc:
                raise FormProblems(
                    {field: _("line %(line)s: %(problem)s", line=number, problem=exc)}
                ) from None
            rest = found.group(2).strip()
        days.append(DaySpec(day=day, hours=hours, label=rest))
    return days


def calendar_from_form(form: dict[str, str]) -> tuple[CalendarSpec, Problems]:
    """The calendar a form describes (unreadable fields left empty) and what was unreadable."""
    problems: Problems = {}
    week: list[list[WorkRange]] = []
    for index in range(7):
        try:
            week.append(parse_ranges(form.get(f"week.{index}", "")))
        except ValueError as exc:
            problems[f"week.{index}"] = str(exc)
            week.append([])
    days: list[DaySpec] = []
    for field, with_hours in (("days_off", False), ("special_days", True)):
        try:
            days += _day_lines(form.get(field, ""), field, with_hours=with_hours)
        except FormProblems as exc:
            problems.update(exc.problems)
    spec = CalendarSpec(
        name=form.get("name", "").strip(),
        timezone=form.get("timezone", "").strip(),
        week=week,
        holiday_country=form.get("holiday_country", "").strip().upper() or None,
        holiday_subdivision=form.get("holiday_subdivision", "").strip().upper() or None,
        days=days,
    )
    return spec, problems


def calendar_to_form(spec: CalendarSpec) -> dict[str, str]:
    form = {
        "name": spec.name,
        "timezone": spec.timezone,
        "holiday_country": spec.holiday_country or "",
        "holiday_subdivision": spec.holiday_subdivision or "",
        "days_off": "\n".join(
            f"{d.day.isoformat()} {d.label}".strip() for d in spec.days if not d.hours
        ),
        "special_days": "\n".join(
            f"{d.day.isoformat()} {format_ranges(d.hours)} {d.label}".strip()
            for d in spec.days
            if d.hours
        ),
    }
    for index, ranges in enumerate(spec.week):
        form[f"week.{index}"] = format_ranges(ranges)
    return form


_WEEKDAY_PROBLEM = re.compile(r"^weekday (\d): (.*)$", re.S)
_DAY_PROBLEM = re.compile(r"^\d{4}-\d{2}-\d{2}: range ")


def calendar_problem(field: str, message: str) -> tuple[str, str]:
    """A service problem about a calendar as the form field that shows it, and the message.

    The service says "week" and "weekday 2: ..."; the form has a field per day.
    Ranges of a dated day can only be a special day's hours.
    """
    found = _WEEKDAY_PROBLEM.match(message)
    if field == "week" and found:
        return f"week.{found.group(1)}", _without_day(message, found.group(2))
    if field == "days" and _DAY_PROBLEM.match(message):
        return "special_days", message
    if field.startswith("days"):
        return "days", message
    return field, message


def _without_day(message: str, rest: str) -> str:
    """A weekday's problem without its "weekday n: ", as the sentence a page translates."""
    if isinstance(message, Sentence) and message.message_id in WITHOUT_DAY:
        params = {k: v for k, v in message.params.items() if k not in ("weekday", "day")}
        return Sentence(WITHOUT_DAY[message.message_id], **params)
    return rest


# ---------------------------------------------------------------- policies


def _number(text: object) -> int | None:
    """A form's whole number, or None: ASCII digits only ("²" is a digit to Python) and
    short enough to be an id, so int() can never raise on what a client sends."""
    value = str(text)
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None


def _ids(form: Any, name: str) -> list[int]:
    """Chosen ids in id order: options come in display order, and the same choice must
    make the same policy (a changed policy gets a new version)."""
    return sorted({n for n in map(_number, form.getlist(name)) if n is not None})


MAX_LEVELS = 20


def escalation_rows(form: Any) -> int:
    text = str(form.get("escalation_rows", "0"))
    return min(_number(text) or 0, MAX_LEVELS)


def policy_from_form(form: Any) -> tuple[PolicySpec, list[int], Problems]:
    """The policy a form describes, for each of its escalation levels the form row, and
    the fields that could not be read (left out of the spec).

    `form` is the request's form (a multi-dict: checkboxes and multi-selects repeat).
    Blank escalation rows are skipped, so level 2 of the policy may be row 3 of the form.
    """
    problems: Problems = {}

    def duration(field: str) -> timedelta | None:
        try:
            return parse_duration(str(form.get(field, "")))
        except ValueError as exc:
            problems[field] = str(exc)
            return None

    targets: dict[int, Targets] = {}
    for priority in PRIORITIES:
        values = {c: duration(f"targets.{priority}.{c}") for c in CLOCKS}
        if any(v is not None for v in values.values()):
            targets[priority] = Targets(**values)
    warnings: list[int] = []
    for part in str(form.get("warnings", "")).replace(";", ",").split(","):
        part = part.strip().rstrip("%").strip()
        if not part:
            continue
        percent = _number(part)
        if percent is None:
            problems["warnings"] = _(
                "%(text)s is not a whole percentage; write e.g. 50, 75, 90", text=repr(part)
            )
            break
        warnings.append(percent)
    escalations: list[EscalationLevel] = []
    rows: list[int] = []
    for index in range(1, escalation_rows(form) + 1):
        where = f"escalations.{index}"
        kinds = [EscalationKind(k) for k in form.getlist(f"{where}.actions") if k in _KINDS]
        actions = [EscalationAction(kind=k) for k in kinds]
        for user_id in _ids(form, f"{where}.user_ids"):
            actions.append(EscalationAction(kind=EscalationKind.NOTIFY_USER, user_id=user_id))
        group_id = _number(form.get(f"{where}.group_id", ""))
        if group_id is not None:
            actions.append(EscalationAction(kind=EscalationKind.REASSIGN, group_id=group_id))
        after_text = str(form.get(f"{where}.after", "")).strip()
        if not actions and not after_text:
            continue  # an unused row
        after = duration(f"{where}.after") or timedelta(0)
        clocks = [ClockName(c) for c in form.getlist(f"{where}.clocks") if c in CLOCKS]
        escalations.append(EscalationLevel(after=after, actions=actions, clocks=clocks))
        rows.append(index)
    reminders_text = str(form.get("close_after_reminders", "")).strip()
    close_after = _number(reminders_text) if reminders_text else None
    if reminders_text and close_after is None:
        problems["close_after_reminders"] = _(
            "%(text)s is not a whole number", text=repr(reminders_text)
        )
    calendar = _number(form.get("calendar_id", ""))
    if calendar is None:
        problems["calendar_id"] = _("choose a calendar")
    statuses = {s.value for s in Status}
    types = {t.value for t in TicketType}
    spec = PolicySpec(
        name=str(form.get("name", "")).strip(),
        description=str(form.get("description", "")).strip(),
        calendar_id=calendar or 0,
        is_default="is_default" in form,
        active="active" in form,
        conditions=Conditions(
            types=[TicketType(t) for t in form.getlist("conditions.types") if t in types],
            priorities=[p for p in _ids(form, "conditions.priorities") if p in PRIORITIES],
            service_ids=_ids(form, "conditions.service_ids"),
            organisation_ids=_ids(form, "conditions.organisation_ids"),
            group_ids=_ids(form, "conditions.group_ids"),
        ),
        targets=targets,
        pause_statuses=[Status(s) for s in form.getlist("pause_statuses") if s in statuses],
        warnings=warnings,
        escalations=escalations,
        on_reopen=ReopenRule(form.get("on_reopen"))
        if form.get("on_reopen") in {r.value for r in ReopenRule}
        else ReopenRule.CONTINUE,
        idle_after=duration("idle_after"),
        remind_customer_after=duration("remind_customer_after"),
        close_after_reminders=close_after,
    )
    return spec, rows, problems


_KINDS = {k.value for k in SIMPLE_ACTIONS}


def policy_to_form(spec: PolicySpec) -> dict[str, Any]:
    """What the policy form shows: texts by field name, lists for checkboxes and selects."""
    form: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "calendar_id": str(spec.calendar_id),
        "is_default": spec.is_default,
        "active": spec.active,
        "conditions.types": [t.value for t in spec.conditions.types],
        "conditions.priorities": [str(p) for p in spec.conditions.priorities],
        "conditions.service_ids": [str(i) for i in spec.conditions.service_ids],
        "conditions.organisation_ids": [str(i) for i in spec.conditions.organisation_ids],
        "conditions.group_ids": [str(i) for i in spec.conditions.group_ids],
        "pause_statuses": [s.value for s in spec.pause_statuses],
        "warnings": ", ".join(str(w) for w in spec.warnings),
        "on_reopen": spec.on_reopen.value,
        "idle_after": format_duration(spec.idle_after),
        "remind_customer_after": format_duration(spec.remind_customer_after),
        "close_after_reminders": ""
        if spec.close_after_reminders is None
        else str(spec.close_after_reminders),
        "escalations": [
            {
                "after": format_duration(level.after),
                "clocks": [c.value for c in level.clocks],
                "actions": [a.kind.value for a in level.actions if a.kind in SIMPLE_ACTIONS],
                "user_ids": [
                    str(a.user_id) for a in level.actions if a.kind == EscalationKind.NOTIFY_USER
                ],
                "group_id": next(
                    (str(a.group_id) for a in level.actions if a.kind == EscalationKind.REASSIGN),
                    "",
                ),
            }
            for level in spec.escalations
        ],
    }
    for priority, targets in spec.targets.items():
        for clock in CLOCKS:
            form[f"targets.{priority}.{clock}"] = format_duration(getattr(targets, clock))
    return form


def policy_form_from_request(form: Any) -> dict[str, Any]:
    """The policy form as sent, to show it again with its problems."""
    data: dict[str, Any] = {
        key: str(form.get(key, ""))
        for key in (
            "name",
            "description",
            "calendar_id",
            "warnings",
            "on_reopen",
            "idle_after",
            "remind_customer_after",
            "close_after_reminders",
        )
    }
    data["is_default"] = "is_default" in form
    data["active"] = "active" in form
    for key in (
        "conditions.types",
        "conditions.priorities",
        "conditions.service_ids",
        "conditions.organisation_ids",
        "conditions.group_ids",
        "pause_statuses",
    ):
        data[key] = [str(v) for v in form.getlist(key)]
    for priority in PRIORITIES:
        for clock in CLOCKS:
            key = f"targets.{priority}.{clock}"
            data[key] = str(form.get(key, ""))
    rows = escalation_rows(form)
    data["escalations"] = [
        {
            "after": str(form.get(f"escalations.{i}.after", "")),
            "clocks": [str(c) for c in form.getlist(f"escalations.{i}.clocks")],
            "actions": [str(a) for a in form.getlist(f"escalations.{i}.actions")],
            "user_ids": [str(u) for u in form.getlist(f"escalations.{i}.user_ids")],
            "group_id": str(form.get(f"escalations.{i}.group_id", "")),
        }
        for i in range(1, rows + 1)
    ]
    return data


def new_policy_form() -> dict[str, Any]:
    return policy_to_form(PolicySpec(name="", calendar_id=0)) | {"calendar_id": ""}
