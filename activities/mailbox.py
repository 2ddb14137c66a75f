"""Fetching mail from configured mailboxes over IMAP (IDLE where offered) or POP3.

A message is removed from the server's "new" set only after it is stored:
IMAP marks it \\Seen, POP3 deletes it when the session ends. A worker that
dies in between fetches it again, and the stored Message-ID turns the second
copy away, so nothing is lost and nothing doubles. Errors reaching the server
(a wrong password, a host that is down) are written on the mailbox for the
admin and the workflow tries again at the next interval.

The activity only fetches: what a message means (parsing, threading, the
ticket it opens or updates) is the mail channel's, handed in by the worker
wiring as a `MessageReceiver` (`api.mail.process.MailProcessor`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import poplib
import ssl
from datetime import UTC, datetime
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from models import Mailbox, secrets
from workflows import ids
from workflows.mailbox import PollMailbox, PollResult

log = logging.getLogger("tempodesk.mail.poll")

_TIMEOUT = 30.0
_IDLE_SLICE = 10.0
"""Seconds between heartbeats while the IMAP connection idles."""
_BATCH = 50
"""Messages fetched per round trip."""


class MessageReceiver(Protocol):
    """Where a fetched message goes: stored for good, then acted on."""

    async def receive(self, raw: bytes, mailbox_id: int) -> object:
        """Store `raw`, fetched from mailbox `mailbox_id`, then process it.

        Returns once the message is stored (a copy of one stored earlier
        counts as stored); raises when it is not, or when the desk cannot act
        on it now: the poller then leaves it on the server for the next round.
        """
        ...


class MailboxError(Exception):
    """The mailbox could not be read; the message says what to fix."""


def tls_context(mailbox: Mailbox) -> ssl.SSLContext:
    """How the mailbox's server proves itself: the system's CAs, or the mailbox's own CA
    (a private one), with host name checks; without them only when switched off."""
    # With cadata the context trusts that CA only, not the system's as well: a private
    # server is vouched for by its own CA and nobody else.
    context = ssl.create_default_context(cadata=mailbox.ca_certificate or None)
    if not mailbox.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _announces_mail(responses: list[Any]) -> bool:
    """Whether parsed IDLE responses include new mail (`* 5 EXISTS`, `* 1 RECENT`)."""
    return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)


def _unread(client: Any) -> bool:
    """Whether the server has sent something that was not parsed yet; never waits."""
    sock = client.socket()
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        # imapclient reads through imaplib's buffered file: peek shows what that holds,
        # or else what the socket has right now (an empty answer if nothing).
        return bool(client._imap.file.peek(1))
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.settimeout(timeout)


class MailboxActivities:
    """The polling round of a mailbox (`MailboxWorkflow`), for the worker.

    `sessions` reads the mailbox and records its last poll and error,
    `secret_key` decrypts a stored password, `receiver` takes each message.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        secret_key: str | None,
        receiver: MessageReceiver,
    ) -> None:
        self._sessions = sessions
        self._secret_key = secret_key
        self._receiver = receiver

    @activity.defn(name=ids.POLL_MAILBOX)
    async def poll_mailbox(self, inp: PollMailbox) -> PollResult:
        """Fetch, store and process what is new; with IMAP IDLE, wait for more."""
        async with self._sessions() as session:
            mailbox = await session.get(Mailbox, inp.mailbox_id)
            if mailbox is None or not mailbox.active:
                return PollResult(active=False)
            session.expunge(mailbox)
        error: str | None = None
        fetched, waited = 0, False
        try:
            password = self._password(mailbox)
            if mailbox.protocol == "imap":
                fetched, waited = await self._imap(mailbox, password)
            else:
                fetched = await self._pop3(mailbox, password)
        except ssl.SSLCertVerificationError as exc:
            # Before login: no password was sent and nothing was fetched.
            error = (
                f"the server's TLS certificate is not trusted ({exc.verify_message}); "
                "if it is signed by a private CA, add that CA's certificate to the mailbox"
            )[:1000]
            log.warning("mailbox %s: %s", mailbox.name, error)
        except (MailboxError, IMAPClientError, poplib.error_proto, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000]
            log.warning("mailbox %s: %s", mailbox.name, error)
        await self._record(mailbox, error)
        return PollResult(
            active=True, fetched=fetched, waited=waited, poll_seconds=mailbox.poll_seconds
        )

    async def _record(self, mailbox: Mailbox, error: str | None) -> None:
        """Write on the mailbox that it was read just now, and what failed (None: nothing)."""
        async with self._sessions() as session:
            await session.execute(
                update(Mailbox)
                .where(Mailbox.id == mailbox.id)
                .values(last_polled_at=datetime.now(UTC), last_error=error)
            )
            await session.commit()

    def _password(self, mailbox: Mailbox) -> str:
        if mailbox.password_encrypted is not None:
            try:
                return secrets.decrypt(self._secret_key, mailbox.password_encrypted)
            except secrets.SecretKeyError as exc:
                raise MailboxError(str(exc)) from exc
        name = mailbox.password_env or ""
        password = os.environ.get(name)
        if password is None:
            raise MailboxError(f"the environment variable {name} is not set")
        return password

    async def _take(self, raw: bytes, mailbox: Mailbox) -> None:
        """Store (that must succeed, or the message stays on the server) and process."""
        await self._receiver.receive(raw, mailbox.id)

    async def _imap(self, mailbox: Mailbox, password: str) -> tuple[int, bool]:
        context = tls_context(mailbox)
        client: Any = await asyncio.to_thread(
            IMAPClient,
            mailbox.host,
            mailbox.port,
            ssl=mailbox.tls,
            ssl_context=context if mailbox.tls else None,
            timeout=_TIMEOUT,
        )
        try:
            if mailbox.starttls:
                await asyncio.to_thread(client.starttls, context)
            await asyncio.to_thread(client.login, mailbox.username, password)
            await asyncio.to_thread(client.select_folder, mailbox.folder)
            fetched = await self._imap_fetch(client, mailbox)
            capabilities = await asyncio.to_thread(client.capabilities)
            if b"IDLE" not in capabilities:
                return fetched, False
            # A search answers from the mailbox as the server last looked at it; setting
            # \Seen makes Dovecot look again, so the next search finds what came in
            # meanwhile. Mail that comes in after the last search is announced as IDLE
            # starts (see _imap_idle).
            while more := await self._imap_fetch(client, mailbox):
                fetched += more
            # Everything is read: the admin sees that now, not after the wait.
            await self._record(mailbox, None)
            if await self._imap_idle(client, mailbox.poll_seconds):
                fetched += await self._imap_fetch(client, mailbox)
            return fetched, True
        finally:
            # A connection that is gone already has nothing to hand back.
            with contextlib.suppress(IMAPClientError, OSError):
                await asyncio.to_thread(client.logout)

    async def _imap_fetch(self, client: Any, mailbox: Mailbox) -> int:
        uids: list[int] = await asyncio.to_thread(client.search, ["UNSEEN"])
        for start in range(0, len(uids), _BATCH):
            batch = uids[start : start + _BATCH]
            # BODY.PEEK leaves \Seen alone until the message is stored.
            found = await asyncio.to_thread(client.fetch, batch, ["BODY.PEEK[]"])
            for uid in batch:
                raw = found.get(uid, {}).get(b"BODY[]")
                if raw is None:
                    continue
                await self._take(bytes(raw), mailbox)
                await asyncio.to_thread(client.add_flags, [uid], [b"\\Seen"])
                activity.heartbeat()
        return len(uids)

    async def _imap_idle(self, client: Any, seconds: int) -> bool:
        """Wait up to `seconds` for the server to announce mail; True when it did.

        It also ends, returning False, when what the server had already sent turns
        out to be no new mail (flags another client changed): the next round then
        starts at once.
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        await asyncio.to_thread(client.idle)
        try:
            # Mail that came in after the last search is announced as IDLE starts: Dovecot
            # sends it right behind its "+ idling", in the same packet. idle() reads that
            # line through imaplib's buffered file, which takes the announcement in with
            # it, and idle_check waits on the socket, so it would not see the mail until
            # the server next said something (a keepalive minutes later, or never).
            while not await asyncio.to_thread(_unread, client):
                left = end - loop.time()
                if left <= 0:
                    break
                responses = await asyncio.to_thread(client.idle_check, min(_IDLE_SLICE, left))
                activity.heartbeat()
                if _announces_mail(responses):
                    return True
        finally:
            # The server ends IDLE after everything it announced; idle_done reads all of
            # it, what the buffer already held included.
            _, responses = await asyncio.to_thread(client.idle_done)
        return _announces_mail(responses)

    async def _pop3(self, mailbox: Mailbox, password: str) -> int:
        context = tls_context(mailbox)
        client: Any
        if mailbox.tls:
            client = await asyncio.to_thread(
                poplib.POP3_SSL, mailbox.host, mailbox.port, timeout=_TIMEOUT, context=context
            )
        else:
            client = await asyncio.to_thread(
                poplib.POP3, mailbox.host, mailbox.port, timeout=_TIMEOUT
            )
        try:
            if mailbox.starttls:
                await asyncio.to_thread(client.stls, context)
            await asyncio.to_thread(client.user, mailbox.username)
            await asyncio.to_thread(client.pass_, password)
            count, _ = await asyncio.to_thread(client.stat)
            for number in range(1, count + 1):
                _, lines, _ = await asyncio.to_thread(client.retr, number)
                await self._take(b"\r\n".join(lines) + b"\r\n", mailbox)
                # Deleted on QUIT only: a session that breaks off keeps every message.
                await asyncio.to_thread(client.dele, number)
                activity.heartbeat()
            await asyncio.to_thread(client.quit)
            return int(count)
        except BaseException:
            client.close()
            raise
