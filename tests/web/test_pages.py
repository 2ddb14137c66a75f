"""The server-rendered pages over plain HTTP: forms, errors, tokens, desk settings, sessions."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import web
from api import errors
from tests.factories import PASSWORD, Directory, Person, browser_session, csrf_of
from workflows.ticket.fields import BODY_MAX


def unique(word: str) -> str:
    """A word no other ticket of the session contains (they share one database)."""
    return f"{word}{uuid.uuid4().hex[:8]}"


def field_value(page: str, name: str) -> str:
    """The value of the input called `name` (hidden or not)."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert found, f"no input {name!r} in the page"
    return html.unescape(found.group(1))


def textarea(page: str, label: str) -> str:
    found = re.search(rf'aria-label="{label}">(.*?)</textarea>', page, re.S)
    assert found, f"no textarea {label!r} in the page"
    return html.unescape(found.group(1))


def alert(page: str) -> tuple[str, str]:
    """The page's error message and the form field it names."""
    found = re.search(r'class="flash error" role="alert" data-field="([^"]*)">([^<]*)<', page)
    assert found, "the page shows no error"
    return html.unescape(found.group(2)), found.group(1)


def selected(page: str, select: str) -> str | None:
    found = re.search(rf'<select name="{select}".*?</select>', page, re.S)
    assert found, f"no select {select!r} in the page"
    option = re.search(r'<option value="([^"]*)" selected', found.group(0))
    return option.group(1) if option else None


def tickets_of(person: Person) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = person.api.ok("GET", "/tickets", params={"limit": 200})["items"]
    return items


@pytest.fixture
def customer_session(base_url: str, customer: Person) -> Iterator[httpx.Client]:
    with browser_session(base_url, customer.email) as client:
        yield client


@pytest.fixture
def agent_session(base_url: str, agent: Person) -> Iterator[httpx.Client]:
    with browser_session(base_url, agent.email) as client:
        yield client


# ---------------------------------------------------------------- new tickets


def test_customer_opens_a_ticket_from_the_portal(
    customer_session: httpx.Client, customer: Person
) -> None:
    form = customer_session.get("/tickets/new").text
    subject = unique("Need a monitor ")
    r = customer_session.post(
        "/tickets/new",
        data={
            "csrf_token": csrf_of(form),
            "idempotency_key": field_value(form, "idempotency_key"),
            "type": "service_request",
            "subject": subject,
            "description": "A 27 inch one, please.",
        },
    )
    assert r.status_code == 303
    number = int(r.headers["location"].removeprefix("/tickets/"))
    ticket = customer.api.ok("GET", f"/tickets/{number}")
    assert (ticket["subject"], ticket["type"], ticket["channel"]) == (
        subject,
        "service_request",
        "portal",
    )
    assert ticket["requester"]["id"] == customer.id
    assert subject in customer_session.get(r.headers["location"]).text
    assert f'href="/tickets/{number}"' in customer_session.get("/portal").text


def test_agent_opens_a_ticket_for_a_customer(
    agent_session: httpx.Client, agent: Person, customer: Person, directory: Directory
) -> None:
    group = directory.group(members=[agent])
    form = agent_session.get("/tickets/new").text
    assert f'<option value="{customer.id}"' in form  # customers are offered as requesters
    r = agent_session.post(
        "/tickets/new",
        data={
            "csrf_token": csrf_of(form),
            "idempotency_key": field_value(form, "idempotency_key"),
            "requester_id": str(customer.id),
            "type": "incident",
            "subject": unique("Phoned in: no e-mail "),
            "description": "",
            "impact": "1",
            "urgency": "2",
            "group_id": str(group),
            "assignee_id": str(agent.id),
        },
    )
    assert r.status_code == 303, alert(r.text)
    ticket = agent.api.ok("GET", r.headers["location"])
    assert ticket["requester"]["id"] == customer.id
    assert (ticket["group"]["id"], ticket["assignee"]["id"]) == (group, agent.id)
    assert (ticket["impact"], ticket["urgency"], ticket["channel"]) == (1, 2, "web")
    assert ticket["status"] == "open"  # assigned on opening


