"""Dependency aliases shared by every router and web route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.auth import Principal, authenticate, check_csrf
from api.errors import ApiError
from api.live import NotificationHub
from tempodesk.settings import Settings


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


SessionDep = Annotated[AsyncSession, Depends(_session)]
TemporalDep = Annotated[Client, Depends(_temporal)]
SettingsDep = Annotated[Settings, Depends(_settings)]


async def _authenticated(request: Request, session: AsyncSession) -> Principal:
    principal = await authenticate(request, session)
    if principal is None:
        raise ApiError(
            401,
            "authentication required: send 'Authorization: Bearer <token>' or log in",
            code="unauthenticated",
        )
    await check_csrf(request, principal)
    return principal


async def _current_user(request: Request, session: SessionDep) -> Principal:
    return await _authenticated(request, session)


CurrentUser = Annotated[Principal, Depends(_current_user)]


async def _streaming_user(request: Request) -> Principal:
    # A request's SessionDep is closed only when its response ends; a stream lasts hours
    # and must not keep one of the pool's connections, so it authenticates on its own.
    async with request.app.state.sessions() as session:
        return await _authenticated(request, session)


StreamingUser = Annotated[Principal, Depends(_streaming_user)]
"""The caller of a long-lived response (authenticated like CurrentUser)."""


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
        raise ApiError(403, "only agents, managers and admins may do this", code="forbidden")
    return user


async def _admin(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise ApiError(403, "only admins may do this", code="forbidden")
    return user


StaffUser = Annotated[Principal, Depends(_staff)]
AdminUser = Annotated[Principal, Depends(_admin)]
