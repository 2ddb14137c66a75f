"""The SLA admin forms' text <-> spec conversions, without a server."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import FormData

from web.sla_forms import (
    calendar_from_form,
    calendar_to_form,
    format_duration,
    format_ranges,
    parse_duration,
    parse_ranges,
    policy_from_form,
    policy_to_form,
)
from workflows.business_time import WorkRange
from workflows.sla import EscalationKind, ReopenRule


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("8h", 8 * 3600),
        ("1h 30m", 5400),
        ("1h30m", 5400),
        ("45s", 45),
        ("2d", 2 * 86400),
        ("8", 8 * 3600),
        ("1,5", 5400),
        (" 3 S ", 3),
    ],
)
def test_durations_are_read_as_people_write_them(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["soon", "8 hours", "-1h", "1h x", "h"])
def test_an_unreadable_duration_says_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"write e\.g\. 8h, 1h 30m, 45s or 2d"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=3650 * 86400))
def test_a_duration_shown_in_the_form_reads_back_the_same(seconds: int) -> None:
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["99999999999999999999d", "1e5h", "²h", "٣h"])
def test_odd_durations_are_refused_not_crashed_on(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_duration(text)


def test_odd_numbers_in_a_policy_form_are_refused_not_crashed_on() -> None:
    form = FormData(
        [
            ("calendar_id", "²"),
            ("warnings", "٣"),
            ("escalation_rows", "9" * 5000),
            ("conditions.group_ids", "9" * 5000),
        ]
    )
    spec, rows, problems = policy_from_form(form)
    assert set(problems) == {"calendar_id", "warnings"}
    assert rows == [] and spec.conditions.group_ids == []


def test_blank_is_no_duration() -> None:
    assert parse_duration("  ") is None
    assert format_duration(None) == ""


def test_several_ranges_a_day() -> None:
    ranges = parse_ranges("09:00-12:00, 13:00 - 17:30")
    assert ranges == [WorkRange(start=540, end=720), WorkRange(start=780, end=1050)]
    assert format_ranges(ranges) == "09:00-12:00, 13:00-17:30"
    assert parse_ranges("00:00-24:00") == [WorkRange(start=0, end=1440)]
    assert parse_ranges("") == []
    with pytest.raises(ValueError, match="not a range like 09:00-17:00"):
        parse_ranges("9 to 5")
    with pytest.raises(ValueError, match="minutes run from 00 to 59"):
        parse_ranges("09:75-10:00")


def test_a_calendar_form_round_trips() -> None:
    form = {
        "name": "Berlin",
        "timezone": "Europe/Berlin",
        **{f"week.{i}": "09:00-12:00, 13:00-17:00" if i < 5 else "" for i in range(7)},
        "holiday_country": "de",
        "holiday_subdivision": "",
        "days_off": "2026-12-28 Company day off\n\n2026-12-29",
        "special_days": "2026-12-24 09:00-12:00 Christmas Eve",
    }
    spec, problems = calendar_from_form(form)
    assert problems == {}
    assert spec.holiday_country == "DE" and spec.holiday_subdivision is None
    assert [(d.day, d.label, len(d.hours)) for d in spec.days] == [
        (date(2026, 12, 28), "Company day off", 0),
        (date(2026, 12, 29), "", 0),
        (date(2026, 12, 24), "Christmas Eve", 1),
    ]
    again, _ = calendar_from_form(calendar_to_form(spec))
    assert again == spec


def test_unreadable_calendar_fields_are_named_and_the_rest_is_kept() -> None:
    spec, problems = calendar_from_form(
        {
            "name": "X",
            "timezone": "UTC",
            "week.0": "09:00-17:00",
            "week.3": "nine to five",
            "days_off": "ok\n",
            "special_days": "2026-12-24 Eve",
        }
    )
    assert set(problems) == {"week.3", "days_off", "special_days"}
    assert "line 1" in problems["days_off"] and "not a date" in problems["days_off"]
    assert "give the day's hours" in problems["special_days"]
    assert spec.week[0] == [WorkRange(start=540, end=1020)] and spec.week[3] == []


def test_a_policy_form_round_trips_and_skips_blank_escalation_rows() -> None:
    form = FormData(
        [
            ("name", "Gold"),
            ("calendar_id", "7"),
            ("active", "on"),
            ("conditions.types", "incident"),
            ("conditions.priorities", "1"),
            ("conditions.priorities", "2"),
            ("conditions.organisation_ids", "3"),
            ("targets.1.first_response", "30m"),
            ("targets.1.resolution", "4h"),
            ("pause_statuses", "pending"),
            ("warnings", "50, 75%"),
            ("escalation_rows", "3"),
            ("escalations.1.after", ""),
            ("escalations.2.after", "1h"),
            ("escalations.2.clocks", "resolution"),
            ("escalations.2.actions", "notify_assignee"),
            ("escalations.2.user_ids", "9"),
            ("escalations.2.user_ids", "11"),
            ("escalations.2.group_id", "4"),
            ("escalations.3.after", ""),
            ("on_reopen", "restart"),
        ]
    )
    spec, rows, problems = policy_from_form(form)
    assert problems == {} and rows == [2]
    assert spec.is_default is False and spec.active is True
    assert spec.conditions.priorities == [1, 2] and spec.conditions.organisation_ids == [3]
    assert spec.targets[1].resolution == timedelta(hours=4) and 2 not in spec.targets
    assert spec.warnings == [50, 75] and spec.on_reopen == ReopenRule.RESTART
    (level,) = spec.escalations
    assert level.after == timedelta(hours=1)
    assert [(a.kind, a.user_id, a.group_id) for a in level.actions] == [
        (EscalationKind.NOTIFY_ASSIGNEE, None, None),
        (EscalationKind.NOTIFY_USER, 9, None),
        (EscalationKind.NOTIFY_USER, 11, None),
        (EscalationKind.REASSIGN, None, 4),
    ]
    shown = policy_to_form(spec)
    assert shown["targets.1.first_response"] == "30m"
    assert shown["escalations"] == [
        {
            "after": "1h",
            "clocks": ["resolution"],
            "actions": ["notify_assignee"],
            "user_ids": ["9", "11"],
            "group_id": "4",
        }
    ]


def test_unreadable_policy_fields_are_named() -> None:
    form = FormData(
        [
            ("name", "Gold"),
            ("calendar_id", ""),
            ("targets.2.resolution", "soon"),
            ("warnings", "half"),
            ("escalation_rows", "999999"),
        ]
    )
    spec, rows, problems = policy_from_form(form)
    assert set(problems) == {"calendar_id", "targets.2.resolution", "warnings"}
    assert spec.targets == {} and rows == []
