"""The write path: idempotent creation, ordered concurrent updates, continue-as-new."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client

from tests.api.test_sla import org_policy, targets
from tests.factories import Directory, Person
from workflows.ticket.workflow import TicketWorkflow


def test_same_idempotency_key_twice_gives_one_ticket(directory: Directory, agent: Person) -> None:
    key = uuid.uuid4().hex
    first = agent.api.ok(
        "POST", "/tickets", 201, json={"subject": "Once"}, headers={"Idempotency-Key": key}
    )
    again = agent.api.ok(
        "POST", "/tickets", 201, json={"subject": "Once"}, headers={"Idempotency-Key": key}
    )
    assert again["number"] == first["number"]
    rows = directory.query("SELECT count(*) FROM tickets WHERE requester_id = %s", agent.id)
    assert rows == [(1,)]


def test_concurrent_retries_with_one_key_give_one_ticket(
    directory: Directory, agent: Person
) -> None:
    key = uuid.uuid4().hex

    def create(_: int) -> int:
        response = agent.api.post(
            "/tickets", json={"subject": "Burst"}, headers={"Idempotency-Key": key}
        )
        assert response.status_code == 201, response.text
        return int(response.json()["number"])

    with ThreadPoolExecutor(10) as pool:
        numbers = set(pool.map(create, range(10)))
    assert len(numbers) == 1
    rows = directory.query("SELECT count(*) FROM tickets WHERE requester_id = %s", agent.id)
    assert rows == [(1,)]


def test_the_same_key_from_two_callers_gives_two_tickets(directory: Directory) -> None:
    a, b = directory.person("agent"), directory.person("agent")
    key = {"Idempotency-Key": "shared-key-" + uuid.uuid4().hex}
    one = a.api.ok("POST", "/tickets", 201, json={"subject": "A"}, headers=key)
    two = b.api.ok("POST", "/tickets", 201, json={"subject": "B"}, headers=key)
    assert one["number"] != two["number"]


def test_retried_action_with_idempotency_key_applies_once(agent: Person) -> None:
    number = agent.api.open_ticket()["number"]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "only once"}, headers=key)
    agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "only once"}, headers=key)
    comments = agent.api.ok("GET", f"/tickets/{number}/comments")
    assert [c["body"] for c in comments] == ["only once"]


def test_bad_idempotency_key_is_422(agent: Person) -> None:
    r = agent.api.post("/tickets", json={"subject": "x"}, headers={"Idempotency-Key": "has space"})
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"


async def test_concurrent_updates_keep_a_gap_free_sequence_across_continue_as_new(
    agent: Person, customer: Person, temporal_client: Client
) -> None:
    ticket = customer.api.open_ticket("Busy ticket")
    number = ticket["number"]
    people = [agent, customer]

    def reply(i: int) -> int:
        person = people[i % 2]
        response = person.api.post(f"/tickets/{number}/comments", json={"body": f"message {i}"})
        assert response.status_code == 200, response.text
        return int(response.status_code)

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(reply, range(60)))

    events = agent.api.ok("GET", f"/tickets/{number}/timeline")
    assert [e["seq"] for e in events] == list(range(1, 62)), [
        (e["kind"], e["data"]) for e in events if e["kind"] != "replied"
    ]
    assert sorted(e["data"]["body"] for e in events[1:]) == sorted(
        f"message {i}" for i in range(60)
    )
    row = agent.api.ok("GET", f"/tickets/{number}")
    assert row["status"] == "open"

    # The history limit of the test server is low: the workflow continued as new
    # on the way and still owns the same ticket and number.
    handle = temporal_client.get_workflow_handle(ticket["workflow_id"])
    runs = [
        run
        async for run in temporal_client.list_workflows(f"WorkflowId = '{ticket['workflow_id']}'")
    ]
    assert len(runs) >= 2, "the ticket never continued as new"
    state = await handle.query(TicketWorkflow.current)
    assert state.number == number and state.seq == 61
    after = agent.api.ok(
        "POST", f"/tickets/{number}/comments", json={"body": "after continue-as-new"}
    )
    assert after["status"] == "open"
    assert agent.api.ok("GET", f"/tickets/{number}/timeline")[-1]["seq"] == 62


async def test_retried_action_applies_once_across_continue_as_new(
    agent: Person, temporal_client: Client
) -> None:
    """Temporal recognises a repeated update id only within one run: a retry that
    reaches the ticket after it continued as new must still be answered, not applied."""
    ticket = agent.api.open_ticket("Retried across runs")
    number = ticket["number"]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"body": "sent once, retried later"}
    agent.api.ok("POST", f"/tickets/{number}/comments", json=body, headers=key)
    for i in range(60):
        agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": f"filler {i}"})
    runs = [
        run
        async for run in temporal_client.list_workflows(f"WorkflowId = '{ticket['workflow_id']}'")
    ]
    assert len(runs) >= 2, "the ticket never continued as new"

    again = agent.api.ok("POST", f"/tickets/{number}/comments", json=body, headers=key)
    assert again["status"] == "open"
    comments = agent.api.ok("GET", f"/tickets/{number}/comments")
    assert [c["body"] for c in comments].count(body["body"]) == 1
    events = agent.api.ok("GET", f"/tickets/{number}/timeline")
    assert [e["seq"] for e in events] == list(range(1, 63))


def test_the_answer_to_opening_is_the_ticket_as_stored(directory: Directory, admin: Person) -> None:
    """Creation answers from the workflow's update, not from reading the row back:
    every field (names, SLA clocks, actions) must be what a read of the row shows."""
    org = directory.organisation()
    customer = directory.person("customer", org)
    agent = directory.person("agent")
    team = directory.group(members=[agent])
    ruled = directory.group()
    service = admin.api.ok("POST", "/services", 201, json={"name": f"VPN {uuid.uuid4().hex}"})
    org_policy(admin, org, targets=targets(first_response=3600, resolution=86400))
    # Scoped to this organisation: the database is shared with other tests.
    rule = admin.api.ok(
        "POST",
        "/routing-rules",
        201,
        json={"name": "Answer", "conditions": {"organisation_ids": [org]}, "group_id": ruled},
    )
    try:
        # The opening chose the group (a routing rule), the caller is the requester.
        mine = customer.api.open_ticket("Mail is down", service_id=service["id"])
        assert mine["group"]["id"] == ruled and mine["sla_state"] == "running"
        assert mine == customer.api.ok("GET", f"/tickets/{mine['number']}")

        # Staff open one for somebody else, naming group, assignee and service.
        theirs = agent.api.open_ticket(
            "VPN drops",
            requester_id=customer.id,
            group_id=team,
            assignee_id=agent.id,
            service_id=service["id"],
            impact=1,
            urgency=1,
        )
        assert theirs["requester"] == {"id": customer.id, "name": customer.name}
        assert theirs["assignee"] == {"id": agent.id, "name": agent.name}
        assert theirs["service"]["name"] == service["name"]
        assert {c["name"] for c in theirs["sla_clocks"]} == {"first_response", "resolution"}
        assert theirs == agent.api.ok("GET", f"/tickets/{theirs['number']}")
    finally:
        admin.api.ok("DELETE", f"/routing-rules/{rule['id']}", 204)


def test_the_answer_to_each_action_is_the_ticket_as_stored(
    directory: Directory, admin: Person
) -> None:
    """Actions answer from the workflow's update too: each answer must be what a
    read of the row shows right after it."""
    org = directory.organisation()
    customer = directory.person("customer", org)
    agent, other = directory.person("agent"), directory.person("agent")
    team = directory.group(members=[agent, other])
    number = customer.api.open_ticket("Screen flickers")["number"]
    steps: list[tuple[Person, str, dict[str, object]]] = [
        (agent, "comments", {"body": "Which model?"}),
        (agent, "comments", {"body": "Looks like the cable", "public": False}),
        (agent, "classify", {"impact": 1, "urgency": 2}),
        (agent, "assign", {"group_id": team, "assignee_id": other.id}),
        (agent, "assign", {"group_id": team, "assignee_id": agent.id}),
        (agent, "pend", {"reason": "waiting for the customer"}),
        (customer, "comments", {"body": "A Dell U2720"}),
        (agent, "resolve", {"resolution_code": "solved", "note": "New cable"}),
        (customer, "reopen", {"reason": "Flickers again"}),
    ]
    for person, action, body in steps:
        answer = person.api.ok("POST", f"/tickets/{number}/{action}", json=body)
        assert answer == person.api.ok("GET", f"/tickets/{number}"), action
    assert answer["assignee"] == {"id": agent.id, "name": agent.name}
    assert answer["group"]["id"] == team and answer["status"] == "open"
