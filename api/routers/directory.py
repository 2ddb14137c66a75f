"""People and teams: users, organisations, groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import AdminUser, CurrentUser, SessionDep, StaffUser
from api.schemas import (
    GroupCreate,
    GroupPublic,
    OrganisationCreate,
    OrganisationPublic,
    UserCreate,
    UserPublic,
)
from api.services import directory
from workflows.choices import Role

router = APIRouter(tags=["directory"])


@router.get("/users/me")
async def me(user: CurrentUser) -> UserPublic:
    """The caller."""
    return UserPublic(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        organisation_id=user.organisation_id,
        active=True,
    )


@router.get("/users")
async def list_users(
    user: StaffUser,
    session: SessionDep,
    role: Annotated[list[Role], Query()] = [],  # noqa: B006
    q: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
) -> list[UserPublic]:
    """Users, optionally by role or matching text (staff only)."""
    return await directory.list_users(session, roles=role, q=q)


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, user: AdminUser, session: SessionDep) -> UserPublic:
    """Create a user (admin only)."""
    return await directory.create_user(session, body)


@router.get("/organisations")
async def list_organisations(user: StaffUser, session: SessionDep) -> list[OrganisationPublic]:
    """Customer organisations (staff only)."""
    return await directory.list_organisations(session)


@router.post("/organisations", status_code=status.HTTP_201_CREATED)
async def create_organisation(
    body: OrganisationCreate, user: AdminUser, session: SessionDep
) -> OrganisationPublic:
    """Create an organisation (admin only)."""
    return await directory.create_organisation(session, body)


@router.get("/groups")
async def list_groups(user: StaffUser, session: SessionDep) -> list[GroupPublic]:
    """Groups with their members (staff only)."""
    return await directory.list_groups(session)


@router.post("/groups", status_code=status.HTTP_201_CREATED)
async def create_group(body: GroupCreate, user: AdminUser, session: SessionDep) -> GroupPublic:
    """Create a group (admin only)."""
    return await directory.create_group(session, body)
