"""Following tickets up: idle tickets remind their assignee then the group lead, a customer
the ticket waits for is reminded by mail and the ticket closes after the last reminder,
and an agent's working hours keep offers away outside them.

Real API, worker, Temporal dev server, PostgreSQL and an SMTP server on loopback;
second-scale durations on always-open calendars.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.test_routing import group, offers, open_in
from tests.api.test_sla import Desk, targets, wait_for
from tests.api.test_sla import desk as desk  # the fixture
from tests.factories import Directory, Person
from tests.smtp_sink import SmtpSink


def events(person: Person, number: int, kind: str) -> list[dict[str, Any]]:
    timeline = person.api.ok("GET", f"/tickets/{number}/timeline")
    return [e for e in timeline if e["kind"] == kind]


def told(person: Person, kind: str, number: int) -> list[dict[str, Any]]:
    return [
        n
        for n in person.api.ok("GET", "/notifications")
        if n["kind"] == kind and f"#{number}" in n["title"]
    ]


def test_an_idle_ticket_tells_the_assignee_then_the_lead_and_acting_ends_it(desk: Desk) -> None:
    desk.policy(targets=targets(resolution=3600), idle_after="PT3S")
    number = desk.open()["number"]
    desk.agent.api.ok(
        "POST",
        f"/tickets/{number}/assign",
        json={"group_id": desk.group, "assignee_id": desk.agent.id},
    )
    assigned = datetime.now(UTC)

    wait_for(lambda: told(desk.agent, "idle", number), timeout=30, message="assignee told")
    first = events(desk.agent, number, "idle")
    assert [e["data"]["told"] for e in first] == ["assignee"]
    assert not told(desk.lead, "idle", number), "the lead only when as long again has passed"
    ticket = desk.agent.api.ok("GET", f"/tickets/{number}")
    assert ticket["idle_since"] is not None
    assert datetime.fromisoformat(ticket["idle_since"]) >= assigned + timedelta(seconds=2)
    attention = {t["number"]: t for t in desk.agent.api.ok("GET", "/attention")}
    assert attention[number]["idle_since"] == ticket["idle_since"]

    # As long again: the group lead is told, once; then nothing more.
    wait_for(lambda: told(desk.lead, "idle", number), timeout=30, message="lead told")
    assert [e["data"]["told"] for e in events(desk.agent, number, "idle")] == [
        "assignee",
        "group_lead",
    ]
    assert number in {t["number"] for t in desk.lead.api.ok("GET", "/attention")}

    # An agent acting on it ends the idleness; the count starts again from then.
    desk.agent.api.ok(
        "POST", f"/tickets/{number}/comments", json={"body": "On it", "public": False}
    )
    ticket = desk.agent.api.ok("GET", f"/tickets/{number}")
    assert ticket["idle_since"] is None
    assert number not in {t["number"] for t in desk.agent.api.ok("GET", "/attention")}
    wait_for(lambda: len(events(desk.agent, number, "idle")) == 3, timeout=30, message="idle again")
    assert len(told(desk.agent, "idle", number)) == 2


def test_a_waiting_ticket_reminds_the_customer_by_mail_then_closes(
    desk: Desk, smtp_sink: SmtpSink
) -> None:
    desk.policy(
        targets=targets(resolution=3600), remind_customer_after="PT2S", close_after_reminders=2
    )
    number = desk.open()["number"]
    desk.agent.api.ok("POST", f"/tickets/{number}/assign", json={"assignee_id": desk.agent.id})
    desk.agent.api.ok("POST", f"/tickets/{number}/pend", json={"reason": "Which printer is it?"})
    pended = datetime.now(UTC)

    mails = smtp_sink.wait_for(desk.customer.email, count=2, timeout=30)
    reminders = events(desk.customer, number, "customer_reminded")
    assert [e["data"]["reminder"] for e in reminders] == [1, 2]
    assert all(e["public"] for e in reminders)
    first, second = (datetime.fromisoformat(e["at"]) for e in reminders)
    assert first >= pended + timedelta(seconds=1.5) and second >= first + timedelta(seconds=1.5)
    texts = [m.message.get_body(("plain",)).get_content() for m in mails]
    assert f"#{number}" in texts[0] and "after 1 more reminder." in texts[0]
    assert "will be closed" in texts[1]
    assert all(f"[TD#{number}]" in m.message["Subject"] for m in mails)

    closed = wait_for(
        lambda: (t := desk.agent.api.ok("GET", f"/tickets/{number}"))["status"] == "closed" and t,
        timeout=30,
        message="closed after the last reminder",
    )
    assert closed["status"] == "closed"
    [close] = events(desk.agent, number, "closed")
    assert close["data"]["automatic"] is True and "2 reminders" in close["data"]["reason"]
    assert len(smtp_sink.messages(desk.customer.email)) == 2, "no third mail"


def test_the_customer_answering_stops_the_reminders_and_other_waits_send_none(
    desk: Desk, smtp_sink: SmtpSink
) -> None:
    desk.policy(targets=targets(resolution=3600), remind_customer_after="PT2S")
    answered = desk.open()["number"]
    vendor = desk.open("Laptop broken")["number"]
    for number in (answered, vendor):
        desk.agent.api.ok("POST", f"/tickets/{number}/assign", json={"assignee_id": desk.agent.id})
    desk.agent.api.ok("POST", f"/tickets/{answered}/pend", json={"reason": "Which one?"})
    desk.agent.api.ok(
        "POST",
        f"/tickets/{vendor}/pend",
        json={"reason": "Waiting for the vendor", "awaiting_customer": False},
    )
    wait_for(lambda: events(desk.agent, answered, "customer_reminded"), message="reminded once")
    desk.customer.api.ok("POST", f"/tickets/{answered}/comments", json={"body": "The big one"})
    assert desk.agent.api.ok("GET", f"/tickets/{answered}")["status"] == "open"
    count = len(events(desk.agent, answered, "customer_reminded"))
    time.sleep(5)  # two more intervals: nothing may come now
    assert len(events(desk.agent, answered, "customer_reminded")) == count
    assert events(desk.agent, vendor, "customer_reminded") == []
    assert desk.agent.api.ok("GET", f"/tickets/{vendor}")["status"] == "pending"


def test_policy_follow_up_fields_are_validated_and_round_trip(desk: Desk) -> None:
    bad = desk.admin.api.post(
        "/sla-policies",
        json={
            "name": f"Bad {time.monotonic_ns()}",
            "calendar_id": desk.calendar,
            "targets": targets(resolution=60),
            "close_after_reminders": 3,
        },
    )
    assert bad.status_code == 422 and "close_after_reminders" in bad.text
    made = desk.policy(
        targets=targets(resolution=60),
        idle_after="PT4H",
        remind_customer_after="P3D",
        close_after_reminders=2,
    )
    stored = desk.admin.api.ok("GET", f"/sla-policies/{made['id']}")
    assert (stored["idle_after"], stored["remind_customer_after"]) == ("PT4H", "P3D")
    assert stored["close_after_reminders"] == 2
    exported = desk.admin.api.get("/sla/export").text
    assert "idle_after: PT4H" in exported and "close_after_reminders: 2" in exported


def test_offers_go_only_to_agents_inside_their_working_hours(
    directory: Directory, admin: Person
) -> None:
    # A zone where it is around noon now, so the test never straddles a midnight.
    utc_hour = datetime.now(UTC).hour
    offset = 12 - utc_hour  # hours ahead of UTC
    zone = f"Etc/GMT{-offset:+d}" if offset else "UTC"  # Etc/GMT signs are inverted
    today = (datetime.now(UTC) + timedelta(hours=offset)).weekday()
    week = [[{"start": 0, "end": 1440}] for _ in range(7)]
    week[today] = []  # off today
    off_today = admin.api.ok(
        "POST",
        "/calendars",
        201,
        json={"name": f"Off today {time.monotonic_ns()}", "timezone": zone, "week": week},
    )["id"]
    resting, working = directory.person("agent"), directory.person("agent")
    resting.api.ok(
        "PUT", "/me/availability", json={"availability": "online", "calendar_id": off_today}
    )
    assert resting.api.ok("GET", "/me/availability")["calendar_id"] == off_today
    bad = resting.api.put(
        "/me/availability", json={"availability": "online", "calendar_id": 2**31 - 1}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "calendar_id"

    team = group(admin, [resting, working], strategy="round_robin", offer_timeout_seconds=600)
    customer = directory.person("customer", directory.organisation())
    numbers = [open_in(working, customer, team, f"Ticket {i}") for i in range(4)]
    wait_for(lambda: len(offers(working)) == 4, message="all four offered to the one at work")
    assert offers(resting) == []

    # Back to any time: the next ticket may go to them.
    resting.api.ok("PUT", "/me/availability", json={"availability": "online"})
    later = [open_in(working, customer, team, f"Later {i}") for i in range(2)]
    wait_for(lambda: len(offers(resting)) >= 1, message="offered again once working")
    assert set(offers(resting)) <= set(later) and set(numbers) <= set(offers(working))
