"""SLA clocks over business time: pure functions, property-tested on random calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from tests.workflows.test_business_time import SETTINGS, calendars, instants
from workflows.business_time import (
    BusinessCalendar,
    WorkRange,
    add_business_time,
    always_open,
    business_time_between,
)
from workflows.sla import (
    ClockName,
    EscalationAction,
    EscalationKind,
    EscalationLevel,
    ReopenRule,
    SlaPolicy,
    Targets,
    agent_replied,
    closed,
    customer_wrote,
    due_checkpoints,
    elapsed_at,
    fire,
    next_checkpoint,
    on_status,
    paused_at,
    pending_checkpoints,
    reopened,
    resolved,
    retarget,
    start_sla,
    summary,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)
targets = st.timedeltas(timedelta(minutes=1), timedelta(hours=60))


def policy(calendar: BusinessCalendar | None = None, **fields: object) -> SlaPolicy:
    defaults: dict[str, object] = {
        "id": 1,
        "calendar": calendar or always_open(),
        "targets": {
            p: Targets(first_response=HOUR * p, next_update=HOUR * 2, resolution=HOUR * 8 * p)
            for p in range(1, 6)
        },
    }
    return SlaPolicy.model_validate({**defaults, **fields})


def office() -> BusinessCalendar:
    """Mon–Fri 09:00–17:00 in Berlin."""
    day = [WorkRange(start=9 * 60, end=17 * 60)]
    return BusinessCalendar(name="office", timezone="Europe/Berlin", week=[day] * 5 + [[], []])


@given(calendar=calendars(), start=instants, target=targets, pause_after=targets, pause_for=targets)
@SETTINGS
def test_pausing_moves_the_due_instant_by_exactly_the_paused_business_time(
    calendar: BusinessCalendar,
    start: datetime,
    target: timedelta,
    pause_after: timedelta,
    pause_for: timedelta,
) -> None:
    sla = start_sla(policy(calendar, targets={3: Targets(resolution=target)}), 3, "open", start)
    due = sla.clocks[ClockName.RESOLUTION].due_at
    assert due == add_business_time(calendar, start, target)
    paused_at_instant = start + pause_after
    assume(paused_at_instant < due)
    resumed_at_instant = paused_at_instant + pause_for

    sla = on_status(sla, "open", "pending", paused_at_instant)
    clock = sla.clocks[ClockName.RESOLUTION]
    assert clock.due_at is None and clock.running_since is None
    assert not pending_checkpoints(sla), "a paused clock has nothing to wait for"
    sla = on_status(sla, "pending", "open", resumed_at_instant)

    clock = sla.clocks[ClockName.RESOLUTION]
    assert clock.due_at is not None
    paused = business_time_between(calendar, paused_at_instant, resumed_at_instant)
    assert clock.paused == paused
    assert business_time_between(calendar, due, clock.due_at) == paused
    # Elapsed business time counts only the running stretches.
    assert clock.elapsed == business_time_between(calendar, start, paused_at_instant)


@given(calendar=calendars(), start=instants, run=targets, first=targets, second=targets)
@SETTINGS
def test_a_new_priority_keeps_the_elapsed_and_paused_business_time(
    calendar: BusinessCalendar,
    start: datetime,
    run: timedelta,
    first: timedelta,
    second: timedelta,
) -> None:
    p = policy(calendar, targets={3: Targets(resolution=first), 1: Targets(resolution=second)})
    sla = start_sla(p, 3, "open", start)
    sla = on_status(sla, "open", "pending", start + run)
    sla = on_status(sla, "pending", "open", start + run * 2)
    now = start + run * 3
    before = sla.clocks[ClockName.RESOLUTION]

    sla = retarget(sla, 1, now)

    after = sla.clocks[ClockName.RESOLUTION]
    assert after.target == second
    assert after.elapsed == elapsed_at(calendar, before, now)
    assert after.paused == paused_at(calendar, before, now) == before.paused
    if after.elapsed < second:
        assert after.due_at == add_business_time(calendar, now, second - after.elapsed)
    else:
        assert after.due_at == now, "already over the new target: due at once"


def test_warnings_then_breach_then_escalations_each_fire_once() -> None:
    level = EscalationLevel(
        after=HOUR, actions=[EscalationAction(kind=EscalationKind.NOTIFY_MANAGERS)]
    )
    p = policy(
        escalations=[EscalationLevel(), level],
        targets={3: Targets(resolution=HOUR * 4), 5: Targets(resolution=HOUR * 40)},
    )
    sla = start_sla(p, 3, "open", T0)

    order = [(cp.kind.value, cp.percent or cp.level, cp.at - T0) for cp in pending_checkpoints(sla)]
    assert order == [
        ("warning", 50, HOUR * 2),
        ("warning", 75, HOUR * 3),
        ("warning", 90, HOUR * 3.6),
        ("breach", None, HOUR * 4),
        ("escalation", 1, HOUR * 4),
        ("escalation", 2, HOUR * 5),
    ]
    now = T0 + HOUR * 4
    fired = []
    while (cp := next_checkpoint(sla)) is not None and cp.at <= now:
        fired.append(cp.key)
        sla = fire(sla, cp)
    assert fired == [
        "resolution:1:warning:50",
        "resolution:1:warning:75",
        "resolution:1:warning:90",
        "resolution:1:breach",
        "resolution:1:escalation:1",
    ]
    assert due_checkpoints(sla, now) == []
    clock = sla.clocks[ClockName.RESOLUTION]
    assert clock.breached_at == T0 + HOUR * 4 and clock.state == "breached"
    # A lower priority later does not fire the warnings again; the breach stays on record.
    sla = retarget(sla, 5, now)
    assert sla.clocks[ClockName.RESOLUTION].due_at == now + HOUR * 36
    assert [cp.key for cp in pending_checkpoints(sla)] == ["resolution:1:escalation:2"]


def test_warning_thresholds_in_business_time() -> None:
    """A ticket opened Friday 16:00 (Berlin) with an 8 h target is due Monday 16:00."""
    friday_16 = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 16:00 in Berlin (CET)
    sla = start_sla(
        policy(office(), targets={3: Targets(resolution=HOUR * 8)}), 3, "new", friday_16
    )
    cps = {cp.percent or cp.kind.value: cp.at for cp in pending_checkpoints(sla)}
    assert cps[50] == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)  # Monday 12:00 Berlin
    assert cps["breach"] == datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # Monday 16:00 Berlin


def test_first_response_and_next_update() -> None:
    sla = start_sla(policy(), 3, "new", T0)
    assert set(sla.clocks) == {ClockName.FIRST_RESPONSE, ClockName.RESOLUTION}
    # The customer writing before anyone answered does not start a second clock.
    sla = customer_wrote(sla, 3, "new", T0 + HOUR)
    assert ClockName.NEXT_UPDATE not in sla.clocks

    sla = agent_replied(sla, T0 + HOUR * 2)
    first = sla.clocks[ClockName.FIRST_RESPONSE]
    assert first.met_at == T0 + HOUR * 2 and first.state == "met"
    assert first.elapsed == HOUR * 2

    sla = customer_wrote(sla, 3, "open", T0 + HOUR * 3)
    nxt = sla.clocks[ClockName.NEXT_UPDATE]
    assert nxt.running and nxt.due_at == T0 + HOUR * 5 and nxt.cycle == 1
    # A second message while still waiting keeps the first deadline.
    sla = customer_wrote(sla, 3, "open", T0 + HOUR * 4)
    assert sla.clocks[ClockName.NEXT_UPDATE].due_at == T0 + HOUR * 5
    sla = agent_replied(sla, T0 + HOUR * 4.5)
    assert sla.clocks[ClockName.NEXT_UPDATE].state == "met"
    # The next message starts a new cycle with the full target.
    sla = customer_wrote(sla, 3, "open", T0 + HOUR * 6)
    nxt = sla.clocks[ClockName.NEXT_UPDATE]
    assert nxt.cycle == 2 and nxt.due_at == T0 + HOUR * 8 and nxt.fired == []


def test_reopen_continues_or_restarts_the_resolution_clock() -> None:
    for rule, expected_due in ((ReopenRule.CONTINUE, T0 + HOUR * 26), (ReopenRule.RESTART, None)):
        sla = start_sla(policy(on_reopen=rule), 3, "new", T0)  # resolution target 24 h
        sla = resolved(sla, T0 + HOUR * 10)
        assert sla.clocks[ClockName.RESOLUTION].state == "met"
        assert summary(sla).state == "met" and summary(sla).due_at is None
        sla = reopened(sla, "open", T0 + HOUR * 12)
        clock = sla.clocks[ClockName.RESOLUTION]
        if rule == ReopenRule.CONTINUE:
            assert clock.cycle == 1 and clock.elapsed == HOUR * 10
            assert clock.due_at == expected_due, "the 2 h between resolve and reopen do not count"
        else:
            assert clock.cycle == 2 and clock.elapsed == timedelta(0)
            assert clock.due_at == T0 + HOUR * 12 + HOUR * 24


def test_closing_stops_every_clock_and_summary_follows_the_worst_clock() -> None:
    sla = start_sla(policy(), 3, "new", T0)
    assert summary(sla).state == "running"
    assert summary(sla).due_at == T0 + HOUR * 3  # first response, the earliest
    cp = next_checkpoint(sla)
    assert cp is not None and cp.percent == 50
    sla = fire(sla, cp)
    assert summary(sla).state == "at_risk"
    sla = on_status(sla, "open", "pending", T0 + HOUR * 2)
    assert summary(sla).state == "paused"  # a paused clock is not at risk of anything
    sla = closed(sla, T0 + HOUR * 3)
    assert all(c.state == "stopped" for c in sla.clocks.values())
    assert summary(sla).due_at is None


def test_a_clock_without_a_target_for_the_new_priority_stops() -> None:
    p = policy(targets={3: Targets(first_response=HOUR), 2: Targets(resolution=HOUR)})
    sla = start_sla(p, 3, "new", T0)
    sla = retarget(sla, 2, T0 + HOUR / 2)
    assert sla.clocks[ClockName.FIRST_RESPONSE].state == "stopped"


def test_a_calendar_that_cannot_answer_is_flagged_not_raised() -> None:
    short = office().model_copy(update={"last_day": T0.date() + timedelta(days=1)})
    sla = start_sla(policy(short, targets={3: Targets(resolution=HOUR * 40)}), 3, "new", T0)
    assert sla.problem is not None and "resolution" in sla.problem
    assert next_checkpoint(sla) is None
