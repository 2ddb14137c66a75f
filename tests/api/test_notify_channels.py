"""Notifications reach people by mail and by Apprise, once per event, as they choose.

Mail goes to a real SMTP server on loopback; the Apprise channel pushes to a real
HTTP server on loopback that records what it got (the stand-in for a chat or SMS
service outside this machine).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from temporalio.client import Client

from tempodesk.embedded import free_port
from tests.factories import Directory
from tests.smtp_sink import SmtpSink
from workflows import ids


class Hook:
    """An HTTP endpoint that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{count} pushes expected, got {len(self.received)}"
            time.sleep(0.1)
        return self.received


@pytest.fixture
def hook() -> Iterator[Hook]:
    found = Hook()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def test_a_transfer_is_mailed_and_pushed_once_and_muted_kinds_are_not(
    directory: Directory, smtp_sink: SmtpSink, hook: Hook
) -> None:
    sender, target = directory.person("agent"), directory.person("agent")
    customer = directory.person("customer", directory.organisation())
    url = f"json://127.0.0.1:{hook.port}/hook"
    prefs = target.api.ok(
        "PUT", "/me/notification-preferences", json={"email": True, "apprise_url": url}
    )
    assert prefs == {"email": True, "muted": [], "apprise": True}
    assert "apprise_url" not in target.api.ok("GET", "/me/notification-preferences")
    subject = f"Laptop {uuid.uuid4().hex[:6]}"
    number = customer.api.open_ticket(subject)["number"]

    sender.api.ok(
        "POST", f"/tickets/{number}/assign", json={"assignee_id": target.id, "note": "Yours"}
    )
    mails = smtp_sink.wait_for(target.email)
    pushed = hook.wait_for(1)
    plain = [p for p in mails[0].message.walk() if p.get_content_type() == "text/plain"]
    assert plain and subject in plain[0].get_content()
    assert f"#{number}" in str(mails[0].message["Subject"])
    assert f"#{number}" in pushed[0]["title"] and pushed[0]["message"] == "Yours"

    # Muted: a consult is neither mailed nor pushed; the in-app list still has it.
    target.api.ok(
        "PUT",
        "/me/notification-preferences",
        json={"email": True, "muted": ["consult"], "keep_apprise": True},
    )
    sender.api.ok(
        "POST", f"/tickets/{number}/consults", json={"colleague_id": target.id, "message": "?"}
    )
    # A reminder is not muted: once it has been mailed and pushed, the consult's turn is past.
    at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 2))
    target.api.ok("POST", f"/tickets/{number}/reminder", json={"at": at})
    smtp_sink.wait_for(target.email, count=2)
    hook.wait_for(2)
    time.sleep(1)
    titles = [str(m.message["Subject"]) for m in smtp_sink.messages(target.email)]
    assert len(titles) == 2 and "Reminder" in titles[1], titles
    assert len(hook.received) == 2 and "Reminder" in hook.received[1]["title"]
    kinds = [n["kind"] for n in target.api.ok("GET", "/notifications")]
    assert {"assigned", "consult", "reminder"} <= set(kinds)


def test_preferences_are_validated(directory: Directory) -> None:
    agent = directory.person("agent")
    bad = agent.api.put("/me/notification-preferences", json={"apprise_url": "nonsense"})
    assert bad.status_code == 422 and bad.json()["field"] == "apprise_url"
    bad = agent.api.put("/me/notification-preferences", json={"muted": ["everything"]})
    assert bad.status_code == 422
    assert agent.api.ok("GET", "/me/notification-preferences") == {
        "email": True,
        "muted": [],
        "apprise": False,
    }


async def _mail_activities(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(
        1
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == ids.SEND_TICKET_MAIL
    )


async def test_delivery_starts_only_when_someone_notified_takes_mail_or_pushes(
    directory: Directory, smtp_sink: SmtpSink, temporal_client: Client
) -> None:
    """The projection that stores the notifications says whether any is to be delivered,
    so an event nobody takes by mail costs no activity round trip."""
    sender, quiet = directory.person("agent"), directory.person("agent")
    customer = directory.person("customer", directory.organisation())
    quiet.api.ok("PUT", "/me/notification-preferences", json={"email": False})
    ticket = customer.api.open_ticket(f"Quiet {uuid.uuid4().hex[:6]}")
    number, workflow_id = ticket["number"], ticket["workflow_id"]
    sender.api.ok("POST", f"/tickets/{number}/assign", json={"assignee_id": quiet.id})
    assert [n["kind"] for n in quiet.api.ok("GET", "/notifications")] == ["assigned"]
    assert await _mail_activities(temporal_client, workflow_id) == 0

    quiet.api.ok("PUT", "/me/notification-preferences", json={"email": True})
    sender.api.ok(
        "POST", f"/tickets/{number}/consults", json={"colleague_id": quiet.id, "message": "?"}
    )
    smtp_sink.wait_for(quiet.email)
    assert await _mail_activities(temporal_client, workflow_id) == 1
