"""Business-time arithmetic over a calendar: plain functions, no I/O, no clock.

A calendar is a time zone, weekly working hours (several ranges a day), and
explicit days off and special days (half-days) already resolved to dates for
the span it covers — the activity that builds it asks the `holidays` package,
so this module never does. Durations are `timedelta`s and all arithmetic is
exact: `elapsed(start, add(start, d)) == d` holds to the microsecond.

Working hours are wall-clock times in the calendar's zone, so a range that
spans a DST change is one hour shorter or longer in real time, as people
experience it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

from workflows.choices import N_
from workflows.ticket.errors import Param, Sentence

MINUTES_PER_DAY = 24 * 60


class CalendarError(ValueError):
    """A calendar that cannot answer: no working time, unknown zone, or beyond its span."""


class WorkRange(BaseModel):
    """Working time within one day, in minutes after local midnight (end may be 1440)."""

    start: int
    end: int


def _closed_week() -> list[list[WorkRange]]:
    return [[] for _ in range(7)]


class BusinessCalendar(BaseModel):
    """A resolved business calendar (a wire format: add fields only with defaults)."""

    name: str = "calendar"
    timezone: str = "UTC"
    week: list[list[WorkRange]] = Field(default_factory=lambda: _closed_week())
    """Index 0 is Monday. Ranges are sorted and do not overlap."""
    days_off: list[date] = Field(default_factory=list)
    special_days: dict[date, list[WorkRange]] = Field(default_factory=dict)
    """Days with their own hours (a half-day); an empty list closes the day."""
    first_day: date = date(2000, 1, 1)
    last_day: date = date(2100, 12, 31)
    """The span for which days off are known; answers beyond it are refused."""


def always_open(name: str = "24x7") -> BusinessCalendar:
    """A calendar in which business time is wall time."""
    return BusinessCalendar(
        name=name, week=[[WorkRange(start=0, end=MINUTES_PER_DAY)] for _ in range(7)]
    )


def calendar_problems(calendar: BusinessCalendar) -> list[str]:
    """Everything wrong with a calendar, in words a process owner can act on (each a
    `Sentence`, so a page can say it in its reader's language)."""
    problems: list[str] = []
    try:
        ZoneInfo(calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            Sentence(
                N_("timezone %(timezone)s is not an IANA time zone"),
                timezone=repr(calendar.timezone),
            )
        )
    if len(calendar.week) != 7:
        problems.append(Sentence(N_("week must have 7 days, Monday first")))
    for index, ranges in enumerate(calendar.week):
        problems += _range_problems(ranges, weekday=index)
    for day, ranges in calendar.special_days.items():
        problems += _range_problems(ranges, day=day.isoformat())
    if calendar.last_day < calendar.first_day:
        problems.append(Sentence(N_("last_day is before first_day")))
    return problems


RANGE_OUT_OF_BOUNDS = N_("range %(start)s-%(end)s must lie in 0-1440 and end after it starts")
RANGES_OUT_OF_ORDER = N_("ranges overlap or are not in order")
WITHOUT_DAY = {
    N_(
        "weekday %(weekday)s: range %(start)s-%(end)s must lie in 0-1440 and end after it starts"
    ): RANGE_OUT_OF_BOUNDS,
    N_("%(day)s: range %(start)s-%(end)s must lie in 0-1440 and end after it starts"): (
        RANGE_OUT_OF_BOUNDS
    ),
    N_("weekday %(weekday)s: ranges overlap or are not in order"): RANGES_OUT_OF_ORDER,
    N_("%(day)s: ranges overlap or are not in order"): RANGES_OUT_OF_ORDER,
}
"""A day's range problem (its sentence names the day) and the same problem shown next to
the day's own field (where naming the day again would be noise)."""


def _range_problems(ranges: list[WorkRange], **day: Param) -> list[str]:
    """A day's working ranges out of bounds or out of order; `day` is `weekday=` (0 is
    Monday) or `day=` (an ISO date), each with its own sentences."""
    weekday = "weekday" in day
    named = {
        bare: sentence
        for sentence, bare in WITHOUT_DAY.items()
        if sentence.startswith("weekday") == weekday
    }
    problems: list[str] = []
    previous_end = -1
    for r in ranges:
        if not 0 <= r.start < r.end <= MINUTES_PER_DAY:
            problems.append(Sentence(named[RANGE_OUT_OF_BOUNDS], start=r.start, end=r.end, **day))
        elif r.start < previous_end:
            problems.append(Sentence(named[RANGES_OUT_OF_ORDER], **day))
        previous_end = max(previous_end, r.end)
    return problems


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"timezone {name!r} is not an IANA time zone") from exc


