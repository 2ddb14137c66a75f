"""Dependency aliases shared by every router and web route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.auth import Principal, authenticate, check_csrf
from api.errors import refused
from api.live import NotificationHub
from api.settings import Settings
from workflows.choices import N_
from workflows.ticket.client import TicketClient


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


# Plain look-ups are `async def`: FastAPI runs a plain `def` dependency in a thread
# pool, a thread hop per request for reading an attribute.
async def _temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _tickets(request: Request) -> TicketClient:
    tickets: TicketClient = request.app.state.tickets
    return tickets


SessionDep = Annotated[AsyncSession, Depends(_session)]
TemporalDep = Annotated[Client, Depends(_temporal)]
TicketsDep = Annotated[TicketClient, Depends(_tickets)]
"""The ticket client (`api.ticket_client`): how every route reaches a ticket's workflow."""
SettingsDep = Annotated[Settings, Depends(_settings)]


async def _authenticated(request: Request) -> Principal:
    # On a connection of its own in autocommit: the one statement needs no
    # transaction, and a request whose handler never touches its session (opening
    # a ticket) then costs no BEGIN and ROLLBACK round trips. The connection goes
    # back to the pool before the handler runs, so a long response holds none.
    reader: AsyncEngine = request.app.state.reader
    async with reader.connect() as conn:
        principal = await authenticate(request, conn)
    if principal is None:
        raise refused(
            401,
            N_("authentication required: send 'Authorization: Bearer <token>' or log in"),
            code="unauthenticated",
        )
    await check_csrf(request, principal)
    return principal


CurrentUser = Annotated[Principal, Depends(_authenticated)]
StreamingUser = CurrentUser
"""The caller of a long-lived response: authentication holds no connection past itself."""


async def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


async def _live(request: Request) -> NotificationHub:
    hub: NotificationHub = request.app.state.live
    return hub


SessionFactoryDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
"""For responses that outlive a request's session: open short sessions as needed."""
LiveDep = Annotated[NotificationHub, Depends(_live)]


async def _staff(user: CurrentUser) -> Principal:
    if not user.is_staff:
        raise refused(403, N_("only agents, managers and admins may do this"), code="forbidden")
    return user


async def _admin(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise refused(403, N_("only admins may do this"), code="forbidden")
    return user


StaffUser = Annotated[Principal, Depends(_staff)]
AdminUser = Annotated[Principal, Depends(_admin)]