def test_a_refused_new_ticket_names_the_field_and_keeps_the_input(
    agent_session: httpx.Client, agent: Person, customer: Person, directory: Directory
) -> None:
    group = directory.group(members=[agent])
    form = agent_session.get("/tickets/new").text
    key = field_value(form, "idempotency_key")
    subject = unique("Half filled ")
    data = {
        "csrf_token": csrf_of(form),
        "idempotency_key": key,
        "requester_id": str(customer.id),
        "type": "incident",
        "subject": subject,
        "description": "Keep me",
        "impact": "2",
        "urgency": "7",
        "group_id": str(group),
        "assignee_id": str(agent.id),
    }
    r = agent_session.post("/tickets/new", data=data)
    assert r.status_code == 422
    message, field = alert(r.text)
    assert field == "urgency" and "urgency" in message
    assert re.search(r'<select name="urgency" aria-invalid=true>', r.text)
    # Everything typed is still there, and the retry keeps the same idempotency key.
    assert field_value(r.text, "subject") == subject
    assert "Keep me</textarea>" in r.text
    assert selected(r.text, "requester_id") == str(customer.id)
    assert selected(r.text, "group_id") == str(group)
    assert selected(r.text, "assignee_id") == str(agent.id)
    assert field_value(r.text, "idempotency_key") == key
    assert tickets_of(customer) == []

    r = agent_session.post("/tickets/new", data={**data, "urgency": "2"})
    assert r.status_code == 303
    assert [t["subject"] for t in tickets_of(customer)] == [subject]


def test_customer_sees_which_field_is_wrong(customer_session: httpx.Client) -> None:
    form = customer_session.get("/tickets/new").text
    r = customer_session.post(
        "/tickets/new",
        data={
            "csrf_token": csrf_of(form),
            "idempotency_key": field_value(form, "idempotency_key"),
            "type": "incident",
            "subject": "   ",
            "description": "The subject was only spaces",
        },
    )
    assert r.status_code == 422
    message, field = alert(r.text)
    assert field == "subject" and message == "subject must not be empty"
    assert re.search(r'<input name="subject"[^>]*aria-invalid=true', r.text)


