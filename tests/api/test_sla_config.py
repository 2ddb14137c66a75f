"""SLA configuration through the API: calendars, policies, matching, who may do what."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from tests.api.test_sla import ALWAYS, targets
from tests.factories import Directory, Person

OFFICE = [[{"start": 540, "end": 1020}]] * 5 + [[], []]
"""Mon–Fri 09:00–17:00."""


def unique(prefix: str) -> str:
    return f"{prefix} {time.monotonic_ns()}"


def calendar(admin: Person, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("Office"), "timezone": "Europe/Berlin", "week": OFFICE, **fields}
    return admin.api.ok("POST", "/calendars", 201, json=body)


def test_calendar_preview_skips_weekends_and_public_holidays(admin: Person) -> None:
    berlin = calendar(admin, holiday_country="DE", holiday_subdivision="BE")
    # Friday 2026-12-18 16:00 CET + 8 h: 1 h on Friday, Monday 21st 7 h -> 16:00.
    start = "2026-12-18T16:00:00+01:00"
    preview = admin.api.ok(
        "GET",
        f"/calendars/{berlin['id']}/preview",
        params={"start": start, "target_seconds": 28800},
    )
    assert datetime.fromisoformat(preview["due_at"]) == datetime.fromisoformat(
        "2026-12-21T16:00:00+01:00"
    )
    # Over Christmas: 24 Dec is a working day in Berlin's law, 25 and 26 are holidays.
    start = "2026-12-24T16:00:00+01:00"
    preview = admin.api.ok(
        "GET",
        f"/calendars/{berlin['id']}/preview",
        params={"start": start, "target_seconds": 28800},
    )
    assert datetime.fromisoformat(preview["due_at"]) == datetime.fromisoformat(
        "2026-12-28T16:00:00+01:00"
    )
    assert "2026-12-25" in preview["days_off"] and "2026-12-26" in preview["days_off"]


def test_half_days_and_manual_days_off(admin: Person) -> None:
    cal = calendar(
        admin,
        days=[
            {"day": "2026-12-24", "hours": [{"start": 540, "end": 720}], "label": "Christmas Eve"},
            {"day": "2026-12-28", "hours": [], "label": "Company day off"},
        ],
    )
    assert [d["label"] for d in cal["days"]] == ["Christmas Eve", "Company day off"]
    # Thursday 24th 09:00 + 4 h: 3 h on that half-day, then 1 h on Friday 25th (no
    # holiday country is set, so it is a normal working day) -> 10:00.
    preview = admin.api.ok(
        "GET",
        f"/calendars/{cal['id']}/preview",
        params={"start": "2026-12-24T09:00:00+01:00", "target_seconds": 4 * 3600},
    )
    assert datetime.fromisoformat(preview["due_at"]) == datetime.fromisoformat(
        "2026-12-25T10:00:00+01:00"
    )
    preview = admin.api.ok(
        "GET",
        f"/calendars/{cal['id']}/preview",
        params={"start": "2026-12-25T16:00:00+01:00", "target_seconds": 2 * 3600},
    )
    due = datetime.fromisoformat(preview["due_at"])
    assert due == datetime.fromisoformat("2026-12-29T10:00:00+01:00"), "the 28th is a day off"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"week": [[{"start": 600, "end": 500}]] + [[]] * 6}, "week", "end after it starts"),
        ({"week": [[]] * 7}, "week", "no working hours"),
        ({"holiday_country": "XX"}, "holiday_country", "holidays package"),
        ({"holiday_country": "DE", "holiday_subdivision": "ZZ"}, "holiday_subdivision", "BE"),
        ({"name": "x" * 201}, "name", "longer than 200"),
    ],
)
def test_bad_calendars_name_the_field(
    admin: Person, fields: dict[str, Any], field: str, words: str
) -> None:
    body = {"name": unique("Bad"), "timezone": "UTC", "week": OFFICE, **fields}
    response = admin.api.post("/calendars", json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["field"] == field and words in error["detail"]


def test_a_policy_reports_every_problem_at_once(admin: Person) -> None:
    response = admin.api.post(
        "/sla-policies",
        json={
            "name": "",
            "calendar_id": 2**31 - 1,
            "targets": {"7": {"resolution": 60}, "2": {"first_response": 0}},
            "warnings": [50, 150],
            "pause_statuses": ["resolved"],
            "escalations": [{"after": 0, "actions": [{"kind": "reassign"}]}],
        },
    )
    assert response.status_code == 422, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "name",
        "targets.7",
        "targets.2.first_response",
        "warnings",
        "pause_statuses",
        "escalations.1.actions",
    } <= fields
    # Once the shape is right, references are checked against the database.
    response = admin.api.post(
        "/sla-policies",
        json={
            "name": unique("Refs"),
            "calendar_id": 2**31 - 1,
            "targets": targets(resolution=60),
            "conditions": {"group_ids": [2**31 - 2]},
        },
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "calendar_id",
        "conditions.group_ids",
    }


def test_only_admins_change_sla_configuration(
    admin: Person, agent: Person, customer: Person
) -> None:
    cal = calendar(admin)
    assert agent.api.get("/calendars").status_code == 200
    assert agent.api.post("/calendars", json={"name": "x", "week": OFFICE}).status_code == 403
    assert agent.api.delete(f"/calendars/{cal['id']}").status_code == 403
    assert customer.api.get("/calendars").status_code == 403
    assert customer.api.get("/sla-policies").status_code == 403
    assert agent.api.put("/sla-policies/order", json={"ids": []}).status_code == 403


def test_a_calendar_in_use_cannot_be_deleted(admin: Person, org: int) -> None:
    cal = calendar(admin)
    policy = admin.api.ok(
        "POST",
        "/sla-policies",
        201,
        json={
            "name": unique("Uses it"),
            "calendar_id": cal["id"],
            "conditions": {"organisation_ids": [org]},
            "targets": targets(resolution=3600),
        },
    )
    response = admin.api.delete(f"/calendars/{cal['id']}")
    assert response.status_code == 409 and policy["name"] in response.json()["detail"]
    admin.api.ok("DELETE", f"/sla-policies/{policy['id']}", 204)
    admin.api.ok("DELETE", f"/calendars/{cal['id']}", 204)


def test_first_matching_policy_by_order_then_the_default(
    admin: Person, directory: Directory
) -> None:
    cal = calendar(admin, timezone="UTC", week=ALWAYS)
    org = directory.organisation()
    customer = directory.person("customer", org)
    service = admin.api.ok("POST", "/services", 201, json={"name": unique("VPN")})

    def policy(name: str, seconds: int, **fields: Any) -> dict[str, Any]:
        body = {
            "name": unique(name),
            "calendar_id": cal["id"],
            "targets": targets(resolution=seconds),
            **fields,
        }
        return admin.api.ok("POST", "/sla-policies", 201, json=body)

    broad = policy("Org", 3600, conditions={"organisation_ids": [org]})
    narrow = policy(
        "Org VPN", 600, conditions={"organisation_ids": [org], "service_ids": [service["id"]]}
    )
    default = policy("Default", 7200, is_default=True)
    try:
        # Customers do not see the clocks; read them as staff.
        staff = directory.person("agent")

        def target_of(**fields: Any) -> float:
            number = customer.api.open_ticket(unique("Which policy"), **fields)["number"]
            ticket = staff.api.ok("GET", f"/tickets/{number}")
            return next(
                c["target_seconds"] for c in ticket["sla_clocks"] if c["name"] == "resolution"
            )

        assert target_of(service_id=service["id"]) == 3600, "the broad policy comes first"
        ids = [p["id"] for p in admin.api.ok("GET", "/sla-policies")]
        ids.remove(narrow["id"])
        admin.api.ok("PUT", "/sla-policies/order", json={"ids": [narrow["id"], *ids]})
        assert target_of(service_id=service["id"]) == 600, "now the narrow one is tried first"
        assert target_of() == 3600
        stranger = directory.person("customer", directory.organisation())
        number = stranger.api.open_ticket(unique("Nobody's"))["number"]
        clocks = staff.api.ok("GET", f"/tickets/{number}")["sla_clocks"]
        assert {c["name"]: c["target_seconds"] for c in clocks}["resolution"] == 7200

        # A second default takes over from the first.
        second = policy("Default 2", 9000, is_default=True)
        listed = {p["id"]: p["is_default"] for p in admin.api.ok("GET", "/sla-policies")}
        assert listed[default["id"]] is False and listed[second["id"]] is True
        admin.api.ok("DELETE", f"/sla-policies/{second['id']}", 204)
        bad = admin.api.put("/sla-policies/order", json={"ids": [narrow["id"]]})
        assert bad.status_code == 422 and bad.json()["field"] == "ids"
    finally:
        # Leave no default behind: later tests' tickets would all follow it.
        for p in (broad, narrow, default):
            admin.api.delete(f"/sla-policies/{p['id']}")


def test_tickets_carry_their_service_and_refuse_an_unknown_one(
    admin: Person, agent: Person, customer: Person
) -> None:
    vpn = admin.api.ok("POST", "/services", 201, json={"name": unique("VPN")})
    mail = admin.api.ok("POST", "/services", 201, json={"name": unique("Mail")})
    ticket = customer.api.open_ticket("Tunnel drops", service_id=vpn["id"])
    assert ticket["service"] == {"id": vpn["id"], "name": vpn["name"]}
    number = ticket["number"]
    moved = agent.api.ok(
        "POST",
        f"/tickets/{number}/classify",
        json={"impact": 2, "urgency": 2, "service_id": mail["id"]},
    )
    assert moved["service"]["id"] == mail["id"]
    kept = agent.api.ok("POST", f"/tickets/{number}/classify", json={"impact": 1, "urgency": 2})
    assert kept["service"]["id"] == mail["id"], "an omitted service stays"
    cleared = agent.api.ok(
        "POST",
        f"/tickets/{number}/classify",
        json={"impact": 1, "urgency": 2, "clear_service": True},
    )
    assert cleared["service"] is None
    response = customer.api.post("/tickets", json={"subject": "x", "service_id": 2**31 - 1})
    assert response.status_code == 422 and response.json()["field"] == "service_id"
    retired = admin.api.ok(
        "PUT", f"/services/{vpn['id']}", json={"name": vpn["name"], "active": False}
    )
    assert retired["active"] is False
    response = customer.api.post("/tickets", json={"subject": "x", "service_id": vpn["id"]})
    assert response.status_code == 422
