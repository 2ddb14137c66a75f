"""Desk-wide settings a process owner changes at run time (priority matrix, reopen window)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, SmallInteger, String, func, select
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


class DeskConfigGeneration(Base):
    """One number, raised by triggers in the same transaction as any change of the desk
    settings, routing rules, SLA policies or calendars (migration 0009): whoever keeps
    that configuration in memory reads only this to know whether it is current."""

    __tablename__ = "desk_config_generation"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)


PRIORITY_MATRIX = "priority_matrix"
REOPEN_WINDOW = "reopen_window_seconds"


async def read_desk_settings(db: AsyncSession | AsyncConnection) -> dict[str, Any]:
    """Every stored desk setting by key (absent keys fall back to defaults in the caller)."""
    rows = await db.execute(select(DeskSetting.key, DeskSetting.value))
    return {key: value for key, value in rows.tuples()}