def test_submitting_the_same_form_twice_opens_one_ticket(
    customer_session: httpx.Client, customer: Person
) -> None:
    form = customer_session.get("/tickets/new").text
    data = {
        "csrf_token": csrf_of(form),
        "idempotency_key": field_value(form, "idempotency_key"),
        "type": "incident",
        "subject": unique("Double click "),
    }
    first = customer_session.post("/tickets/new", data=data)
    second = customer_session.post("/tickets/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(tickets_of(customer)) == 1

    # The key, not the text, tells a repeat: a fresh form opens a new ticket.
    again = customer_session.get("/tickets/new").text
    assert field_value(again, "idempotency_key") != data["idempotency_key"]
    data["idempotency_key"] = field_value(again, "idempotency_key")
    third = customer_session.post("/tickets/new", data=data)
    assert third.headers["location"] != first.headers["location"]
    assert len(tickets_of(customer)) == 2


# ---------------------------------------------------------------- ticket page


def test_a_refused_internal_note_stays_out_of_the_reply_box(
    agent_session: httpx.Client, agent: Person
) -> None:
    number = agent.api.open_ticket(unique("Long note "))["number"]
    page = agent_session.get(f"/tickets/{number}").text
    note = "Internal only: " + "x" * BODY_MAX
    r = agent_session.post(
        f"/tickets/{number}/note", data={"csrf_token": csrf_of(page), "body": note}
    )
    assert r.status_code == 422
    assert alert(r.text)[1] == "body"
    assert textarea(r.text, "Internal note") == note
    assert textarea(r.text, "Reply") == ""


def test_the_pend_form_says_whether_the_ticket_waits_for_the_customer(
    agent_session: httpx.Client, agent: Person
) -> None:
    """The box is ticked by default; unticked, the customer is not reminded."""
    for ticked in (True, False):
        number = agent.api.open_ticket(unique("Waiting "))["number"]
        page = agent_session.get(f"/tickets/{number}").text
        assert 'name="awaiting_customer" value="1" checked' in page
        form = {"csrf_token": csrf_of(page), "reason": "Which printer?"}
        if ticked:
            form["awaiting_customer"] = "1"
        assert agent_session.post(f"/tickets/{number}/pend", data=form).status_code == 303
        timeline = agent.api.ok("GET", f"/tickets/{number}/timeline")
        [pended] = [e for e in timeline if e["kind"] == "pended"]
        assert pended["data"]["awaiting_customer"] is ticked


def test_queue_answers_htmx_with_the_table_only(agent_session: httpx.Client, agent: Person) -> None:
    word = unique("htmx")
    number = agent.api.open_ticket(f"Fragment {word}")["number"]
    url = f"/queue?queue=all&q={word}"
    fragment = agent_session.get(url, headers={"HX-Request": "true"})
    assert fragment.text.strip().startswith('<section id="queue-table">')
    assert "<html" not in fragment.text
    assert f'data-number="{number}"' in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    # Restoring history needs the whole page, or the back button shows a bare table.
    restore = agent_session.get(
        url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text and 'id="filters"' in restore.text


def test_odd_queue_parameters_are_ignored_not_fatal(agent_session: httpx.Client) -> None:
    for query in ("q=%00", "priority=99999999999999999999", "q=" + "a" * 5000, "sort=bogus"):
        r = agent_session.get(f"/queue?queue=all&{query}")
        assert r.status_code == 200, query


# ---------------------------------------------------------------- tokens


def test_a_new_api_token_is_shown_once_and_can_be_revoked(
    directory: Directory, agent: Person, agent_session: httpx.Client
) -> None:
    page = agent_session.get("/settings/tokens").text
    name = unique("Monitoring ")
    r = agent_session.post("/settings/tokens", data={"csrf_token": csrf_of(page), "name": name})
    assert r.status_code == 200
    found = re.search(r'<code id="new-token">([^<]+)</code>', r.text)
    assert found
    secret = found.group(1)
    assert directory.api(secret).ok("GET", "/users/me")["id"] == agent.id

    page = agent_session.get("/settings/tokens").text
    assert secret not in page
    assert f"<code>{secret[:10]}…</code>" in page
    row = re.search(rf'<tr data-token="(\d+)">\s*<td data-label="Name">{name}</td>', page)
    assert row

    r = agent_session.post(
        f"/settings/tokens/{row.group(1)}/revoke", data={"csrf_token": csrf_of(page)}
    )
    assert (r.status_code, r.headers["location"]) == (303, "/settings/tokens")
    assert directory.api(secret).get("/users/me").status_code == 401
    page = agent_session.get("/settings/tokens").text
    revoked_row = page.split(f'<tr data-token="{row.group(1)}">')[1].split("</tr>")[0]
    assert "revoked" in revoked_row and "Revoke</button>" not in revoked_row


def test_only_own_existing_tokens_can_be_revoked(
    agent_session: httpx.Client, customer: Person
) -> None:
    page = agent_session.get("/settings/tokens").text
    (other_token,) = customer.api.ok("GET", "/tokens")
    for token_id in (other_token["id"], 99999999999999999999):
        r = agent_session.post(
            f"/settings/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(page)}
        )
        assert r.status_code == 404 and "<h1>Error 404</h1>" in r.text
    assert customer.api.ok("GET", "/tokens")[0]["revoked_at"] is None


def test_a_token_needs_a_name(agent_session: httpx.Client) -> None:
    page = agent_session.get("/settings/tokens").text
    r = agent_session.post("/settings/tokens", data={"csrf_token": csrf_of(page), "name": "  "})
    assert r.status_code == 422
    message, field = alert(r.text)
    assert field == "name" and message.startswith("name:")
    assert 'id="new-token"' not in r.text


# ---------------------------------------------------------------- desk settings


def desk_form(settings: dict[str, Any], hours: str) -> dict[str, str]:
    cells = {
        f"m_{i}_{u}": str(priority)
        for i, row in enumerate(settings["priority_matrix"], start=1)
        for u, priority in enumerate(row, start=1)
    }
    return {**cells, "reopen_window_hours": hours}


@pytest.fixture
def admin_session(base_url: str, admin: Person) -> Iterator[httpx.Client]:
    """An admin logged in; the desk settings are put back afterwards (one shared desk)."""
    before = admin.api.ok("GET", "/settings")
    with browser_session(base_url, admin.email) as client:
        try:
            yield client
        finally:
            admin.api.ok("PUT", "/settings", json=before)


def test_admin_saves_the_priority_matrix_and_reopen_window(
    admin_session: httpx.Client, admin: Person
) -> None:
    page = admin_session.get("/admin/settings").text
    current = admin.api.ok("GET", "/settings")
    matrix = [row[:] for row in current["priority_matrix"]]
    matrix[2][2] = 4 if matrix[2][2] != 4 else 5
    data = desk_form({"priority_matrix": matrix}, "1,5")
    r = admin_session.post("/admin/settings", data={"csrf_token": csrf_of(page), **data})
    assert r.status_code == 200
    assert "Saved." in r.text
    assert admin.api.ok("GET", "/settings") == {
        "priority_matrix": matrix,
        "reopen_window_seconds": 5400,
    }
    assert field_value(r.text, "reopen_window_hours") == "1.5"
    assert selected(r.text, "m_3_3") == str(matrix[2][2])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reopen_window_hours": "soon"}, "reopen_window_hours"),
        ({"reopen_window_hours": "-1"}, "reopen_window_hours"),
        ({"reopen_window_hours": "nan"}, "reopen_window_hours"),
        ({"reopen_window_hours": "inf"}, "reopen_window_hours"),
        ({"reopen_window_hours": "9000"}, "reopen_window_hours"),
        ({"m_2_3": "P9"}, "m_2_3"),
        ({"m_2_3": "9"}, "m_2_3"),
    ],
)
def test_bad_desk_settings_are_refused_and_shown_for_correction(
    admin_session: httpx.Client, admin: Person, change: dict[str, str], field: str
) -> None:
    before = admin.api.ok("GET", "/settings")
    page = admin_session.get("/admin/settings").text
    data = {"csrf_token": csrf_of(page), **desk_form(before, "48"), **change}
    r = admin_session.post("/admin/settings", data=data)
    assert r.status_code == 422
    message, named = alert(r.text)
    assert named == field
    assert ("reopen_window_hours" if field == "reopen_window_hours" else "priority") in message
    assert admin.api.ok("GET", "/settings") == before
    # What the admin typed is still in the form, marked, so they can correct it.
    assert field_value(r.text, "reopen_window_hours") == data["reopen_window_hours"]
    assert re.search(rf'name="{field}"[^>]*aria-invalid=true', r.text)


