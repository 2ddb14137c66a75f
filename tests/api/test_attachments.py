"""Attachments: stored with their content type, size-limited, visible per role."""

from __future__ import annotations

import hashlib

from tests.conftest import ATTACHMENT_LIMIT
from tests.factories import Directory, Person


def test_upload_and_download_keep_bytes_and_content_type(agent: Person, customer: Person) -> None:
    number = customer.api.open_ticket()["number"]
    payload = bytes(range(256)) * 40
    created = customer.api.ok(
        "POST",
        f"/tickets/{number}/attachments",
        201,
        files={"file": ("../../etc/report.pdf", payload, "application/pdf")},
    )
    assert created["filename"] == "report.pdf"
    assert created["content_type"] == "application/pdf"
    assert (
        created["size"] == len(payload) and created["sha256"] == hashlib.sha256(payload).hexdigest()
    )

    listed = agent.api.ok("GET", f"/tickets/{number}/attachments")
    assert [a["id"] for a in listed] == [created["id"]]
    download = agent.api.get(f"/attachments/{created['id']}")
    assert download.status_code == 200 and download.content == payload
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    events = agent.api.ok("GET", f"/tickets/{number}/timeline")
    assert events[-1]["kind"] == "attached" and events[-1]["data"]["filename"] == "report.pdf"


def test_internal_attachment_is_hidden_from_the_customer(agent: Person, customer: Person) -> None:
    number = customer.api.open_ticket()["number"]
    internal = agent.api.ok(
        "POST",
        f"/tickets/{number}/attachments",
        201,
        files={"file": ("notes.txt", b"root cause", "text/plain")},
        data={"public": "false"},
    )
    assert internal["public"] is False
    assert customer.api.ok("GET", f"/tickets/{number}/attachments") == []
    assert customer.api.get(f"/attachments/{internal['id']}").status_code == 404
    assert agent.api.get(f"/attachments/{internal['id']}").status_code == 200


def test_stranger_cannot_download(directory: Directory, customer: Person) -> None:
    number = customer.api.open_ticket()["number"]
    created = customer.api.ok(
        "POST",
        f"/tickets/{number}/attachments",
        201,
        files={"file": ("a.txt", b"hello", "text/plain")},
    )
    stranger = directory.person("customer", directory.organisation())
    assert stranger.api.get(f"/attachments/{created['id']}").status_code == 404


def test_oversized_attachment_is_413_and_stores_nothing(
    directory: Directory, agent: Person
) -> None:
    ticket = agent.api.open_ticket()
    too_big = b"x" * (ATTACHMENT_LIMIT + 1)
    r = agent.api.post(
        f"/tickets/{ticket['number']}/attachments",
        files={"file": ("big.bin", too_big, "application/octet-stream")},
    )
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    assert directory.query(
        "SELECT count(*) FROM attachments WHERE ticket_id = %s", ticket["workflow_id"]
    ) == [(0,)]
    assert [e["kind"] for e in agent.api.ok("GET", f"/tickets/{ticket['number']}/timeline")] == [
        "opened"
    ]


def test_attachment_on_a_closed_ticket_is_refused_and_removed(
    directory: Directory, agent: Person
) -> None:
    ticket = agent.api.open_ticket()
    number = ticket["number"]
    agent.api.ok("POST", f"/tickets/{number}/resolve", json={"resolution_code": "solved"})
    agent.api.ok("POST", f"/tickets/{number}/close", json={})
    r = agent.api.post(
        f"/tickets/{number}/attachments", files={"file": ("late.txt", b"late", "text/plain")}
    )
    assert r.status_code == 409
    assert directory.query(
        "SELECT count(*) FROM attachments WHERE ticket_id = %s", ticket["workflow_id"]
    ) == [(0,)]


def test_empty_file_is_422(agent: Person) -> None:
    number = agent.api.open_ticket()["number"]
    r = agent.api.post(
        f"/tickets/{number}/attachments", files={"file": ("empty.txt", b"", "text/plain")}
    )
    assert r.status_code == 422 and r.json()["field"] == "file"
