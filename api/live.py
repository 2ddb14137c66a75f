"""Live notifications: one LISTEN connection per API process, fanned out to open streams.

The worker announces every notification row it commits on `NOTIFY_CHANNEL`
(`activities/projection.py`). Each API process keeps one PostgreSQL connection
listening on that channel (`NotificationHub`), reads the announced rows once, and
hands each to the open streams of the person it belongs to
(`GET /api/v1/notifications/stream`). The table stays the truth: whenever a stream
may have missed something (its inbox overflowed, the listener reconnected) it is
told to re-read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import TypeAlias

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception_type,
    wait_exponential_jitter,
)

from api.schemas import LiveNotification
from api.services import notifications as service
from models.notifications import NOTIFY_CHANNEL, announced

log = logging.getLogger(__name__)

APPLICATION_NAME = "tempodesk-live"
"""How the listening connection names itself in `pg_stat_activity`."""


class Signal(enum.Enum):
    RESYNC = "resync"
    """Something may have been missed: re-read the table."""
    CLOSED = "closed"
    """The server is stopping: end the stream."""


@dataclass(frozen=True)
class Delivery:
    """A new notification for the inbox's person, with their unread count at the time."""

    unread: int
    notification: LiveNotification


Item = Delivery | Signal

# What signal.signal accepts and returns (typeshed's private _HANDLER).
_SignalHandler: TypeAlias = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class Inbox:
    """What one open stream has not sent yet. Bounded: when full, its backlog is replaced
    by one RESYNC, so a slow reader costs itself a re-read and never holds up the hub."""

    def __init__(self, user_id: int, size: int) -> None:
        self.user_id = user_id
        self._queue: asyncio.Queue[Item] = asyncio.Queue(size)
        self._closed = False

    def offer(self, item: Item) -> None:
        if self._closed:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._replace(Signal.RESYNC)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._replace(Signal.CLOSED)

    def _replace(self, signal_: Signal) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(signal_)

    async def next(self, idle_seconds: float) -> Item | None:
        """The next item, or None when there was none for `idle_seconds`."""
        try:
            return await asyncio.wait_for(self._queue.get(), idle_seconds)
        except TimeoutError:
            return None


class _Dropped(Exception):
    """A connection that had been listening for a while was lost: reconnect without the
    backoff that piled up before it."""


class NotificationHub:
    """The process's one listener and the inboxes of its open streams."""

    def __init__(
        self,
        database_url: str,
        sessions: async_sessionmaker[AsyncSession],
        *,
        inbox_size: int = 100,
        max_backoff: float = 10.0,
    ) -> None:
        # The app's URL names SQLAlchemy's driver; libpq wants the plain scheme.
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
        self._sessions = sessions
        self._inbox_size = inbox_size
        self._max_backoff = max_backoff
        self._inboxes: dict[int, set[Inbox]] = {}
        self._closing = False
        self._listened = False
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        """Set while the listener's LISTEN is in place."""

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notification-listener")

    async def stop(self) -> None:
        self.close_streams()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def close_streams(self) -> None:
        """End every open stream, and any opened from now on (the server is stopping)."""
        self._closing = True
        for inboxes in self._inboxes.values():
            for inbox in inboxes:
                inbox.close()

    @contextlib.contextmanager
    def subscribe(self, user_id: int) -> Iterator[Inbox]:
        """An inbox for one stream of `user_id`, for as long as the block runs."""
        inbox = Inbox(user_id, self._inbox_size)
        if self._closing:
            inbox.close()
        self._inboxes.setdefault(user_id, set()).add(inbox)
        try:
            yield inbox
        finally:
            inboxes = self._inboxes.get(user_id, set())
            inboxes.discard(inbox)
            if not inboxes:
                self._inboxes.pop(user_id, None)

    def _resync_all(self) -> None:
        for inboxes in self._inboxes.values():
            for inbox in inboxes:
                inbox.offer(Signal.RESYNC)

    async def _run(self) -> None:
        while True:
            try:
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception_type((psycopg.OperationalError, OSError)),
                    wait=wait_exponential_jitter(multiplier=0.2, max=self._max_backoff, jitter=0.5),
                    before_sleep=before_sleep_log(log, logging.WARNING),
                    reraise=True,
                ):
                    with attempt:
                        await self._listen()
            except _Dropped as exc:
                log.warning("notification listener lost its connection: %s", exc.__cause__)

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self._dsn,
            autocommit=True,
            application_name=APPLICATION_NAME,
            # A peer that vanishes without closing (a failover, a cut cable) is noticed
            # in about a minute instead of the kernel's two hours.
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )
        async with conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(NOTIFY_CHANNEL)))
            since = time.monotonic()
            if self._listened:
                # Rows committed while nobody listened were announced to no one.
                self._resync_all()
            self._listened = True
            self.listening.set()
            try:
                async for notify in conn.notifies():
                    await self._deliver(announced(notify.payload))
                raise psycopg.OperationalError("the listening connection closed")
            except psycopg.OperationalError as exc:
                if time.monotonic() - since > self._max_backoff:
                    raise _Dropped(str(exc)) from exc
                raise
            finally:
                self.listening.clear()

    async def _deliver(self, pairs: list[tuple[int, int]]) -> None:
        # Only rows someone here is streaming are read, all of them in one query.
        ids = [notification for user, notification in pairs if user in self._inboxes]
        if not ids:
            return
        try:
            async with self._sessions() as session:
                rows = await service.announced(session, ids)
        except SQLAlchemyError:
            log.exception("could not read announced notifications; their streams re-read")
            for user, _ in pairs:
                for inbox in self._inboxes.get(user, set()):
                    inbox.offer(Signal.RESYNC)
            return
        for row in rows:
            delivery = Delivery(row.unread, row.notification)
            for inbox in self._inboxes.get(row.user_id, set()):
                inbox.offer(delivery)


@contextlib.contextmanager
def streams_end_on_exit_signal(hub: NotificationHub) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM first end every open stream, then do what
    they did before (uvicorn's handler: stop the server).

    uvicorn waits for open responses to finish before it runs the lifespan's shutdown,
    and a stream never finishes by itself: without this, Ctrl-C or a container stop would
    hang until every browser left. Handlers can only be set in the main thread; elsewhere
    (an app run in a test client's thread) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous: dict[int, _SignalHandler] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(hub.close_streams)
        before = previous[signum]
        if callable(before):
            before(signum, frame)
        elif before != signal.SIG_IGN:
            # The default action (terminate): put it back and deliver the signal again.
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for number, before in previous.items():
            signal.signal(number, before if before is not None else signal.SIG_DFL)
