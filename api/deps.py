"""Dependency aliases shared by every router and web route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.auth import Principal, authenticate, check_csrf
from api.errors import ApiError
from tempodesk.settings import Settings


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


def _temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(_session)]
TemporalDep = Annotated[Client, Depends(_temporal)]
SettingsDep = Annotated[Settings, Depends(_settings)]


async def _current_user(request: Request, session: SessionDep) -> Principal:
    principal = await authenticate(request, session)
    if principal is None:
        raise ApiError(
            401,
            "authentication required: send 'Authorization: Bearer <token>' or log in",
            code="unauthenticated",
        )
    await check_csrf(request, principal)
    return principal


CurrentUser = Annotated[Principal, Depends(_current_user)]


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
