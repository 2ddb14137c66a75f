"""Desk-wide settings: the priority matrix and the reopen window."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from api.schemas import DeskSettings
from models import DeskSetting
from models.desk import PRIORITY_MATRIX, REOPEN_WINDOW, read_desk_settings
from workflows.priority import matrix_problems
from workflows.ticket.messages import DeskConfig


async def get_settings(session: AsyncSession) -> DeskSettings:
    config = DeskConfig.from_stored(await read_desk_settings(session))
    return DeskSettings(
        priority_matrix=config.priority_matrix, reopen_window_seconds=config.reopen_window_seconds
    )


async def put_settings(session: AsyncSession, body: DeskSettings) -> DeskSettings:
    problems = matrix_problems(body.priority_matrix)
    if problems:
        raise ApiError(
            422,
            "; ".join(problems),
            field="priority_matrix",
            code="invalid_field",
            problems=problems,
        )
    for key, value in (
        (PRIORITY_MATRIX, body.priority_matrix),
        (REOPEN_WINDOW, body.reopen_window_seconds),
    ):
        await store_setting(session, key, value)
    await session.commit()
    return await get_settings(session)


async def store_setting(session: AsyncSession, key: str, value: Any) -> None:
    """Upsert one checked setting; the caller commits."""
    stmt = insert(DeskSetting).values(key=key, value=value)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[DeskSetting.key], set_={"value": value})
    )
