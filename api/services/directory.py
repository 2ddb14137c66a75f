"""People, organisations, groups and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.errors import ApiError, not_found
from api.schemas import (
    GroupCreate,
    GroupPublic,
    OrganisationCreate,
    OrganisationPublic,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
)
from api.security import digest, hash_password, new_api_token, verify_password
from models import ApiToken, Group, GroupMember, Organisation, User
from workflows.choices import Role


def user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        organisation_id=user.organisation_id,
        active=user.active,
    )


async def create_user(session: AsyncSession, body: UserCreate) -> UserPublic:
    email = str(body.email).lower()
    if (
        body.organisation_id is not None
        and await session.get(Organisation, body.organisation_id) is None
    ):
        raise ApiError(
            422,
            f"organisation_id {body.organisation_id} is not an organisation",
            field="organisation_id",
            code="invalid_field",
        )
    if body.role == Role.CUSTOMER and body.organisation_id is None:
        domain = email.rsplit("@", 1)[-1]
        org = await session.scalar(select(Organisation).where(Organisation.domain == domain))
        body.organisation_id = org.id if org else None
    user = User(
        email=email,
        name=body.name,
        role=body.role.value,
        organisation_id=body.organisation_id,
        password_hash=hash_password(body.password) if body.password else None,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ApiError(
            409, f"a user with email {email} already exists", field="email", code="conflict"
        ) from exc
    return user_public(user)


async def list_users(
    session: AsyncSession,
    *,
    roles: list[Role] | None = None,
    q: str | None = None,
    limit: int = 200,
) -> list[UserPublic]:
    query = select(User).order_by(User.name).limit(limit)
    if roles:
        query = query.where(User.role.in_([r.value for r in roles]))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(User.email.like(like) | User.name.ilike(like))
    return [user_public(u) for u in await session.scalars(query)]


async def login(session: AsyncSession, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Runs argon2 either way."""
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        return None
    return user


async def create_organisation(
    session: AsyncSession, body: OrganisationCreate
) -> OrganisationPublic:
    org = Organisation(
        name=body.name, domain=body.domain or None, shared_tickets=body.shared_tickets
    )
    session.add(org)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ApiError(
            409, "an organisation with this name or domain exists", field="name", code="conflict"
        ) from exc
    return OrganisationPublic(
        id=org.id, name=org.name, domain=org.domain, shared_tickets=org.shared_tickets
    )


async def list_organisations(session: AsyncSession) -> list[OrganisationPublic]:
    rows = await session.scalars(select(Organisation).order_by(Organisation.name))
    return [
        OrganisationPublic(id=o.id, name=o.name, domain=o.domain, shared_tickets=o.shared_tickets)
        for o in rows
    ]


async def list_groups(session: AsyncSession) -> list[GroupPublic]:
    groups = list(await session.scalars(select(Group).order_by(Group.name)))
    members = (
        await session.execute(select(GroupMember.group_id, GroupMember.user_id, GroupMember.skills))
    ).all()
    by_group: dict[int, list[int]] = {}
    skills: dict[int, dict[int, list[str]]] = {}
    for group_id, user_id, member_skills in members:
        by_group.setdefault(group_id, []).append(user_id)
        if member_skills:
            skills.setdefault(group_id, {})[user_id] = list(member_skills)
    return [
        GroupPublic(
            id=g.id,
            name=g.name,
            description=g.description,
            member_ids=sorted(by_group.get(g.id, [])),
            lead_id=g.lead_id,
            strategy=g.strategy,
            offer_timeout_seconds=g.offer_timeout_seconds,
            skills=skills.get(g.id, {}),
        )
        for g in groups
    ]


async def create_group(session: AsyncSession, body: GroupCreate) -> GroupPublic:
    for user_id in body.member_ids:
        user = await session.get(User, user_id)
        if user is None or user.role == Role.CUSTOMER:
            raise ApiError(
                422, f"member {user_id} is not an agent", field="member_ids", code="invalid_field"
            )
    if body.lead_id is not None:
        lead = await session.get(User, body.lead_id)
        if lead is None or lead.role == Role.CUSTOMER:
            raise ApiError(
                422, f"lead {body.lead_id} is not an agent", field="lead_id", code="invalid_field"
            )
    unknown = sorted(set(body.skills) - set(body.member_ids))
    if unknown:
        raise ApiError(
            422,
            f"skills for {unknown[0]}, who is not a member",
            field="skills",
            code="invalid_field",
        )
    group = Group(
        name=body.name,
        description=body.description,
        lead_id=body.lead_id,
        strategy=body.strategy,
        offer_timeout_seconds=body.offer_timeout_seconds,
    )
    session.add(group)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise ApiError(
            409, f"a group named {body.name!r} exists", field="name", code="conflict"
        ) from exc
    for user_id in sorted(set(body.member_ids)):
        session.add(
            GroupMember(group_id=group.id, user_id=user_id, skills=body.skills.get(user_id, []))
        )
    await session.commit()
    return GroupPublic(
        id=group.id,
        name=group.name,
        description=group.description,
        member_ids=sorted(set(body.member_ids)),
        lead_id=group.lead_id,
        strategy=group.strategy,
        offer_timeout_seconds=group.offer_timeout_seconds,
        skills={k: v for k, v in body.skills.items() if v},
    )


def _token_public(token: ApiToken) -> TokenPublic:
    return TokenPublic(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        user_id=token.user_id,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


async def create_token(session: AsyncSession, user_id: int, name: str) -> TokenCreated:
    secret = new_api_token()
    token = ApiToken(user_id=user_id, name=name, digest=digest(secret), prefix=secret[:10])
    session.add(token)
    await session.commit()
    await session.refresh(token)
    return TokenCreated(**_token_public(token).model_dump(), token=secret)


async def list_tokens(
    session: AsyncSession, principal: Principal, *, everyone: bool = False
) -> list[TokenPublic]:
    query = select(ApiToken).order_by(ApiToken.created_at.desc())
    if not (everyone and principal.is_admin):
        query = query.where(ApiToken.user_id == principal.id)
    return [_token_public(t) for t in await session.scalars(query)]


async def revoke_token(session: AsyncSession, principal: Principal, token_id: int) -> TokenPublic:
    """Revoke a token (own, or anyone's for an admin). Revoking twice is harmless."""
    token = await session.get(ApiToken, token_id)
    if token is None or (token.user_id != principal.id and not principal.is_admin):
        raise not_found(f"token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        await session.commit()
    return _token_public(token)
