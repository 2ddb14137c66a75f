"""Desk-wide settings a process owner changes at run time (priority matrix, reopen window)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class DeskSetting(Base):
    __tablename__ = "desk_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


PRIORITY_MATRIX = "priority_matrix"
REOPEN_WINDOW = "reopen_window_seconds"


async def read_desk_settings(db: AsyncSession | AsyncConnection) -> dict[str, Any]:
    """Every stored desk setting by key (absent keys fall back to defaults in the caller)."""
    rows = await db.execute(select(DeskSetting.key, DeskSetting.value))
    return {key: value for key, value in rows.tuples()}
