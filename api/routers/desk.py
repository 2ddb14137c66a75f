"""Desk settings: the impact × urgency matrix and the reopen window."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminUser, SessionDep, StaffUser
from api.schemas import DeskSettings
from api.services import desk

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("")
async def get_settings(user: StaffUser, session: SessionDep) -> DeskSettings:
    """Current desk settings."""
    return await desk.get_settings(session)


@router.put("")
async def put_settings(body: DeskSettings, user: AdminUser, session: SessionDep) -> DeskSettings:
    """Replace the desk settings (admin only); open tickets use them from their next change."""
    return await desk.put_settings(session, body)
