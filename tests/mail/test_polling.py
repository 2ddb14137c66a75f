"""Configured mailboxes are polled from a real Dovecot over IMAP (with IDLE) and POP3."""

from __future__ import annotations

import imaplib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.mailbox import MailboxActivities, MessageReceiver
from api.mail.process import MailProcessor
from api.settings import Settings
from api.ticket_client import TemporalTicketClient
from models import Mailbox, secrets
from models.db import make_engine, make_session_factory
from tests.conftest import MAILBOX_PASSWORD, MAILBOX_PASSWORD_ENV, SECRET_KEY
from tests.factories import Directory, Person
from tests.mail.conftest import mail, unique
from tests.mail.dovecot import Dovecot, dovecot
from tests.smtp_sink import SmtpSink
from workflows.mailbox import PollMailbox


@pytest.fixture(scope="module")
def server() -> Iterator[Dovecot]:
    with tempfile.TemporaryDirectory(prefix="dovecot-") as folder:
        os.chmod(folder, 0o755)
        with dovecot(Path(folder)) as running:
            yield running


def wait_for(what: Callable[[], Any], timeout: float = 30, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(message or "timed out")


KEPT_ON_PUT = (
    "name", "address", "protocol", "host", "port", "tls", "username", "folder", "group_id",
    "record_type", "poll_seconds", "active",
)  # fmt: skip


def tickets(agent: Person, word: str) -> list[dict[str, Any]]:
    return agent.api.ok("GET", f"/tickets?q={word}")["items"]


def mailbox(
    admin: Person, server: Dovecot, account: str, protocol: str, **fields: Any
) -> dict[str, Any]:
    body = {
        "name": unique("mailbox"),
        "address": f"{account}@desk.example",
        "protocol": protocol,
        "host": "127.0.0.1",
        "port": server.imap_port if protocol == "imap" else server.pop3_port,
        "tls": False,
        "username": account,
        "password_env": MAILBOX_PASSWORD_ENV,
        "poll_seconds": 2,
        **fields,
    }
    return admin.api.ok("POST", "/mailboxes", 201, json=body)


def seen_flags(server: Dovecot, account: str) -> list[bool]:
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port)
    try:
        imap.login(account, MAILBOX_PASSWORD)
        _, count = imap.select("INBOX", readonly=True)
        if count == [b"0"]:
            return []
        _, data = imap.fetch("1:*", "(FLAGS)")
        return [b"\\Seen" in line for line in data if isinstance(line, bytes)]
    finally:
        imap.logout()


def test_imap_polling_picks_up_and_flags_messages_and_idles_for_new_ones(
    server: Dovecot, directory: Directory, admin: Person, agent: Person, smtp_sink: SmtpSink
) -> None:
    account = unique("desk")
    server.add_account(account, MAILBOX_PASSWORD)
    group = directory.group(members=[agent])
    before, after = unique("waiting"), unique("arriving")
    server.deliver(account, mail("ivy@customer.example", f"{before} mail", "Old.").as_bytes())

    created = mailbox(
        admin, server, account, "imap", group_id=group, poll_seconds=60, language="de"
    )
    found = wait_for(lambda: tickets(agent, before), message="the waiting mail was not fetched")
    assert found[0]["channel"] == "email"
    assert (
        wait_for(lambda: agent.api.ok("GET", f"/tickets/{found[0]['number']}")["group"])["id"]
        == group
    )

    # The poll interval is a minute: only IDLE can bring this one in within seconds.
    server.deliver(account, mail("ivy@customer.example", f"{after} mail", "New.").as_bytes())
    wait_for(lambda: tickets(agent, after), 20, "IDLE did not bring in the new mail")
    assert wait_for(lambda: seen_flags(server, account) == [True, True])

    # A round records that it read the mailbox once it has (a moment after \Seen).
    def polled() -> dict[str, Any] | None:
        state: dict[str, Any] = admin.api.ok("GET", f"/mailboxes/{created['id']}")
        return state if state["last_polled_at"] is not None else None

    state = wait_for(polled, message="the round that fetched the new mail was not recorded")
    assert state["last_error"] is None

    # The answer goes out with the mailbox's own address to reply to.
    number = found[0]["number"]
    agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "On it."})
    sent = wait_for(
        lambda: [
            m
            for m in smtp_sink.messages("ivy@customer.example")
            if f"TD#{number}" in str(m.message["Subject"])
        ]
    )
    assert sent[0].message["Reply-To"] == created["address"]
    assert str(sent[0].message["Subject"]).startswith("AW: ")  # the mailbox's German templates
    german = sent[0].message.get_body(("plain",))
    assert german is not None and "Antworten Sie auf diese E-Mail" in german.get_content()
    admin.api.ok("DELETE", f"/mailboxes/{created['id']}", 204)


class BeforeIdle(MailboxActivities):
    """The real poller, running `hook` after its last search, just before it sends IDLE."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        receiver: MessageReceiver,
        hook: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(sessions, SECRET_KEY, receiver)
        self._hook = hook

    async def _imap_idle(self, client: Any, seconds: int) -> bool:
        await self._hook()
        return await super()._imap_idle(client, seconds)


INTERVAL = 60
"""The test mailboxes' poll interval: what a poll that missed an announcement waits."""


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url, pool_size=2, max_overflow=0)
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def receiver(sessions: async_sessionmaker[AsyncSession], temporal_client: Client) -> MailProcessor:
    return MailProcessor(sessions, TemporalTicketClient(temporal_client), Settings())


