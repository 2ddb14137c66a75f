"""Authentication and authorisation: who may see and do what."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import PASSWORD, Directory, Person, browser_session, csrf_of


def test_customer_cannot_read_or_act_on_another_organisations_ticket(
    directory: Directory, customer: Person
) -> None:
    stranger = directory.person("customer", directory.organisation())
    number = customer.api.open_ticket("Mine only")["number"]

    for method, path, body in [
        ("GET", f"/tickets/{number}", None),
        ("GET", f"/tickets/{number}/timeline", None),
        ("GET", f"/tickets/{number}/comments", None),
        ("GET", f"/tickets/{number}/attachments", None),
        ("POST", f"/tickets/{number}/comments", {"body": "let me in"}),
        ("POST", f"/tickets/{number}/reopen", {}),
    ]:
        r = stranger.api.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.status_code)
    listed = stranger.api.ok("GET", "/tickets", params={"limit": 200})
    assert number not in [t["number"] for t in listed["items"]]
    assert [e["kind"] for e in customer.api.ok("GET", f"/tickets/{number}/timeline")] == ["opened"]


def test_colleague_sees_organisation_tickets_only_when_the_organisation_shares(
    directory: Directory,
) -> None:
    private_org = directory.organisation()
    shared_org = directory.organisation(shared=True)
    a, b = directory.person("customer", private_org), directory.person("customer", private_org)
    c, d = directory.person("customer", shared_org), directory.person("customer", shared_org)
    private = a.api.open_ticket()["number"]
    shared = c.api.open_ticket()["number"]
    assert b.api.get(f"/tickets/{private}").status_code == 404
    assert d.api.get(f"/tickets/{shared}").status_code == 200
    assert d.api.post(f"/tickets/{shared}/comments", json={"body": "me too"}).status_code == 200


def test_requests_without_a_valid_token_are_401(base_url: str, directory: Directory) -> None:
    anonymous = directory.api(None)
    assert anonymous.get("/tickets").status_code == 401
    assert directory.api("td_not-a-real-token").get("/tickets").status_code == 401
    r = anonymous.post("/tickets", json={"subject": "x"})
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]


def test_token_create_use_and_revoke(directory: Directory, agent: Person) -> None:
    created = agent.api.ok("POST", "/tokens", 201, json={"name": "monitoring"})
    assert created["token"].startswith("td_") and created["prefix"] == created["token"][:10]
    new = directory.api(created["token"])
    assert new.ok("GET", "/users/me")["id"] == agent.id
    # Only the digest is stored.
    stored = directory.query("SELECT digest FROM api_tokens WHERE id = %s", created["id"])
    assert created["token"] not in stored[0][0] and len(stored[0][0]) == 64
    listed = agent.api.ok("GET", "/tokens")
    assert created["id"] in [t["id"] for t in listed] and "token" not in listed[0]

    revoked = agent.api.ok("DELETE", f"/tokens/{created['id']}")
    assert revoked["revoked_at"] is not None
    assert new.get("/users/me").status_code == 401


def test_nobody_revokes_someone_elses_token(directory: Directory, agent: Person) -> None:
    other = directory.person("agent")
    token = other.api.ok("POST", "/tokens", 201, json={"name": "mine"})
    assert agent.api.delete(f"/tokens/{token['id']}").status_code == 404


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("customer", "GET", "/users", None),
        ("customer", "GET", "/groups", None),
        ("agent", "POST", "/users", {"email": "x@example.com", "name": "X", "role": "admin"}),
        ("agent", "POST", "/groups", {"name": "Sneaky"}),
        ("manager", "POST", "/organisations", {"name": "Sneaky Org"}),
    ],
)
def test_role_checks(directory: Directory, role: str, method: str, path: str, body: object) -> None:
    person = directory.person(role, directory.organisation() if role == "customer" else None)
    assert person.api.request(method, path, json=body).status_code == 403


def test_admin_creates_people_with_validated_emails(admin: Person) -> None:
    r = admin.api.post("/users", json={"email": "not-an-email", "name": "X", "role": "agent"})
    assert r.status_code == 422 and r.json()["field"] == "email"
    org = admin.api.ok(
        "POST", "/organisations", 201, json={"name": "Initech", "domains": ["initech.example"]}
    )
    user = admin.api.ok(
        "POST",
        "/users",
        201,
        json={
            "email": "Peter@Initech.example",
            "name": "Peter",
            "role": "customer",
            "password": "s3cret-pass",
        },
    )
    assert user["email"] == "peter@initech.example"
    assert user["organisation_id"] == org["id"]  # matched by the email's domain
    again = admin.api.post(
        "/users", json={"email": "peter@initech.example", "name": "P", "role": "agent"}
    )
    assert again.status_code == 409 and again.json()["field"] == "email"


def test_cookie_session_needs_the_csrf_token_for_writes(
    base_url: str, directory: Directory, agent: Person
) -> None:
    with browser_session(base_url, agent.email) as browser:
        assert browser.get("/api/v1/users/me").json()["id"] == agent.id
        r = browser.post("/api/v1/tickets", json={"subject": "forged"})
        assert r.status_code == 403 and r.json()["code"] == "csrf"
        csrf = csrf_of(browser.get("/queue").text)
        r = browser.post(
            "/api/v1/tickets", json={"subject": "genuine"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 201


def test_wrong_password_is_refused(base_url: str, agent: Person) -> None:
    with httpx.Client(base_url=base_url) as client:
        client.get("/login")
        r = client.post(
            "/login",
            data={
                "email": agent.email,
                "password": "wrong",
                "csrf_token": client.cookies["tempodesk_login_csrf"],
            },
        )
        assert r.status_code == 401 and "Email or password is wrong" in r.text
        assert "tempodesk_session" not in client.cookies


def test_login_form_needs_its_csrf_token(base_url: str, agent: Person) -> None:
    with httpx.Client(base_url=base_url) as client:
        r = client.post("/login", data={"email": agent.email, "password": PASSWORD})
        assert r.status_code == 403 and "tempodesk_session" not in client.cookies


def test_oversized_json_body_is_413(agent: Person) -> None:
    r = agent.api.post("/tickets", json={"subject": "x", "description": "y" * 1_100_000})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