def _wall_to_utc(day: date, minute: int, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day, time()) + timedelta(minutes=minute)
    return local.replace(tzinfo=zone).astimezone(UTC)


def _ranges_of(calendar: BusinessCalendar, day: date) -> list[WorkRange]:
    if day in calendar.special_days:
        return calendar.special_days[day]
    if day in calendar.days_off:
        return []
    return calendar.week[day.weekday()]


def working_intervals(calendar: BusinessCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """The day's working time as UTC intervals, in order, never overlapping."""
    if day < calendar.first_day or day > calendar.last_day:
        raise CalendarError(
            f"{day.isoformat()} is outside the span of calendar {calendar.name!r} "
            f"({calendar.first_day.isoformat()} to {calendar.last_day.isoformat()})"
        )
    zone = _zone(calendar.timezone)
    intervals: list[tuple[datetime, datetime]] = []
    for r in _ranges_of(calendar, day):
        start, end = _wall_to_utc(day, r.start, zone), _wall_to_utc(day, r.end, zone)
        if intervals and start < intervals[-1][1]:
            start = intervals[-1][1]  # ambiguous wall times around a DST change
        if end > start:
            intervals.append((start, end))
    return intervals


def _has_working_time(calendar: BusinessCalendar) -> bool:
    return any(calendar.week) or any(calendar.special_days.values())


def _local_day(calendar: BusinessCalendar, instant: datetime) -> date:
    return instant.astimezone(_zone(calendar.timezone)).date()


def _intervals_from(
    calendar: BusinessCalendar, instant: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals that end after `instant`, clipped to start no earlier than it."""
    if instant.tzinfo is None:
        raise CalendarError("instants must carry a time zone")
    if not _has_working_time(calendar):
        raise CalendarError(f"calendar {calendar.name!r} has no working hours")
    # Start a day early: a late range of yesterday in a zone east of UTC may still be running.
    day = _local_day(calendar, instant) - timedelta(days=1)
    day = max(day, calendar.first_day)
    while True:
        for start, end in working_intervals(calendar, day):
            if end > instant:
                yield max(start, instant), end
        day += timedelta(days=1)


def _check(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise CalendarError("instants must carry a time zone")
    return instant.astimezone(UTC)


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The instant at which `duration` of business time has passed since `start`.

    A zero duration gives `start` itself. The result always lies within working
    hours (or at the end of a working range).
    """
    start = _check(start)
    if duration < timedelta(0):
        raise CalendarError("a business duration cannot be negative")
    if duration == timedelta(0):
        return start
    remaining = duration
    for begin, end in _intervals_from(calendar, start):
        available = end - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover - the generator ends by raising


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time elapsed from `start` to `end` (zero when `end` is not after `start`)."""
    start, end = _check(start), _check(end)
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    for begin, finish in _intervals_from(calendar, start):
        if begin >= end:
            break
        total += min(finish, end) - begin
    return total


def next_opening(calendar: BusinessCalendar, instant: datetime) -> datetime:
    """`instant` itself when within working hours, else the next time work starts."""
    instant = _check(instant)
    for begin, _ in _intervals_from(calendar, instant):
        return begin
    raise AssertionError("unreachable")  # pragma: no cover


def is_working(calendar: BusinessCalendar, instant: datetime) -> bool:
    return next_opening(calendar, instant) == _check(instant)
