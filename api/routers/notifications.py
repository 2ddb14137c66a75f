"""The caller's notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from api.deps import CurrentUser, SessionDep
from api.schemas import MAX_BIGINT, NotificationPublic, Strict
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