def test_desk_settings_are_for_admins_only(agent_session: httpx.Client) -> None:
    r = agent_session.get("/admin/settings")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "this page is for admins" in r.text


# ---------------------------------------------------------------- errors and sessions


def test_error_pages_are_html_and_reveal_nothing(
    directory: Directory, customer_session: httpx.Client
) -> None:
    stranger = directory.person("customer", directory.organisation())
    secret_subject = unique("Salary list ")
    number = stranger.api.open_ticket(secret_subject)["number"]
    for path, status, text in [
        (f"/tickets/{number}", 404, f"ticket #{number} not found"),
        ("/tickets/abc", 404, "there is no page at /tickets/abc"),
        ("/tickets/99999999999999999999", 404, "there is no page at"),
        ("/no/such/page", 404, "Not Found"),
        ("/queue", 403, "this page is for agents"),
    ]:
        r = customer_session.get(path)
        assert r.status_code == status, path
        assert r.headers["content-type"].startswith("text/html"), path
        assert f"<h1>Error {status}</h1>" in r.text and text in r.text, path
        assert secret_subject not in r.text
    # The person stays logged in and keeps the menu on an error page.
    assert 'href="/portal">My tickets</a>' in customer_session.get(f"/tickets/{number}").text
    page = customer_session.get("/portal").text
    r = customer_session.post(
        f"/tickets/{number}/reply", data={"csrf_token": csrf_of(page), "body": "Hello?"}
    )
    assert r.status_code == 404 and secret_subject not in r.text


def log_in(client: httpx.Client, email: str, next_path: str) -> httpx.Response:
    client.get("/login", params={"next": next_path})
    return client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "next": next_path,
            "csrf_token": client.cookies["tempodesk_login_csrf"],
        },
    )