async def bare_mailbox(
    sessions: async_sessionmaker[AsyncSession], server: Dovecot, account: str, **fields: Any
) -> int:
    """A mailbox row without its workflow: only the test's own poller reads the account."""
    async with sessions() as session:
        row = Mailbox(
            name=unique("mailbox"),
            address=f"{account}@desk.example",
            protocol="imap",
            host="127.0.0.1",
            port=server.imap_port,
            tls=False,
            username=account,
            password_encrypted=secrets.encrypt(SECRET_KEY, MAILBOX_PASSWORD),
            **{"poll_seconds": INTERVAL, **fields},
        )
        session.add(row)
        await session.commit()
        return row.id


async def test_mail_arriving_just_before_idle_comes_in_within_the_same_poll(
    server: Dovecot,
    sessions: async_sessionmaker[AsyncSession],
    receiver: MailProcessor,
    admin: Person,
    agent: Person,
) -> None:
    account = unique("window")
    server.add_account(account, MAILBOX_PASSWORD)
    before, between = unique("before"), unique("between")
    server.deliver(account, mail("uma@customer.example", f"{before} mail", "One.").as_bytes())
    mailbox_id = await bare_mailbox(sessions, server, account)
    raw = mail("uma@customer.example", f"{between} mail", "Two.").as_bytes()

    async def deliver() -> None:
        server.deliver(account, raw)

    started = time.monotonic()
    result = await ActivityEnvironment().run(
        BeforeIdle(sessions, receiver, deliver).poll_mailbox, PollMailbox(mailbox_id=mailbox_id)
    )
    took = time.monotonic() - started

    # Dovecot announces that mail as IDLE starts; the poll must act on it then, not
    # leave it for the next round a poll interval later.
    assert result.fetched == 2, result
    assert took < INTERVAL, f"the poll waited out its interval ({took:.0f} s)"
    assert tickets(agent, between) and tickets(agent, before)
    assert seen_flags(server, account) == [True, True]
    admin.api.ok("DELETE", f"/mailboxes/{mailbox_id}", 204)


async def test_the_mailbox_shows_it_was_read_while_the_poller_idles(
    server: Dovecot,
    sessions: async_sessionmaker[AsyncSession],
    receiver: MailProcessor,
    admin: Person,
) -> None:
    account = unique("reread")
    server.add_account(account, MAILBOX_PASSWORD)
    # The error of a round before the admin fixed the mailbox.
    mailbox_id = await bare_mailbox(
        sessions, server, account, poll_seconds=1, last_error="LoginError: wrong password"
    )
    shown: list[dict[str, Any]] = []

    async def look() -> None:
        shown.append(admin.api.ok("GET", f"/mailboxes/{mailbox_id}"))

    await ActivityEnvironment().run(
        BeforeIdle(sessions, receiver, look).poll_mailbox, PollMailbox(mailbox_id=mailbox_id)
    )

    # While it idles (up to the poll interval), the admin sees the mailbox read and fine.
    assert shown[0]["last_error"] is None and shown[0]["last_polled_at"] is not None
    admin.api.ok("DELETE", f"/mailboxes/{mailbox_id}", 204)


def test_pop3_polling_fetches_and_removes_messages(
    server: Dovecot, admin: Person, agent: Person
) -> None:
    account = unique("pop")
    server.add_account(account, MAILBOX_PASSWORD)
    word = unique("popped")
    server.deliver(account, mail("jay@customer.example", f"{word} mail", "Via POP3.").as_bytes())

    created = mailbox(admin, server, account, "pop3", record_type="service_request")
    ticket = wait_for(lambda: tickets(agent, word), message="POP3 mail was not fetched")[0]
    assert ticket["type"] == "service_request"
    assert wait_for(lambda: seen_flags(server, account) == [], message="not removed")
    admin.api.ok("DELETE", f"/mailboxes/{created['id']}", 204)


def test_a_password_stored_encrypted_is_used_and_never_shown(
    server: Dovecot, directory: Directory, admin: Person, agent: Person
) -> None:
    account = unique("stored")
    server.add_account(account, MAILBOX_PASSWORD)
    word = unique("encrypted")
    server.deliver(account, mail("ola@customer.example", f"{word} mail", "Hi.").as_bytes())

    body = {"password": MAILBOX_PASSWORD, "password_env": None}
    created = mailbox(admin, server, account, "imap", **body)
    assert created["password_stored"] is True and created["password_env"] is None
    assert "password" not in created
    wait_for(lambda: tickets(agent, word), message="the stored password did not log in")
    with psycopg.connect(directory.dsn) as conn:
        found = conn.execute(
            "SELECT password_encrypted FROM mailboxes WHERE id = %s", (created["id"],)
        ).fetchone()
    assert found is not None and MAILBOX_PASSWORD not in found[0]

    # A PUT without either password field keeps the stored one.
    changed = {k: v for k, v in created.items() if k in KEPT_ON_PUT}
    after = admin.api.ok("PUT", f"/mailboxes/{created['id']}", json={**changed, "poll_seconds": 3})
    assert after["password_stored"] is True and after["poll_seconds"] == 3
    both = {**changed, "password": "x", "password_env": "SOME_VARIABLE"}
    refused = admin.api.put(f"/mailboxes/{created['id']}", json=both)
    assert refused.status_code == 422 and refused.json()["field"] == "password"
    admin.api.ok("DELETE", f"/mailboxes/{created['id']}", 204)


def test_a_wrong_password_is_shown_on_the_mailbox(server: Dovecot, admin: Person) -> None:
    account = unique("nopass")
    server.add_account(account, "something-else")
    created = mailbox(admin, server, account, "imap")
    state = wait_for(
        lambda: admin.api.ok("GET", f"/mailboxes/{created['id']}")["last_error"],
        message="no error recorded",
    )
    assert "uthentication" in state or "login" in state.lower()
    admin.api.ok("DELETE", f"/mailboxes/{created['id']}", 204)
