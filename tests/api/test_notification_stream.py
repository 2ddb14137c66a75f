"""The live notification stream (`GET /api/v1/notifications/stream`).

Real API, worker, Temporal dev server and PostgreSQL: the notifications come from
ticket actions, the worker announces them with pg_notify, the API's listener
fans them out to the streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from api.live import APPLICATION_NAME, Delivery, NotificationHub, Signal
from models.db import make_engine, make_session_factory
from models.notifications import NOTIFY_CHANNEL, announcements
from tempodesk.embedded import free_port
from tests.api.test_routing import group, open_in
from tests.api.test_sla import wait_for
from tests.factories import Directory, Person, browser_session
from tests.stack import AppConfig, start_process, wait_healthy

STREAM = "/api/v1/notifications/stream"
WAIT = 30.0
"""Longest wait for an expected event (keep-alives arrive at least every 15 s)."""


@dataclass
class Block:
    """One block of the stream: an event, or only comments (keep-alives)."""

    event: str | None = None
    id: str | None = None
    data: list[str] = field(default_factory=list)
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads("\n".join(self.data))


class Stream:
    """Reads Server-Sent Events off an open response, as the EventSource spec parses them."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.iter_lines()

    def block(self) -> Block:
        block = Block()
        for line in self._lines:
            if not line:
                if block != Block():
                    return block
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if not name:
                block.comments.append(value)
            elif name == "data":
                block.data.append(value)
            elif name == "event":
                block.event = value
            elif name == "id":
                block.id = value
            elif name == "retry":
                block.retry = int(value)
        raise EOFError("the stream ended")

    def event(self, within: float = WAIT) -> Block:
        """The next event, past keep-alive comments."""
        deadline = time.monotonic() + within
        while True:
            block = self.block()
            if block.event is not None:
                return block
            assert time.monotonic() < deadline, f"no event within {within} s"

    def end(self, within: float) -> None:
        """Reads to the stream's end: fails if it goes on longer, or breaks off instead."""
        deadline = time.monotonic() + within
        with contextlib.suppress(EOFError):
            while True:
                self.block()
                assert time.monotonic() < deadline, f"the stream went on for {within} s"


@contextlib.contextmanager
def listen(base_url: str, person: Person, **request: Any) -> Iterator[Stream]:
    """An open stream of `person`'s, once the server says it listens."""
    headers = {"Authorization": f"Bearer {person.token}", **request.pop("headers", {})}
    with (
        httpx.Client(base_url=base_url, timeout=WAIT) as client,
        client.stream("GET", STREAM, headers=headers, **request) as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        hello = stream.block()
        assert hello.comments == ["connected"] and hello.retry == 3000
        yield stream


def assign(by: Person, number: int, team: int, to: Person, note: str = "") -> None:
    body = {"group_id": team, "assignee_id": to.id, "note": note}
    by.api.ok("POST", f"/tickets/{number}/assign", json=body)


def test_a_transfer_reaches_its_target_alone_and_a_reconnect_sends_what_was_missed(
    directory: Directory, admin: Person, base_url: str
) -> None:
    target, bystander, colleague = (directory.person("agent") for _ in range(3))
    customer = directory.person("customer", directory.organisation())
    team = group(admin, [target, bystander, colleague])
    first = open_in(colleague, customer, team, "Printer on fire")

    with listen(base_url, target) as mine, listen(base_url, bystander) as theirs:
        assign(colleague, first, team, target, "You know printers")
        event = mine.event()
        assert event.event == "notification"
        data = event.json()
        notification = data["notification"]
        assert data["unread"] == 1
        assert event.id == str(notification["id"])
        assert notification["kind"] == "assigned"
        assert notification["ticket_number"] == first
        assert notification["link"] == f"/tickets/{first}"
        assert notification["body"] == "You know printers"
        assert f"#{first}" in notification["title"]

        # The bystander's stream carried none of it: the first event there is its own.
        colleague.api.ok(
            "POST",
            f"/tickets/{first}/consults",
            json={"colleague_id": bystander.id, "message": "Seen this before?"},
        )
        own = theirs.event().json()
        assert own["unread"] == 1
        assert (own["notification"]["kind"], own["notification"]["ticket_number"]) == (
            "consult",
            first,
        )

    # While the target is away a second ticket comes their way...
    second = open_in(colleague, customer, team, "Scanner jammed")
    assign(colleague, second, team, target)
    wait_for(
        lambda: len(target.api.ok("GET", "/notifications")) == 2,
        message="the second transfer is notified",
    )
    # ...and a reconnecting EventSource, which sends the last id it saw, gets it first.
    for request in ({"headers": {"Last-Event-ID": event.id}}, {"params": {"after": event.id}}):
        with listen(base_url, target, **request) as again:
            missed = again.event()
            assert missed.event == "notification"
            assert missed.json()["unread"] == 2
            assert missed.json()["notification"]["ticket_number"] == second
            assert int(missed.id or 0) > int(event.id or 0)


def test_only_an_authenticated_caller_gets_a_stream(
    directory: Directory, agent: Person, base_url: str
) -> None:
    anonymous = directory.http.get(STREAM)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    forged = directory.http.get(STREAM, headers={"Authorization": "Bearer td_not-a-token"})
    assert forged.status_code == 401
    garbled = agent.api.get("/notifications/stream", headers={"Last-Event-ID": "yesterday"})
    assert garbled.status_code == 422 and garbled.json()["code"] == "invalid_field"

    # A browser's EventSource sends the session cookie, and that is enough.
    with (
        browser_session(base_url, agent.email) as client,
        client.stream("GET", STREAM) as response,
    ):
        assert response.status_code == 200
        assert Stream(response).block().comments == ["connected"]


def test_the_listener_reconnects_when_its_database_connection_is_cut(
    directory: Directory, admin: Person, base_url: str
) -> None:
    target, colleague = directory.person("agent"), directory.person("agent")
    customer = directory.person("customer", directory.organisation())
    team = group(admin, [target, colleague])
    number = open_in(colleague, customer, team)

    with listen(base_url, target) as mine:
        cut = directory.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            APPLICATION_NAME,
        )
        assert cut == [(True,)], "the API keeps exactly one listening connection"
        # Listening again, the hub cannot know what it missed: every stream re-reads.
        resync = mine.event()
        assert resync.event == "resync" and resync.json() == {"unread": 0}

        assign(colleague, number, team, target)
        event = mine.event()
        assert event.event == "notification"
        assert event.json()["notification"]["ticket_number"] == number


