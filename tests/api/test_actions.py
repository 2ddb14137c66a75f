"""Every action of the ticket's registry, through the API, the same five ways.

For each action with a route (`workflows.ticket.actions.ACTIONS`): the legal case, the
action in a state that does not allow it (409, nothing written), taken by the wrong
person (403; 404 where that person may not even see the ticket), with a bad field (422
naming it, nothing written), and the same Idempotency-Key twice (applied once, the
repeat answered like the first). A new action without a row here fails
`test_every_routed_action_has_a_row`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import Directory, Person
from workflows.ticket.actions import ACTIONS


@dataclass
class Desk:
    """The people of one test: an agent, a colleague, a customer and their group."""

    directory: Directory
    agent: Person
    colleague: Person
    customer: Person
    stranger: Person
    """A customer of another organisation."""
    admin: Person
    offering_group: int
    """A round-robin group whose only member is `agent`: its tickets are offered to them."""

    def ticket(self, **fields: Any) -> int:
        body = {"subject": f"Action test {uuid.uuid4().hex[:6]}", **fields}
        number: int = self.agent.api.open_ticket(requester_id=self.customer.id, **body)["number"]
        return number

    def do(self, number: int, path: str, body: Any = None, as_: Person | None = None) -> Any:
        person = as_ or self.agent
        return person.api.ok("POST", f"/tickets/{number}{path}", json=body or {})

    def timeline(self, number: int) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.agent.api.ok("GET", f"/tickets/{number}/timeline")
        return events


def _wait(what: Callable[[], Any], message: str) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(message)


@pytest.fixture(scope="module")
def desk(directory: Directory) -> Desk:
    agent, colleague = directory.person("agent"), directory.person("agent")
    org = directory.organisation()
    admin = directory.person("admin")
    group = admin.api.ok(
        "POST",
        "/groups",
        201,
        json={
            "name": f"Offers {uuid.uuid4().hex[:6]}",
            "member_ids": [agent.id],
            "strategy": "round_robin",
            "offer_timeout_seconds": 3600,
        },
    )["id"]
    return Desk(
        directory,
        agent,
        colleague,
        directory.person("customer", org),
        directory.person("customer", directory.organisation()),
        admin,
        group,
    )


# ---------------------------------------------------------------- how each action is prepared


def opened(desk: Desk) -> int:
    return desk.ticket()


def pending(desk: Desk) -> int:
    number = desk.ticket()
    desk.do(number, "/pend", {"reason": "Waiting"})
    return number


def resolved(desk: Desk) -> int:
    number = desk.ticket()
    desk.do(number, "/resolve", {"resolution_code": "solved"})
    return number


def offered(desk: Desk) -> int:
    number = desk.ticket(group_id=desk.offering_group)

    def offer() -> bool:
        return number in [o["number"] for o in desk.agent.api.ok("GET", "/offers")]

    _wait(offer, "the ticket is offered to the agent")
    return number


def consulted(desk: Desk) -> int:
    number = desk.ticket()
    desk.do(number, "/consults", {"colleague_id": desk.colleague.id, "message": "Seen it?"})
    return number


def consult_seq(desk: Desk, number: int) -> int:
    asked = [e for e in desk.timeline(number) if e["kind"] == "consult_asked"]
    return int(asked[-1]["seq"]) if asked else 999


def major_parent(desk: Desk) -> int:
    parent = desk.ticket()
    desk.do(parent, "/major", {"major": True})
    return parent


def soon() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


@dataclass
class Row:
    """How one action is taken legally and refused in each of the other ways."""

    path: str
    event: str
    """The timeline event the action writes."""
    legal: Callable[[Desk], int]
    body: Callable[[Desk, int], dict[str, Any]] = lambda desk, number: {}
    actor: str = "agent"
    """Who takes it legally: agent, colleague or customer."""
    illegal: Callable[[Desk], int] = resolved
    """A ticket in a state where the action is not possible (409)."""
    wrong: str = "customer"
    """Who may not take it: customer (403), colleague (403) or stranger (404, a customer
    who cannot even see the ticket)."""
    wrong_status: int = 403
    bad: Callable[[Desk, int], dict[str, Any]] = lambda desk, number: {"no_such_field": 1}
    bad_field: str = "no_such_field"
    path_of: Callable[[Desk, int], str] | None = None
    settles: bool = True
    """False: the ticket acts on by itself right after (routing the declined ticket on)."""

    def url(self, desk: Desk, number: int) -> str:
        return self.path_of(desk, number) if self.path_of else self.path


ROWS: dict[str, Row] = {
    "reply": Row(
        "/reply",
        "replied",
        opened,
        lambda d, n: {"body": "On it"},
        actor="customer",
        illegal=lambda d: (n := resolved(d), d.do(n, "/close"))[0],
        wrong="stranger",
        wrong_status=404,
        bad=lambda d, n: {"body": ""},
        bad_field="body",
    ),
    "add_note": Row(
        "/note",
        "note_added",
        opened,
        lambda d, n: {"body": "Internal"},
        illegal=lambda d: (n := resolved(d), d.do(n, "/close"))[0],
        bad=lambda d, n: {"body": "x" * 70_000},
        bad_field="body",
    ),
    "classify": Row(
        "/classify",
        "classified",
        opened,
        lambda d, n: {"impact": 1, "urgency": 2},
        bad=lambda d, n: {"impact": 7, "urgency": 2},
        bad_field="impact",
    ),
    "assign": Row(
        "/assign",
        "assigned",
        opened,
        lambda d, n: {"assignee_id": d.agent.id},
        bad=lambda d, n: {"group_id": 2_000_000_000},
        bad_field="group_id",
    ),
    "pend": Row(
        "/pend",
        "pended",
        opened,
        lambda d, n: {"reason": "Waiting for logs"},
        illegal=pending,
        bad=lambda d, n: {"reason": ""},
        bad_field="reason",
    ),
    "resume": Row("/resume", "resumed", pending, illegal=opened),
    "resolve": Row(
        "/resolve",
        "resolved",
        opened,
        lambda d, n: {"resolution_code": "workaround"},
        bad=lambda d, n: {"resolution_code": "fixed-it"},
        bad_field="resolution_code",
    ),
    "reopen": Row(
        "/reopen",
        "reopened",
        resolved,
        lambda d, n: {"reason": "Back again"},
        actor="customer",
        illegal=opened,
        wrong="stranger",
        wrong_status=404,
        bad=lambda d, n: {"reason": "x" * 1001},
        bad_field="reason",
    ),
    "close": Row("/close", "closed", resolved, illegal=opened),
    "set_major": Row(
        "/major",
        "major_set",
        opened,
        lambda d, n: {"major": True},
        bad=lambda d, n: {"major": "yes"},
        bad_field="major",
    ),
    "link_parent": Row(
        "/parent",
        "parent_linked",
        opened,
        lambda d, n: {"parent_number": major_parent(d)},
        bad=lambda d, n: {"parent_number": d.ticket()},  # not a major incident
        bad_field="parent_number",
    ),
    "consult": Row(
        "/consults",
        "consult_asked",
        opened,
        lambda d, n: {"colleague_id": d.colleague.id, "message": "Seen it?"},
        illegal=lambda d: (n := resolved(d), d.do(n, "/close"))[0],
        bad=lambda d, n: {"colleague_id": d.customer.id, "message": "Seen it?"},
        bad_field="colleague_id",
    ),
    "answer_consult": Row(
        "/consults/{seq}/answer",
        "consult_answered",
        consulted,
        lambda d, n: {"body": "Yes"},
        actor="colleague",
        illegal=opened,  # no question asked
        wrong="agent",  # the question was asked of the colleague
        bad=lambda d, n: {"body": ""},
        bad_field="body",
        path_of=lambda d, n: f"/consults/{consult_seq(d, n)}/answer",
    ),
    "set_reminder": Row(
        "/reminder",
        "reminder_set",
        opened,
        lambda d, n: {"at": soon()},
        bad=lambda d, n: {"at": "2020-01-01T09:00:00+00:00"},
        bad_field="at",
    ),
    "accept_offer": Row(
        "/offer/accept",
        "offer_accepted",
        offered,
        illegal=opened,  # offered to nobody
        wrong="colleague",
    ),
    "decline_offer": Row(
        "/offer/decline",
        "offer_declined",
        offered,
        lambda d, n: {"reason": "Busy"},
        illegal=opened,
        wrong="colleague",
        bad=lambda d, n: {"reason": "x" * 1001},
        bad_field="reason",
        settles=False,
    ),
}


def test_every_routed_action_has_a_row() -> None:
    routed = {name for name, action in ACTIONS.items() if action.route is not None}
    assert routed == set(ROWS)
    assert {name: ACTIONS[name].route.path for name in ROWS} == {  # type: ignore[union-attr]
        name: row.path.replace("{seq}", "{consult_seq}") for name, row in ROWS.items()
    }
    # The rest are not requests of their own, each for its reason (see `Action.route`).
    assert set(ACTIONS) - routed == {"attach", "apply_sla_policy", "acknowledge"}


def person(desk: Desk, who: str) -> Person:
    return {
        "agent": desk.agent,
        "colleague": desk.colleague,
        "customer": desk.customer,
        "stranger": desk.stranger,
    }[who]


def post(desk: Desk, who: str, number: int, path: str, body: dict[str, Any], **kw: Any) -> Any:
    return person(desk, who).api.post(f"/tickets/{number}{path}", json=body, **kw)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_legal(desk: Desk, name: str) -> None:
    row = ROWS[name]
    number = row.legal(desk)
    before = desk.timeline(number)
    r = post(desk, row.actor, number, row.url(desk, number), row.body(desk, number))
    assert r.status_code == 200, r.text
    assert r.json()["number"] == number
    after = desk.timeline(number)
    assert [e["kind"] for e in after[len(before) :]][:1] == [row.event]
    # The answer is the ticket as a read of it shows it afterwards.
    again = person(desk, row.actor).api.ok("GET", f"/tickets/{number}")
    if not row.settles:  # its own next change may have come in between
        again["updated_at"] = r.json()["updated_at"]
    assert r.json() == again


@pytest.mark.parametrize("name", sorted(ROWS))
def test_illegal_state_is_409_and_writes_nothing(desk: Desk, name: str) -> None:
    row = ROWS[name]
    number = row.illegal(desk)
    before = desk.timeline(number)
    r = post(desk, row.actor, number, row.url(desk, number), row.body(desk, number))
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "illegal_state" and r.json()["detail"]
    assert desk.timeline(number) == before


@pytest.mark.parametrize("name", sorted(ROWS))
def test_wrong_actor_is_refused_and_writes_nothing(desk: Desk, name: str) -> None:
    row = ROWS[name]
    number = row.legal(desk)
    before = desk.timeline(number)
    r = post(desk, row.wrong, number, row.url(desk, number), row.body(desk, number))
    assert r.status_code == row.wrong_status, r.text
    assert r.json()["code"] == ("forbidden" if row.wrong_status == 403 else "not_found")
    assert desk.timeline(number) == before


@pytest.mark.parametrize("name", sorted(ROWS))
def test_bad_field_is_422_naming_it_and_writes_nothing(desk: Desk, name: str) -> None:
    row = ROWS[name]
    number = row.legal(desk)
    before = desk.timeline(number)
    r = post(desk, row.actor, number, row.url(desk, number), row.bad(desk, number))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == row.bad_field
    assert row.bad_field in r.json()["detail"]
    assert desk.timeline(number) == before


@pytest.mark.parametrize("name", sorted(ROWS))
def test_the_same_idempotency_key_twice_is_applied_once(desk: Desk, name: str) -> None:
    row = ROWS[name]
    number = row.legal(desk)
    before = desk.timeline(number)
    key = {"Idempotency-Key": f"twice-{uuid.uuid4().hex}"}
    body = row.body(desk, number)
    first = post(desk, row.actor, number, row.url(desk, number), body, headers=key)
    second = post(desk, row.actor, number, row.url(desk, number), body, headers=key)
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert second.json()["status"] == first.json()["status"]
    written = [e["kind"] for e in desk.timeline(number)[len(before) :]]
    assert written.count(row.event) == 1, written


@pytest.mark.parametrize("public", [True, False])
def test_a_comment_with_a_repeated_idempotency_key_is_recorded_once(
    desk: Desk, public: bool
) -> None:
    """Through the comments endpoint too: an internal note was recorded twice before."""
    number = desk.ticket()
    key = {"Idempotency-Key": f"comment-{uuid.uuid4().hex}"}
    body = {"body": "Only once", "public": public}
    for _ in range(2):
        desk.agent.api.ok("POST", f"/tickets/{number}/comments", json=body, headers=key)
    kind = "replied" if public else "note_added"
    assert [e["kind"] for e in desk.timeline(number)].count(kind) == 1
