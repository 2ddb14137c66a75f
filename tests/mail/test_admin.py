"""Admins see the quarantine with reason and raw message, and reprocess with one call."""

from __future__ import annotations

from email import policy

import psycopg
import pytest

from tests.factories import Directory, Person
from tests.mail.conftest import Intake, mail, unique


def test_a_quarantined_message_is_listed_and_reprocessed_once_its_cause_is_fixed(
    intake: Intake, directory: Directory, admin: Person, agent: Person
) -> None:
    former = directory.person("customer")
    with psycopg.connect(directory.dsn, autocommit=True) as conn:
        conn.execute("UPDATE users SET active = false WHERE id = %s", (former.id,))
    word = unique("comeback")
    message = mail(former.email, f"{word} again", "I am back.")
    intake.send(message)

    listed = admin.api.ok("GET", "/mail/quarantine")
    entry = next(e for e in listed if e["message_id"] == message["Message-ID"])
    assert entry["reason"] == f"the sender {former.email} is deactivated"
    assert entry["subject"] == f"{word} again"
    raw = admin.api.get(f"/mail/quarantine/{entry['id']}/raw")
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "message/rfc822"
    assert raw.content == message.as_bytes(policy=policy.SMTP)

    again = admin.api.ok("POST", f"/mail/quarantine/{entry['id']}/reprocess")
    assert again["status"] == "quarantined"

    with psycopg.connect(directory.dsn, autocommit=True) as conn:
        conn.execute("UPDATE users SET active = true WHERE id = %s", (former.id,))
    done = admin.api.ok("POST", f"/mail/quarantine/{entry['id']}/reprocess")
    assert done["status"] == "processed"
    ticket = agent.api.ok("GET", f"/tickets/{done['ticket_number']}")
    assert ticket["subject"] == f"{word} again"
    assert ticket["requester"]["id"] == former.id
    remaining = admin.api.ok("GET", "/mail/quarantine")
    assert all(e["id"] != entry["id"] for e in remaining)
    assert admin.api.get(f"/mail/quarantine/{entry['id']}/raw").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/mailboxes"),
        ("POST", "/mailboxes"),
        ("GET", "/mailboxes/1"),
        ("PUT", "/mailboxes/1"),
        ("DELETE", "/mailboxes/1"),
        ("GET", "/mail/quarantine"),
        ("GET", "/mail/quarantine/1/raw"),
        ("POST", "/mail/quarantine/1/reprocess"),
    ],
)
def test_mail_administration_is_for_admins_only(
    directory: Directory, agent: Person, method: str, path: str
) -> None:
    assert agent.api.request(method, path, json={}).status_code == 403
    assert directory.api(None).request(method, path, json={}).status_code == 401


def test_mailbox_fields_are_checked_and_named(admin: Person) -> None:
    bad = {
        "name": unique("box"),
        "address": "not an address",
        "protocol": "smtp",
        "host": "mail.example",
        "port": 0,
        "username": "desk",
        "password_env": "1-bad name",
    }
    response = admin.api.post("/mailboxes", json=bad)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"address", "protocol", "port", "password_env"}
    good = {**bad, "address": "desk@desk.example", "protocol": "imap", "port": 993}
    good["password_env"] = "DESK_PASSWORD"
    good["active"] = False
    nameless = {k: v for k, v in good.items() if k != "password_env"}
    missing = admin.api.post("/mailboxes", json=nameless)
    assert missing.status_code == 422 and missing.json()["field"] == "password_env"
    created = admin.api.ok("POST", "/mailboxes", 201, json=good)
    assert admin.api.post("/mailboxes", json=good).status_code == 409
    changed = admin.api.ok("PUT", f"/mailboxes/{created['id']}", json={**good, "port": 995})
    assert changed["port"] == 995 and changed["tls"] is True
    assert any(m["id"] == created["id"] for m in admin.api.ok("GET", "/mailboxes"))
    admin.api.ok("DELETE", f"/mailboxes/{created['id']}", 204)
    assert admin.api.get(f"/mailboxes/{created['id']}").status_code == 404
