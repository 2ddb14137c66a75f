"""People and teams: users, organisations, groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, StaffUser
from api.mail.languages import mail_languages
from api.schemas import (
    MAX_INT,
    GroupCreate,
    GroupPublic,
    OrganisationCreate,
    OrganisationPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from api.services import directory
from workflows.choices import Role

router = APIRouter(tags=["directory"])

RowId = Annotated[int, Path(ge=1, le=MAX_INT)]


@router.get("/users/me")
async def me(user: CurrentUser, session: SessionDep) -> UserPublic:
    """The caller."""
    return await directory.get_user(session, user.id)


@router.patch("/users/me")
async def update_me(
    body: UserUpdate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> UserPublic:
    """Change one's own name or mail language."""
    return await directory.update_user(
        session,
        user.id,
        body,
        templates_dir=settings.mail_templates_dir,
        default_language=settings.mail_language,
    )


@router.get("/users/languages")
async def languages(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> list[str]:
    """The languages a person may choose for their mail (those templates exist in)."""
    return await mail_languages(session, settings.mail_templates_dir, settings.mail_language)


@router.patch("/users/{user_id}")
async def update_user(
    user_id: RowId,
    body: UserUpdate,
    user: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
) -> UserPublic:
    """Change a person's name or mail language (admin only)."""
    return await directory.update_user(
        session,
        user_id,
        body,
        templates_dir=settings.mail_templates_dir,
        default_language=settings.mail_language,
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
async def create_user(
    body: UserCreate, user: AdminUser, session: SessionDep, settings: SettingsDep
) -> UserPublic:
    """Create a user (admin only)."""
    return await directory.create_user(
        session,
        body,
        templates_dir=settings.mail_templates_dir,
        default_language=settings.mail_language,
    )


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


@router.get("/organisations/{organisation_id}")
async def get_organisation(
    organisation_id: RowId, user: StaffUser, session: SessionDep
) -> OrganisationPublic:
    """One organisation with its mail domains (staff only)."""
    return await directory.get_organisation(session, organisation_id)


@router.put("/organisations/{organisation_id}")
async def replace_organisation(
    organisation_id: RowId, body: OrganisationCreate, user: AdminUser, session: SessionDep
) -> OrganisationPublic:
    """Change an organisation's name, mail domains and sharing (admin only)."""
    return await directory.replace_organisation(session, organisation_id, body)


@router.get("/groups")
async def list_groups(user: StaffUser, session: SessionDep) -> list[GroupPublic]:
    """Groups with their members (staff only)."""
    return await directory.list_groups(session)


@router.post("/groups", status_code=status.HTTP_201_CREATED)
async def create_group(body: GroupCreate, user: AdminUser, session: SessionDep) -> GroupPublic:
    """Create a group (admin only)."""
    return await directory.create_group(session, body)
