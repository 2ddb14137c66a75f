"""The caller's notifications, and their live stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, TypeAlias

from fastapi import APIRouter, Header, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import Field

from api.deps import (
    CurrentUser,
    LiveDep,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
    StreamingUser,
)
from api.live import Signal
from api.schemas import (
    MAX_BIGINT,
    LiveNotification,
    NotificationPublic,
    NotificationStreamEvent,
    ResyncStreamEvent,
    Strict,
)
from api.services import notifications as service

router = APIRouter(prefix="/notifications", tags=["notifications"])


class MarkRead(Strict):
    ids: list[Annotated[int, Field(ge=1, le=MAX_BIGINT, strict=True)]] | None = Field(
        None, description="Omitted: all of them"
    )


class Marked(Strict):
    marked: int


@router.get("")
async def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NotificationPublic]:
    """The caller's notifications, newest first."""
    return await service.list_notifications(session, user, unread_only=unread, limit=limit)


@router.post("/read")
async def mark_read(body: MarkRead, user: CurrentUser, session: SessionDep) -> Marked:
    """Mark notifications read."""
    return Marked(marked=await service.mark_read(session, user, body.ids))


RETRY_MS = 3_000
"""How long a browser waits before it reconnects a dropped stream."""
REPLAY_LIMIT = 50
"""Most notifications a reconnecting stream is sent one by one; beyond, it is told to re-read."""

EventId = Annotated[int, Field(ge=0, le=MAX_BIGINT)]

STREAM_DESCRIPTION = """\
Server-Sent Events (`text/event-stream`) for the caller's own notifications, for as
long as the connection stays open. Authenticate like any other call (bearer token, or
the session cookie, which is what a browser's `EventSource` sends).

Events:

* `notification`: one was written for the caller. `data` is
  `{"unread": <count>, "notification": {id, kind, title, body, ticket_number, link,
  created_at, read_at}}`; the event's `id` is the notification's.
* `resync`: the stream may have missed some (the reader was too slow, the server lost
  its database connection for a moment, or more than 50 were missed while it was
  away). `data` is `{"unread": <count>}`; re-read `GET /notifications`.
* comments: `: connected` once the stream listens (with `retry: 3000`), and
  `: keep-alive` when it has been idle (15 s by default).

A client that reconnects with `Last-Event-ID` (browsers do so by themselves) is first
sent what it missed since that id, oldest first; a first connection can ask the same
with `?after=<id>` (e.g. the newest id on the page it was rendered with). Without
either, only what comes after the connection is sent. The stream ends when the server
stops; reconnect then.
"""


if TYPE_CHECKING:
    # What the stream really yields: every event is wrapped, naming its type and id.
    StreamEvents: TypeAlias = AsyncIterator[ServerSentEvent]
else:
    # FastAPI reads a stream's return annotation as the schema of the events' `data`
    # (OpenAPI itemSchema) and leaves yielded ServerSentEvents as they are.
    StreamEvents = AsyncIterator[NotificationStreamEvent | ResyncStreamEvent]


def _notification_event(unread: int, notification: LiveNotification) -> ServerSentEvent:
    return ServerSentEvent(
        event="notification",
        id=str(notification.id),
        data=NotificationStreamEvent(unread=unread, notification=notification),
    )


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    summary="Live stream of my notifications (Server-Sent Events)",
    description=STREAM_DESCRIPTION,
)
async def stream_notifications(
    user: StreamingUser,
    hub: LiveDep,
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    after: Annotated[
        EventId | None, Query(description="Send what came after this notification id first")
    ] = None,
    last_event_id: Annotated[
        EventId | None,
        Header(description="Sent by a reconnecting EventSource; wins over `after`"),
    ] = None,
) -> StreamEvents:
    """My notifications as they are written, as Server-Sent Events."""
    # Subscribe before reading anything: a row committed from here on is announced to the
    # inbox, and one committed before is found by the catch-up; `replayed` drops doubles.
    with hub.subscribe(user.id) as inbox:
        yield ServerSentEvent(comment="connected", retry=RETRY_MS)
        start = last_event_id if last_event_id is not None else after
        replayed: set[int] = set()
        last = start
        resync = start is not None
        while True:
            if resync:
                async with sessions() as session:
                    caught = await service.catch_up(session, user, last, REPLAY_LIMIT)
                if caught.missed is None:
                    replayed = set()
                    last = caught.newest_id
                    yield ServerSentEvent(
                        event="resync", id=str(last), data=ResyncStreamEvent(unread=caught.unread)
                    )
                else:
                    replayed = {n.id for n in caught.missed}
                    for notification in caught.missed:
                        last = max(last or 0, notification.id)
                        yield _notification_event(caught.unread, notification)
                resync = False
            item = await inbox.next(settings.live_keepalive_seconds)
            if item is None:
                yield ServerSentEvent(comment="keep-alive")
            elif item is Signal.CLOSED:
                return
            elif item is Signal.RESYNC:
                resync = True
            elif not isinstance(item, Signal) and item.notification.id not in replayed:
                last = max(last or 0, item.notification.id)
                yield _notification_event(item.unread, item.notification)
