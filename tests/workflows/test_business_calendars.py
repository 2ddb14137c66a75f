"""Business calendars of Iran, Saudi Arabia, the Emirates, Egypt and Japan: holidays from the
`holidays` package, weeks that run Saturday–Wednesday or Sunday–Thursday.

The holiday dates below are written from the official calendars, not from the package:
- Iran, 1406 SH: 1 Farvardin (Nowruz) is Sunday 21 March 2027 (the equinox falls at
  23:54 Tehran time on 20 March, after noon, so the year starts the next day); Nowruz
  is 1–4 Farvardin (21–24 March); 29 Esfand 1405, the oil nationalisation day, is
  Saturday 20 March; 12 and 13 Farvardin (Islamic Republic Day, Nature Day) are
  1 and 2 April.
- Japan, 2027 (Cabinet Office list): Showa Day Thursday 29 April, Constitution Memorial
  Day 3 May, Greenery Day 4 May, Children's Day 5 May; no substitute holiday that year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.business_time import (
    BusinessCalendar,
    WorkRange,
    add_business_time,
    business_time_between,
    next_opening,
)
from workflows.sla_config import CalendarSpec, calendar_spec_problems, resolve_calendar

TEHRAN = ZoneInfo("Asia/Tehran")
TOKYO = ZoneInfo("Asia/Tokyo")
EIGHT_TO_FOUR = [WorkRange(start=8 * 60, end=16 * 60)]
CLOSED: list[WorkRange] = []
# Monday first, as the calendar stores its week.
SATURDAY_TO_WEDNESDAY = [EIGHT_TO_FOUR] * 3 + [CLOSED, CLOSED] + [EIGHT_TO_FOUR] * 2
SUNDAY_TO_THURSDAY = [EIGHT_TO_FOUR] * 4 + [CLOSED, CLOSED, EIGHT_TO_FOUR]
WORKDAYS = {
    "saturday-wednesday": (SATURDAY_TO_WEDNESDAY, {5, 6, 0, 1, 2}),
    "sunday-thursday": (SUNDAY_TO_THURSDAY, {6, 0, 1, 2, 3}),
}

NOWRUZ_2027 = [date(2027, 3, 21), date(2027, 3, 22), date(2027, 3, 23), date(2027, 3, 24)]
OIL_NATIONALISATION_2027 = date(2027, 3, 20)
GOLDEN_WEEK_2027 = [date(2027, 4, 29), date(2027, 5, 3), date(2027, 5, 4), date(2027, 5, 5)]


def iran(around: date = date(2027, 3, 17)) -> BusinessCalendar:
    spec = CalendarSpec(
        name="Tehran office",
        timezone="Asia/Tehran",
        week=SATURDAY_TO_WEDNESDAY,
        holiday_country="IR",
    )
    assert calendar_spec_problems(spec) == []
    return resolve_calendar(spec, around)


def test_nowruz_2027_and_the_days_around_it_are_days_off_in_iran() -> None:
    days_off = iran().days_off
    for day in [OIL_NATIONALISATION_2027, *NOWRUZ_2027, date(2027, 4, 1), date(2027, 4, 2)]:
        assert day in days_off, day
    # The week after Nowruz is working time again (Thursday and Friday are the weekend).
    assert not {date(2027, 3, 27), date(2027, 3, 28), date(2027, 3, 29)} & set(days_off)


def test_a_ticket_opened_the_wednesday_before_nowruz_is_due_after_the_holidays() -> None:
    # Wednesday 17 March 2027, 14:00 in Tehran (UTC+3:30, no daylight saving since 2022);
    # four business hours: two on Wednesday, then Thursday and Friday (weekend),
    # Saturday (29 Esfand) and Sunday to Wednesday (Nowruz) are off, so the last two
    # hours are Saturday 27 March 08:00–10:00.
    opened = datetime(2027, 3, 17, 14, 0, tzinfo=TEHRAN)
    due = add_business_time(iran(), opened, timedelta(hours=4))
    assert due == datetime(2027, 3, 27, 10, 0, tzinfo=TEHRAN)
    assert due == datetime(2027, 3, 27, 6, 30, tzinfo=UTC)
    assert business_time_between(iran(), opened, due) == timedelta(hours=4)
    assert next_opening(iran(), datetime(2027, 3, 17, 16, 0, tzinfo=TEHRAN)) == datetime(
        2027, 3, 27, 8, 0, tzinfo=TEHRAN
    )


def test_golden_week_2027_is_off_in_japan() -> None:
    spec = CalendarSpec(
        name="Tokyo office",
        timezone="Asia/Tokyo",
        week=[[WorkRange(start=9 * 60, end=18 * 60)]] * 5 + [CLOSED, CLOSED],
        holiday_country="JP",
    )
    assert calendar_spec_problems(spec) == []
    calendar = resolve_calendar(spec, date(2027, 4, 28))
    for day in GOLDEN_WEEK_2027:
        assert day in calendar.days_off, day
    # Wednesday 28 April 17:00: one hour that day, Thursday 29 April (Showa Day) off,
    # Friday 30 April nine hours, the weekend, 3–5 May off: the last two hours fall
    # on Thursday 6 May.
    opened = datetime(2027, 4, 28, 17, 0, tzinfo=TOKYO)
    due = add_business_time(calendar, opened, timedelta(hours=12))
    assert due == datetime(2027, 5, 6, 11, 0, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("country", "day", "week"),
    [
        ("IR", date(2027, 3, 21), SATURDAY_TO_WEDNESDAY),  # Nowruz
        ("SA", date(2027, 9, 23), SUNDAY_TO_THURSDAY),  # Saudi National Day
        ("AE", date(2027, 12, 2), [EIGHT_TO_FOUR] * 5 + [CLOSED, CLOSED]),  # National Day
        ("EG", date(2027, 7, 23), SUNDAY_TO_THURSDAY),  # Revolution Day
        ("JP", date(2027, 5, 3), [EIGHT_TO_FOUR] * 5 + [CLOSED, CLOSED]),  # Constitution Day
    ],
)
def test_each_seed_country_is_accepted_with_its_week_and_knows_its_national_day(
    country: str, day: date, week: list[list[WorkRange]]
) -> None:
    spec = CalendarSpec(name=country, timezone="UTC", week=week, holiday_country=country)
    assert calendar_spec_problems(spec) == []
    assert day in resolve_calendar(spec, day).days_off


def test_every_country_the_holidays_package_knows_is_accepted_and_resolves() -> None:
    codes = sorted(holidays.list_supported_countries())
    assert {"IR", "SA", "AE", "EG", "JP", "IRN", "JPN"} <= set(codes)
    for code in codes:
        spec = CalendarSpec(name=code, week=SUNDAY_TO_THURSDAY, holiday_country=code)
        assert calendar_spec_problems(spec) == [], code
        assert resolve_calendar(spec, date(2027, 3, 17)).first_day == date(2027, 3, 10)


def test_an_unknown_country_names_the_field() -> None:
    spec = CalendarSpec(name="x", week=SUNDAY_TO_THURSDAY, holiday_country="ir")
    assert calendar_spec_problems(spec) == [
        ("holiday_country", "'ir' is not a country code the holidays package knows; 'IR' is")
    ]


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
weeks = st.sampled_from(sorted(WORKDAYS))
zones = st.sampled_from(["Asia/Tehran", "Asia/Riyadh", "Asia/Dubai", "Africa/Cairo"])
instants = st.datetimes(datetime(2026, 1, 1), datetime(2028, 6, 30), timezones=st.just(UTC))
durations = st.timedeltas(timedelta(0), timedelta(hours=120))


def week_calendar(week: str, zone: str, days_off: list[date]) -> BusinessCalendar:
    return BusinessCalendar(
        timezone=zone,
        week=WORKDAYS[week][0],
        days_off=days_off,
        first_day=date(2025, 12, 1),
        last_day=date(2030, 12, 31),
    )


@SETTINGS
@given(
    weeks,
    zones,
    instants,
    durations,
    st.lists(st.dates(date(2026, 1, 1), date(2028, 12, 31)), max_size=20),
)
def test_time_is_only_counted_on_the_week_s_working_days(
    week: str, zone: str, start: datetime, duration: timedelta, days_off: list[date]
) -> None:
    calendar = week_calendar(week, zone, sorted(set(days_off)))
    due = add_business_time(calendar, start, duration)
    assert business_time_between(calendar, start, due) == duration
    if duration > timedelta(0):
        last = (due - timedelta(microseconds=1)).astimezone(ZoneInfo(zone))
        assert last.weekday() in WORKDAYS[week][1], last
        assert last.date() not in calendar.days_off
        assert 8 <= last.hour < 16


@SETTINGS
@given(weeks, zones, instants)
def test_a_full_week_holds_five_working_days(week: str, zone: str, start: datetime) -> None:
    calendar = week_calendar(week, zone, [])
    # Any seven consecutive days hold the five eight-hour days, whatever day they start on;
    # days of the wall clock, since Cairo's summer time moves the instants by an hour.
    week_on = start.astimezone(ZoneInfo(zone)) + timedelta(days=7)
    assert business_time_between(calendar, start, week_on) == timedelta(hours=40)
    # Forty business hours from an opening use the whole week: one second more is the
    # first second of the same opening a week later (wall time: Cairo has summer time).
    opening = next_opening(calendar, start)
    week_later = opening.astimezone(ZoneInfo(zone)) + timedelta(days=7)
    assert add_business_time(calendar, opening, timedelta(hours=40, seconds=1)) == (
        week_later + timedelta(seconds=1)
    )