def test_login_returns_to_the_page_asked_for_and_only_on_this_site(
    base_url: str, agent: Person
) -> None:
    with httpx.Client(base_url=base_url) as client:
        r = client.get("/queue?queue=all&q=printer")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/queue%3Fqueue%3Dall%26q%3Dprinter"
        login_page = client.get(r.headers["location"]).text
        assert field_value(login_page, "next") == "/queue?queue=all&q=printer"
        r = log_in(client, agent.email, "/queue?queue=all&q=printer")
        assert (r.status_code, r.headers["location"]) == (303, "/queue?queue=all&q=printer")
    with httpx.Client(base_url=base_url) as client:
        # htmx must load the login page as a page, not swap it into the queue table.
        r = client.get("/queue?queue=all", headers={"HX-Request": "true"})
        assert r.status_code == 401
        assert r.headers["hx-redirect"] == "/login?next=/queue%3Fqueue%3Dall"
        # A form posted with an expired session leads back to its page, not to a POST address.
        r = client.post("/tickets/1000/reply", headers={"Referer": f"{base_url}/tickets/1000"})
        assert r.headers["location"] == "/login?next=/tickets/1000"
        r = client.post("/tickets/1000/reply", headers={"Referer": "https://evil.example/x"})
        assert r.headers["location"] == "/login?next=/"
    for hostile in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        with httpx.Client(base_url=base_url) as client:
            assert log_in(client, agent.email, hostile).headers["location"] == "/"


def test_logout_ends_the_session_for_good(base_url: str, agent: Person) -> None:
    with browser_session(base_url, agent.email) as client:
        page = client.get("/queue").text
        assert client.post("/logout", data={}).status_code == 403  # no CSRF token
        assert client.get("/queue").status_code == 200
        cookie = client.cookies["tempodesk_session"]
        r = client.post("/logout", data={"csrf_token": csrf_of(page)})
        assert (r.status_code, r.headers["location"]) == (303, "/login")
        assert "tempodesk_session" not in client.cookies
        assert client.get("/queue").headers["location"] == "/login?next=/queue"
    # The old cookie is dead on the server too, not only forgotten by the browser.
    with httpx.Client(base_url=base_url, cookies={"tempodesk_session": cookie}) as replay:
        assert replay.get("/queue").headers["location"] == "/login?next=/queue"


async def test_an_unexpected_error_shows_an_html_page_in_the_ui_only() -> None:
    app = FastAPI()
    errors.install(app)
    web.install(app)

    @app.get("/broken")
    @app.get("/api/v1/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://tempodesk") as client:
        r = await client.get("/broken")
        assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
        assert "<h1>Error 500</h1>" in r.text and "a bug" not in r.text
        r = await client.get("/api/v1/broken")
        assert r.status_code == 500 and not r.headers["content-type"].startswith("text/html")


def test_a_too_large_upload_in_the_ui_gets_a_page_not_json(
    base_url: str, directory: Directory, agent: Person
) -> None:
    from tests.conftest import ATTACHMENT_LIMIT

    number = agent.api.open_ticket()["number"]
    with browser_session(base_url, agent.email) as browser:
        csrf = csrf_of(browser.get(f"/tickets/{number}").text)
        r = browser.post(
            f"/tickets/{number}/attachments",
            data={"csrf_token": csrf},
            files={
                "file": ("big.bin", b"x" * (ATTACHMENT_LIMIT + 70_000), "application/octet-stream")
            },
        )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert "larger than the limit" in r.text


def test_forms_keep_people_beyond_the_first_page_of_the_choice_list(
    directory: Directory, agent_session: httpx.Client, agent: Person, customer: Person
) -> None:
    """The agent lists show the first 200 by name; a chosen person is added when later."""
    for i in range(201):
        directory.person("agent", name=f"Aaron {i:03d}")
    late = directory.person("agent", name=f"Zelda {uuid.uuid4().hex[:4]}")
    number = customer.api.open_ticket("Late in the alphabet")["number"]
    agent.api.ok("POST", f"/tickets/{number}/assign", json={"assignee_id": late.id})
    page = agent_session.get(f"/tickets/{number}").text
    assert selected(page, "assignee_id") == str(late.id)
    form = agent_session.get("/tickets/new").text
    refused = agent_session.post(
        "/tickets/new",
        data={
            "csrf_token": csrf_of(form),
            "idempotency_key": field_value(form, "idempotency_key"),
            "requester_id": str(customer.id),
            "subject": "",
            "assignee_id": str(late.id),
        },
    )
    assert refused.status_code == 422
    assert selected(refused.text, "assignee_id") == str(late.id)
