"""Business-time maths: property tests over random calendars and instants, plus DST edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.business_time import (
    BusinessCalendar,
    CalendarError,
    WorkRange,
    add_business_time,
    always_open,
    business_time_between,
    calendar_problems,
    next_opening,
    working_intervals,
)

ZONES = [
    "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
    "Pacific/Chatham", "America/Sao_Paulo",
]  # fmt: skip
FIRST, LAST = date(2024, 1, 1), date(2030, 12, 31)


@st.composite
def day_ranges(draw: st.DrawFn) -> list[WorkRange]:
    cuts = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return [WorkRange(start=a, end=b) for a, b in zip(cuts[::2], cuts[1::2], strict=True) if b > a]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    week = [draw(day_ranges()) for _ in range(7)]
    # At least one hour a week, so the random durations below stay within the span.
    if sum(r.end - r.start for day in week for r in day) < 60:
        week[draw(st.integers(0, 6))] = [WorkRange(start=480, end=1020)]
    days = st.dates(date(2025, 1, 1), date(2028, 12, 31))
    return BusinessCalendar(
        name="random",
        timezone=draw(st.sampled_from(ZONES)),
        week=week,
        days_off=sorted(draw(st.sets(days, max_size=30))),
        special_days=draw(st.dictionaries(days, day_ranges(), max_size=10)),
        first_day=FIRST,
        last_day=LAST,
    )


instants = st.datetimes(datetime(2025, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC))
durations = st.timedeltas(timedelta(0), timedelta(hours=100))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(calendars(), instants, durations, durations)
def test_adding_is_monotonic_and_additive(
    cal: BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    assert calendar_problems(cal) == []
    first = add_business_time(cal, start, min(a, b))
    second = add_business_time(cal, start, max(a, b))
    assert start <= first <= second
    assert add_business_time(cal, add_business_time(cal, start, a), b) == add_business_time(
        cal, start, a + b
    )


@SETTINGS
@given(calendars(), instants, durations)
def test_elapsed_inverts_adding(cal: BusinessCalendar, start: datetime, d: timedelta) -> None:
    assert business_time_between(cal, start, add_business_time(cal, start, d)) == d


@SETTINGS
@given(calendars(), instants, durations.filter(lambda d: d > timedelta(0)))
def test_result_lies_in_working_hours_never_on_a_day_off(
    cal: BusinessCalendar, start: datetime, d: timedelta
) -> None:
    due = add_business_time(cal, start, d)
    # The instant just before `due` is working time on some day's range.
    just_before = due - timedelta(microseconds=1)
    local_day = just_before.astimezone(__import__("zoneinfo").ZoneInfo(cal.timezone)).date()
    candidates = [local_day - timedelta(days=1), local_day, local_day + timedelta(days=1)]
    inside = [
        day
        for day in candidates
        for begin, end in working_intervals(cal, day)
        if begin <= just_before < end
    ]
    assert inside, f"{due} is outside working hours"
    assert all(day not in cal.days_off or day in cal.special_days for day in inside)


@SETTINGS
@given(calendars(), instants)
def test_next_opening_is_working_time(cal: BusinessCalendar, instant: datetime) -> None:
    opening = next_opening(cal, instant)
    assert opening >= instant
    assert business_time_between(cal, instant, opening) == timedelta(0)
    assert business_time_between(cal, opening, opening + timedelta(minutes=1)) > timedelta(0)


@SETTINGS
@given(instants, durations)
def test_always_open_calendar_is_wall_time(start: datetime, d: timedelta) -> None:
    assert add_business_time(always_open(), start, d) == start + d


def berlin(*ranges: tuple[int, int]) -> BusinessCalendar:
    return BusinessCalendar(
        timezone="Europe/Berlin", week=[[WorkRange(start=a, end=b) for a, b in ranges]] * 7
    )


def test_spring_forward_day_is_an_hour_shorter() -> None:
    cal = berlin((0, 6 * 60))  # 00:00-06:00 local
    day = date(2026, 3, 29)  # clocks go from 02:00 to 03:00
    ((start, end),) = working_intervals(cal, day)
    assert end - start == timedelta(hours=5)
    midnight = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 00:00 local
    assert add_business_time(cal, midnight, timedelta(hours=5)) == datetime(
        2026, 3, 29, 4, 0, tzinfo=UTC
    )


def test_fall_back_day_is_an_hour_longer() -> None:
    cal = berlin((0, 6 * 60))
    day = date(2026, 10, 25)  # clocks go from 03:00 back to 02:00
    ((start, end),) = working_intervals(cal, day)
    assert end - start == timedelta(hours=7)
    assert business_time_between(cal, start, end) == timedelta(hours=7)


def test_holidays_and_half_days_are_skipped() -> None:
    cal = BusinessCalendar(
        timezone="Europe/Berlin",
        week=[[WorkRange(start=540, end=1020)]] * 5 + [[], []],
        days_off=[date(2026, 12, 25)],
        special_days={date(2026, 12, 24): [WorkRange(start=540, end=720)]},
    )
    wednesday_4pm = datetime(2026, 12, 23, 15, 0, tzinfo=UTC)
    # 1 h on Wednesday, 3 h on the half-day, Friday off, the weekend, 4 h on Monday.
    assert add_business_time(cal, wednesday_4pm, timedelta(hours=8)) == datetime(
        2026, 12, 28, 12, 0, tzinfo=UTC
    )


def test_empty_calendar_is_rejected_clearly() -> None:
    with pytest.raises(CalendarError, match="has no working hours"):
        add_business_time(
            BusinessCalendar(name="empty"), datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=1)
        )


def test_far_future_is_rejected_clearly() -> None:
    cal = berlin((540, 1020)).model_copy(
        update={"first_day": FIRST, "last_day": date(2026, 12, 31)}
    )
    with pytest.raises(CalendarError, match="outside the span"):
        add_business_time(cal, datetime(2026, 12, 30, tzinfo=UTC), timedelta(hours=100))


def test_naive_instants_and_negative_durations_are_rejected() -> None:
    with pytest.raises(CalendarError, match="time zone"):
        add_business_time(always_open(), datetime(2026, 1, 1), timedelta(hours=1))
    with pytest.raises(CalendarError, match="negative"):
        add_business_time(always_open(), datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=-1))


def test_calendar_problems_name_the_fault() -> None:
    bad = BusinessCalendar(timezone="Mars/Olympus", week=[[WorkRange(start=600, end=500)]] * 7)
    problems = calendar_problems(bad)
    assert "timezone 'Mars/Olympus' is not an IANA time zone" in problems
    assert any("range 600-500" in p for p in problems)