async def test_a_slow_stream_is_told_to_resync_and_holds_up_no_other(
    database_url: str, directory: Directory
) -> None:
    slow, quick = directory.person("agent"), directory.person("agent")
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    hub = NotificationHub(database_url, make_session_factory(engine), inbox_size=2)
    hub.start()
    try:
        with hub.subscribe(slow.id) as slow_inbox, hub.subscribe(quick.id) as quick_inbox:
            await asyncio.wait_for(hub.listening.wait(), WAIT)
            dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
            async with await psycopg.AsyncConnection.connect(dsn) as conn:
                rows = [(slow.id, f"slow-{i}") for i in range(5)] + [(quick.id, "quick")]
                added = []
                for user_id, key in rows:
                    cursor = await conn.execute(
                        "INSERT INTO notifications (user_id, kind, key, title) "
                        "VALUES (%s, 'test', %s, %s) RETURNING id",
                        (user_id, key, f"Note {key}"),
                    )
                    found = await cursor.fetchone()
                    assert found is not None
                    added.append((user_id, int(found[0])))
                for payload in announcements(added):
                    await conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, payload))
            # One commit announced six rows; the slow inbox holds two, the quick one gets its own.
            delivered = await quick_inbox.next(WAIT)
            assert isinstance(delivered, Delivery)
            assert delivered.notification.id == added[-1][1] and delivered.unread == 1
            assert await slow_inbox.next(WAIT) is Signal.RESYNC
    finally:
        await hub.stop()
        await engine.dispose()


# Once shut down, uvicorn raises the signal it caught again: SIGTERM's default action
# then ends the process by that signal, Ctrl-C's KeyboardInterrupt is caught (exit 0).
@pytest.mark.parametrize(
    ("signum", "exit_code"),
    [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, 0)],
    ids=["SIGTERM", "SIGINT"],
)
def test_the_api_stops_promptly_while_streams_are_open(
    app_config: AppConfig,
    directory: Directory,
    tmp_path: Path,
    signum: signal.Signals,
    exit_code: int,
) -> None:
    extra = {**app_config.extra, "TEMPODESK_LIVE_KEEPALIVE_SECONDS": "0.5"}
    config = dataclasses.replace(app_config, http_port=free_port(), home=tmp_path, extra=extra)
    process = start_process("api", config)
    try:
        wait_healthy(process, config.base_url)
        agent = directory.person("agent")
        with listen(config.base_url, agent) as stream:
            assert stream.block().comments == ["keep-alive"], "an idle stream is kept alive"
            asked = time.monotonic()
            process.proc.send_signal(signum)
            stream.end(within=5)  # ends cleanly: a broken connection would raise here
            code = process.proc.wait(timeout=10)
        assert time.monotonic() - asked < 5, "the API waited for its streams"
        assert code == exit_code, process.tail()
        assert "Traceback" not in process.tail(200)
    finally:
        process.stop()
