"""Lists read PostgreSQL: filters, queues, search, sorting and cursor pagination."""

from __future__ import annotations

import uuid

from tests.factories import Directory, Person


def test_cursor_pagination_returns_every_ticket_once_in_order(directory: Directory) -> None:
    customer = directory.person("customer", directory.organisation())
    numbers = [customer.api.open_ticket(f"Ticket {i}")["number"] for i in range(7)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 3, "sort": "-created_at"}
        if cursor:
            params["cursor"] = cursor
        page = customer.api.ok("GET", "/tickets", params=params)
        seen += [t["number"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(numbers, reverse=True)
    assert pages == 3


def test_filters_by_status_priority_type_and_text(directory: Directory, agent: Person) -> None:
    customer = directory.person("customer", directory.organisation())
    word = uuid.uuid4().hex[:12]
    a = customer.api.open_ticket(f"Mailbox {word} full", type="incident", impact=1, urgency=1)
    b = customer.api.open_ticket(f"Laptop {word}", type="service_request")
    c = customer.api.open_ticket("Unrelated", description=f"mentions {word} in the text")
    agent.api.ok("POST", f"/tickets/{b['number']}/pend", json={"reason": "order placed"})

    def numbers(**params: object) -> set[int]:
        page = agent.api.ok("GET", "/tickets", params={"q": word, "limit": 50, **params})
        return {t["number"] for t in page["items"]}

    assert numbers() == {a["number"], b["number"], c["number"]}
    assert numbers(status="pending") == {b["number"]}
    assert numbers(status=["new", "open"]) == {a["number"], c["number"]}
    assert numbers(priority=1) == {a["number"]}
    assert numbers(type="service_request") == {b["number"]}
    assert numbers(q=str(a["number"])) == {a["number"]}


def test_queues_mine_groups_unassigned(directory: Directory) -> None:
    me, colleague = directory.person("agent"), directory.person("agent")
    group = directory.group(members=[me])
    other_group = directory.group(members=[colleague])
    customer = directory.person("customer", directory.organisation())
    mine = customer.api.open_ticket("mine")["number"]
    ours = customer.api.open_ticket("ours")["number"]
    theirs = customer.api.open_ticket("theirs")["number"]
    me.api.ok("POST", f"/tickets/{mine}/assign", json={"assignee_id": me.id})
    me.api.ok("POST", f"/tickets/{ours}/assign", json={"group_id": group})
    me.api.ok(
        "POST",
        f"/tickets/{theirs}/assign",
        json={"group_id": other_group, "assignee_id": colleague.id},
    )

    def queue(name: str) -> set[int]:
        items = me.api.ok("GET", "/tickets", params={"queue": name, "limit": 200})["items"]
        return {t["number"] for t in items} & {mine, ours, theirs}

    assert queue("mine") == {mine}
    assert queue("groups") == {ours}
    assert queue("unassigned") == {ours}
    assert queue("all") == {mine, ours, theirs}


def test_sort_by_priority(directory: Directory) -> None:
    customer = directory.person("customer", directory.organisation())
    for impact in (3, 1, 2):
        customer.api.open_ticket(f"impact {impact}", impact=impact, urgency=impact)
    items = customer.api.ok("GET", "/tickets", params={"sort": "priority"})["items"]
    assert [t["priority"] for t in items] == [1, 3, 5]


def test_bad_list_parameters_are_422(agent: Person) -> None:
    for params, field in [
        ({"status": "sleeping"}, "status.0"),
        ({"sort": "subject"}, "sort"),
        ({"cursor": "garbage"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"priority": 9}, "priority"),
    ]:
        r = agent.api.get("/tickets", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["field"] == field, (params, r.json())
