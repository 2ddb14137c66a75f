"""Routing: each new ticket of a group is offered to one agent, who accepts or declines.

Real API, worker, Temporal dev server and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.test_sla import wait_for
from tests.factories import Directory, Person


def group(admin: Person, members: list[Person], lead: Person | None = None, **fields: Any) -> int:
    body = {
        "name": f"Team {uuid.uuid4().hex[:8]}",
        "member_ids": [m.id for m in members],
        **({"lead_id": lead.id} if lead else {}),
        **fields,
    }
    group_id: int = admin.api.ok("POST", "/groups", 201, json=body)["id"]
    return group_id


def open_in(agent: Person, customer: Person, group_id: int, subject: str = "Printer") -> int:
    ticket = agent.api.ok(
        "POST",
        "/tickets",
        201,
        json={"subject": subject, "requester_id": customer.id, "group_id": group_id},
    )
    number: int = ticket["number"]
    return number


def offers(agent: Person) -> list[int]:
    return [o["number"] for o in agent.api.ok("GET", "/offers")]


def kinds(agent: Person, number: int) -> list[str]:
    return [e["kind"] for e in agent.api.ok("GET", f"/tickets/{number}/timeline")]


def test_round_robin_spreads_tickets_evenly_and_skips_the_away_agent(
    directory: Directory, admin: Person
) -> None:
    agents = [directory.person("agent") for _ in range(4)]
    away = agents[2]
    away.api.ok("PUT", "/me/availability", json={"availability": "away"})
    team = group(admin, agents, strategy="round_robin", offer_timeout_seconds=600)
    customer = directory.person("customer", directory.organisation())
    desk = directory.person("agent")
    numbers = [open_in(desk, customer, team, f"Ticket {i}") for i in range(30)]

    def all_offered() -> dict[int, list[int]] | None:
        found = {a.id: offers(a) for a in agents}
        return found if sum(len(v) for v in found.values()) == 30 else None

    offered = wait_for(all_offered, timeout=60, message="30 offers")
    assert Counter({k: len(v) for k, v in offered.items()}) == Counter(
        {agents[0].id: 10, agents[1].id: 10, agents[3].id: 10, away.id: 0}
    )
    # Each accepts what was offered to them; the tickets are theirs and open.
    for agent in agents:
        for number in offered[agent.id][:2]:
            ticket = agent.api.ok("POST", f"/tickets/{number}/offer/accept")
            assert ticket["assignee"]["id"] == agent.id and ticket["status"] == "open"
    assert set(numbers) == {n for v in offered.values() for n in v}


def test_least_loaded_offers_to_the_agent_with_the_lightest_load(
    directory: Directory, admin: Person
) -> None:
    busy, lighter, idle = (directory.person("agent") for _ in range(3))
    customer = directory.person("customer", directory.organisation())
    elsewhere = group(admin, [busy, lighter])
    for person, count in ((busy, 2), (lighter, 1)):
        for _ in range(count):
            number = open_in(busy, customer, elsewhere)
            busy.api.ok(
                "POST",
                f"/tickets/{number}/assign",
                json={"group_id": elsewhere, "assignee_id": person.id},
            )
    team = group(admin, [busy, lighter, idle], strategy="least_loaded")
    first = open_in(busy, customer, team)
    wait_for(lambda: first in offers(idle), message="offered to the idle agent")
    idle.api.ok("POST", f"/tickets/{first}/offer/accept")
    # idle now has one P3 ticket like lighter; busy still has two: busy is never chosen.
    second = open_in(busy, customer, team)
    wait_for(lambda: second in offers(lighter) + offers(idle), message="second offer")
    assert second not in offers(busy)


def test_declined_never_again_timeout_moves_on_lead_hears_when_nobody_takes_it(
    directory: Directory, admin: Person
) -> None:
    first, second = directory.person("agent"), directory.person("agent")
    lead = directory.person("agent")
    team = group(admin, [first, second], lead, strategy="round_robin", offer_timeout_seconds=5)
    customer = directory.person("customer", directory.organisation())
    number = open_in(lead, customer, team)

    wait_for(lambda: number in offers(first), message="offered to the first agent")
    assert second.api.post(f"/tickets/{number}/offer/accept").status_code == 403
    declined = first.api.ok("POST", f"/tickets/{number}/offer/decline", json={"reason": "On leave"})
    assert declined["assignee"] is None
    wait_for(lambda: number in offers(second), message="offered to the second agent")
    assert number not in offers(first)

    # The second lets it expire; nobody is left: it waits in the group, the lead is told.
    wait_for(lambda: "unrouted" in kinds(lead, number), timeout=30, message="nobody took it")
    timeline = kinds(lead, number)
    assert timeline.count("offered") == 2
    assert "offer_declined" in timeline and "offer_expired" in timeline
    ticket = lead.api.ok("GET", f"/tickets/{number}")
    assert ticket["assignee"] is None and ticket["group"]["id"] == team
    assert offers(first) == [] and offers(second) == []
    told = lead.api.ok("GET", "/notifications")
    assert any(n["kind"] == "unrouted" and str(number) in n["title"] for n in told)
    assert first.api.post(f"/tickets/{number}/offer/accept").status_code == 409


def test_a_manual_group_offers_nothing_and_availability_is_validated(
    directory: Directory, admin: Person
) -> None:
    agent = directory.person("agent")
    team = group(admin, [agent])
    customer = directory.person("customer", directory.organisation())
    number = open_in(agent, customer, team)
    agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "Looking"})
    assert "offered" not in kinds(agent, number) and offers(agent) == []
    bad = agent.api.put("/me/availability", json={"availability": "asleep"})
    assert bad.status_code == 422
    assert agent.api.ok("GET", "/me/availability")["availability"] == "online"
    assert customer.api.get("/offers").status_code == 403


def test_bulk_reassign_of_200_tickets_reports_progress_and_refusals(
    directory: Directory, admin: Person
) -> None:
    leaver, heir = directory.person("agent"), directory.person("agent")
    manager = directory.person("manager")
    customer = directory.person("customer", directory.organisation())
    team = group(admin, [leaver, heir])
    numbers = [
        leaver.api.ok(
            "POST",
            "/tickets",
            201,
            json={
                "subject": f"Handover {i}",
                "requester_id": customer.id,
                "group_id": team,
                "assignee_id": leaver.id,
            },
        )["number"]
        for i in range(200)
    ]
    body = {"from_assignee_id": leaver.id, "group_id": team, "assignee_id": heir.id, "note": "Left"}
    assert leaver.api.post("/bulk/reassign", json=body).status_code == 403
    job = manager.api.ok("POST", "/bulk/reassign", 202, json=body)
    assert job["total"] == 200

    def finished() -> dict[str, Any] | None:
        found: dict[str, Any] = manager.api.ok("GET", f"/bulk-jobs/{job['id']}")
        return found if found["status"] == "finished" else None

    done = wait_for(finished, timeout=120, message="the bulk job finishes")
    assert (done["done"], done["succeeded"], done["failures"]) == (200, 200, [])
    mine = manager.api.ok(
        "GET", "/tickets", params={"assignee_id": heir.id, "limit": 200, "status": ["new", "open"]}
    )
    assert {t["number"] for t in mine["items"]} >= set(numbers)
    note = [e for e in kinds_and_data(manager, numbers[0]) if e["kind"] == "assigned"][-1]
    assert note["data"]["note"] == "Left"

    # Named tickets are all tried; one that is closed is reported with its reason.
    manager.api.ok("POST", f"/tickets/{numbers[0]}/resolve", json={"resolution_code": "solved"})
    manager.api.ok("POST", f"/tickets/{numbers[0]}/close", json={})
    job = manager.api.ok(
        "POST",
        "/bulk/reassign",
        202,
        json={"numbers": numbers[:2], "group_id": team, "assignee_id": leaver.id},
    )
    done = wait_for(
        lambda: (
            (j := manager.api.ok("GET", f"/bulk-jobs/{job['id']}"))["status"] == "finished" and j
        )
    )
    assert done["succeeded"] == 1
    assert [f["number"] for f in done["failures"]] == [numbers[0]]
    assert "closed" in done["failures"][0]["reason"]


def kinds_and_data(agent: Person, number: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = agent.api.ok("GET", f"/tickets/{number}/timeline")
    return events


def notifications_of(person: Person, kind: str) -> list[dict[str, Any]]:
    return [n for n in person.api.ok("GET", "/notifications") if n["kind"] == kind]


def test_a_transfer_tells_its_target_and_a_consult_is_asked_and_answered(
    directory: Directory, admin: Person
) -> None:
    asking, expert, other, lead = (directory.person("agent") for _ in range(4))
    customer = directory.person("customer", directory.organisation())
    team = group(admin, [asking, expert], lead)
    number = open_in(asking, customer, team)

    asking.api.ok(
        "POST",
        f"/tickets/{number}/assign",
        json={"group_id": team, "assignee_id": expert.id, "note": "You know SAP"},
    )
    told = wait_for(lambda: notifications_of(expert, "assigned"), message="the target is told")
    assert told[0]["body"] == "You know SAP" and str(number) in told[0]["title"]
    other_team = group(admin, [other], lead)
    expert.api.ok("POST", f"/tickets/{number}/assign", json={"group_id": other_team, "note": "L2"})
    wait_for(lambda: notifications_of(lead, "transferred"), message="the group's lead is told")

    asked = asking.api.ok(
        "POST", f"/tickets/{number}/consults", json={"colleague_id": expert.id, "message": "Why?"}
    )
    assert asked["number"] == number
    questions = expert.api.ok("GET", "/consults")
    assert [(q["number"], q["message"], q["asked_by"]["id"]) for q in questions] == [
        (number, "Why?", asking.id)
    ]
    seq = questions[0]["consult_seq"]
    assert (
        other.api.post(f"/tickets/{number}/consults/{seq}/answer", json={"body": "Me?"}).status_code
        == 403
    )
    expert.api.ok("POST", f"/tickets/{number}/consults/{seq}/answer", json={"body": "Because."})
    assert expert.api.ok("GET", "/consults") == []
    timeline = asking.api.ok("GET", f"/tickets/{number}/timeline")
    exchange = [e for e in timeline if e["kind"].startswith("consult_")]
    assert [e["kind"] for e in exchange] == ["consult_asked", "consult_answered"]
    assert exchange[1]["data"]["body"] == "Because." and exchange[1]["public"] is False
    wait_for(lambda: notifications_of(asking, "consult_answered"), message="the asker hears")
    bad = asking.api.post(
        f"/tickets/{number}/consults", json={"colleague_id": customer.id, "message": "?"}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "colleague_id"


def test_remind_me_at_wakes_the_ticket_and_notifies_the_assignee(
    directory: Directory, admin: Person
) -> None:
    agent = directory.person("agent")
    customer = directory.person("customer", directory.organisation())
    number = open_in(agent, customer, group(admin, [agent]))
    agent.api.ok("POST", f"/tickets/{number}/assign", json={"assignee_id": agent.id})
    agent.api.ok("POST", f"/tickets/{number}/pend", json={"reason": "Waiting for the vendor"})
    past = agent.api.post(f"/tickets/{number}/reminder", json={"at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422 and past.json()["field"] == "at"
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    agent.api.ok("POST", f"/tickets/{number}/reminder", json={"at": soon, "note": "Chase"})
    assert [r["number"] for r in agent.api.ok("GET", "/reminders")] == [number]
    reminded = wait_for(lambda: notifications_of(agent, "reminder"), message="reminded")
    assert str(number) in reminded[0]["title"]
    assert "reminded" in kinds(agent, number)
    assert agent.api.ok("GET", "/reminders") == []


def test_routing_rules_place_new_tickets_in_a_group_with_the_skills_they_need(
    directory: Directory, admin: Person
) -> None:
    org = directory.organisation()
    customer = directory.person("customer", org)
    vpn_agent = directory.person("agent")
    vpn = group(admin, [vpn_agent], strategy="skills", skills={str(vpn_agent.id): ["vpn", "cisco"]})
    desk = group(admin, [directory.person("agent")])
    # Scoped to this test's organisation: the database is shared with other tests.
    first = admin.api.ok(
        "POST",
        "/routing-rules",
        201,
        json={
            "name": "VPN",
            "conditions": {"organisation_ids": [org], "keywords": ["vpn", "tunnel"]},
            "group_id": vpn,
            "skills": ["vpn"],
        },
    )
    fallback = admin.api.ok(
        "POST",
        "/routing-rules",
        201,
        json={
            "name": "Everything else",
            "conditions": {"organisation_ids": [org]},
            "group_id": desk,
        },
    )
    try:
        assert fallback["position"] > first["position"]
        tunnel = customer.api.open_ticket("The VPN tunnel drops")
        printer = customer.api.open_ticket("Printer jam")
        assert tunnel["group"]["id"] == vpn and printer["group"]["id"] == desk
        wait_for(lambda: tunnel["number"] in offers(vpn_agent), message="skills routing offers it")

        bad = admin.api.post("/routing-rules", json={"name": "Nowhere", "group_id": 2**31 - 1})
        assert bad.status_code == 422 and bad.json()["field"] == "group_id"
        wrong = admin.api.put("/routing-rules/order", json={"ids": [first["id"]]})
        assert wrong.status_code == 422 and wrong.json()["field"] == "ids"
        assert (
            vpn_agent.api.post("/routing-rules", json={"name": "x", "group_id": vpn}).status_code
            == 403
        )
    finally:
        for rule in (first, fallback):
            admin.api.ok("DELETE", f"/routing-rules/{rule['id']}", 204)


def test_a_groups_required_skills_add_to_the_tickets_own(
    directory: Directory, admin: Person
) -> None:
    """A German-speaking queue: every ticket needs "german", whatever else it needs."""
    english, german = directory.person("agent"), directory.person("agent")
    team = group(
        admin,
        [english, german],
        strategy="skills",
        offer_timeout_seconds=600,
        skills={str(english.id): ["printers"], str(german.id): ["printers", "german"]},
        required_skills=["german"],
    )
    listed = next(g for g in admin.api.ok("GET", "/groups") if g["id"] == team)
    assert listed["required_skills"] == ["german"]
    customer = directory.person("customer", directory.organisation())
    numbers = [open_in(english, customer, team, f"Drucker {i}") for i in range(3)]
    wait_for(lambda: set(offers(german)) == set(numbers), message="all go to the German speaker")
    assert offers(english) == []
    too_long = admin.api.post(
        "/groups",
        json={"name": f"Team {uuid.uuid4().hex[:8]}", "required_skills": ["x" * 51]},
    )
    assert too_long.status_code == 422 and "required_skills" in too_long.text
