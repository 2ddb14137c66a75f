"""The pure rule of what an alert event does to its incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflows.alerts import AlertAction, Decision, ResolveMode, decide

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FLAP = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("action", "status", "resolved_ago", "mode", "expected"),
    [
        (AlertAction.TRIGGER, None, None, ResolveMode.RESOLVE, Decision.OPEN),
        (AlertAction.TRIGGER, "new", None, ResolveMode.RESOLVE, Decision.REPEAT),
        (AlertAction.TRIGGER, "pending", None, ResolveMode.RESOLVE, Decision.REPEAT),
        (
            AlertAction.TRIGGER,
            "resolved",
            timedelta(minutes=9),
            ResolveMode.RESOLVE,
            Decision.REOPEN,
        ),
        (
            AlertAction.TRIGGER,
            "resolved",
            timedelta(minutes=10),
            ResolveMode.RESOLVE,
            Decision.REOPEN,
        ),
        (
            AlertAction.TRIGGER,
            "resolved",
            timedelta(minutes=11),
            ResolveMode.RESOLVE,
            Decision.OPEN,
        ),
        (AlertAction.TRIGGER, "closed", timedelta(minutes=1), ResolveMode.RESOLVE, Decision.OPEN),
        (AlertAction.ACKNOWLEDGE, None, None, ResolveMode.RESOLVE, Decision.IGNORE),
        (AlertAction.ACKNOWLEDGE, "new", None, ResolveMode.RESOLVE, Decision.ACKNOWLEDGE),
        (AlertAction.ACKNOWLEDGE, "pending", None, ResolveMode.RESOLVE, Decision.IGNORE),
        (AlertAction.ACKNOWLEDGE, "resolved", timedelta(0), ResolveMode.RESOLVE, Decision.IGNORE),
        (AlertAction.RESOLVE, None, None, ResolveMode.RESOLVE, Decision.IGNORE),
        (AlertAction.RESOLVE, "open", None, ResolveMode.RESOLVE, Decision.RESOLVE),
        (AlertAction.RESOLVE, "open", None, ResolveMode.NOTE, Decision.NOTE),
        (AlertAction.RESOLVE, "resolved", timedelta(0), ResolveMode.RESOLVE, Decision.IGNORE),
    ],
)
def test_decide(
    action: AlertAction,
    status: str | None,
    resolved_ago: timedelta | None,
    mode: ResolveMode,
    expected: Decision,
) -> None:
    resolved_at = NOW - resolved_ago if resolved_ago is not None else None
    assert decide(action, NOW, status, resolved_at, mode, FLAP) == expected


def test_without_a_flap_window_a_trigger_after_resolve_opens_a_new_incident() -> None:
    at = NOW + timedelta(seconds=1)
    assert decide(AlertAction.TRIGGER, at, "resolved", NOW, ResolveMode.RESOLVE, timedelta(0)) == (
        Decision.OPEN
    )


def test_a_resolve_waits_while_other_alerts_of_the_incident_fire() -> None:
    args = (AlertAction.RESOLVE, NOW, "open", None, ResolveMode.RESOLVE, FLAP)
    assert decide(*args, others_firing=True) == Decision.PARTLY
    assert decide(*args, others_firing=False) == Decision.RESOLVE
