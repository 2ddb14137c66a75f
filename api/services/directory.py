"""People, organisations, groups and API tokens."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.errors import missing, refused
from api.mail.languages import check_language
from api.schemas import (
    GroupCreate,
    GroupPublic,
    OrganisationCreate,
    OrganisationPublic,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from api.security import digest, hash_password, new_api_token, verify_password
from models import ApiToken, Group, GroupMember, Organisation, OrganisationDomain, User
from workflows.choices import N_, DateCalendar, Digits, Role


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        organisation_id=user.organisation_id,
        active=user.active,
        language=user.language,
        timezone=user.timezone,
        date_calendar=DateCalendar(user.date_calendar) if user.date_calendar else None,
        digits=Digits(user.digits) if user.digits else None,
    )


async def organisation_for_email(session: AsyncSession, email: str) -> int | None:
    """The organisation one of whose mail domains is the address's domain, if any."""
    domain = _domain_key(email.rsplit("@", 1)[-1])
    return await session.scalar(
        select(OrganisationDomain.organisation_id).where(OrganisationDomain.domain == domain)
    )


def _domain_key(domain: str) -> str:
    """The stored form of a domain (lower case, IDNA), or the input lower-cased if not one."""
    try:
        return validate_email(f"postmaster@{domain}", check_deliverability=False).ascii_domain
    except EmailNotValidError:
        return domain.lower()


async def create_user(
    session: AsyncSession,
    body: UserCreate,
    *,
    templates_dir: Path | None = None,
    default_language: str = "en",
) -> UserPublic:
    """Create a person; a customer without an organisation joins the one of their domain.

    422 on `organisation_id` or `language` (no templates in it), 409 on `email`.
    """
    email = str(body.email).lower()
    await check_language(session, body.language, templates_dir, default_language)
    if (
        body.organisation_id is not None
        and await session.get(Organisation, body.organisation_id) is None
    ):
        raise refused(
            422,
            N_("%(name)s %(value)s is not an organisation"),
            field="organisation_id",
            code="invalid_field",
            name="organisation_id",
            value=body.organisation_id,
        )
    if body.role == Role.CUSTOMER and body.organisation_id is None:
        body.organisation_id = await organisation_for_email(session, email)
    user = User(
        email=email,
        name=body.name,
        role=body.role.value,
        organisation_id=body.organisation_id,
        password_hash=hash_password(body.password) if body.password else None,
        language=body.language,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise refused(
            409,
            N_("a user with email %(email)s already exists"),
            field="email",
            code="conflict",
            email=email,
        ) from exc
    return user_public(user)


async def users_by_id(session: AsyncSession, ids: Iterable[int]) -> list[UserPublic]:
    """The people of these ids that exist, in the order asked (unknown ids left out)."""
    found = []
    for user_id in ids:
        user = await session.get(User, user_id)
        if user is not None:
            found.append(user_public(user))
    return found


async def get_user(session: AsyncSession, user_id: int) -> UserPublic:
    user = await session.get(User, user_id)
    if user is None:
        raise missing(N_("user %(id)s not found"), id=user_id)
    return user_public(user)


async def update_user(
    session: AsyncSession,
    user_id: int,
    body: UserUpdate,
    *,
    templates_dir: Path | None,
    default_language: str,
) -> UserPublic:
    """Change the fields the body names; 404 for an unknown id, 422 on `language`."""
    user = await session.get(User, user_id)
    if user is None:
        raise missing(N_("user %(id)s not found"), id=user_id)
    given = body.model_fields_set
    if "name" in given:
        if body.name is None:
            raise refused(
                422,
                N_("%(name)s must not be empty"),
                field="name",
                code="invalid_field",
                name="name",
            )
        user.name = body.name
    if "language" in given:
        await check_language(session, body.language, templates_dir, default_language)
        user.language = body.language
    if "timezone" in given:
        if body.timezone is not None and body.timezone not in _zones():
            raise refused(
                422,
                N_(
                    "%(name)s: %(value)s is not a time zone; use an IANA name such as "
                    "Asia/Tehran or Europe/Berlin"
                ),
                field="timezone",
                code="invalid_field",
                name="timezone",
                value=repr(body.timezone),
            )
        user.timezone = body.timezone
    if "date_calendar" in given:
        user.date_calendar = body.date_calendar.value if body.date_calendar else None
    if "digits" in given:
        user.digits = body.digits.value if body.digits else None
    await session.commit()
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


def _organisation_public(org: Organisation, domains: list[str]) -> OrganisationPublic:
    return OrganisationPublic(
        id=org.id, name=org.name, domains=sorted(domains), shared_tickets=org.shared_tickets
    )


def _clean_domains(domains: list[str]) -> list[str]:
    """Each domain in its stored form (lower case, IDNA), duplicates dropped; 422 on `domains`."""
    cleaned: dict[str, None] = {}
    for domain in domains:
        try:
            valid = validate_email(f"postmaster@{domain.strip()}", check_deliverability=False)
        except EmailNotValidError as exc:
            reason = str(exc).replace("after the @-sign ", "")
            raise refused(
                422,
                N_("%(name)s: %(value)s is not a mail domain: %(reason)s"),
                field="domains",
                code="invalid_field",
                name="domains",
                value=repr(domain),
                reason=str(reason),
            ) from None
        cleaned[valid.ascii_domain] = None
    return list(cleaned)


async def _claim_domains(
    session: AsyncSession, organisation_id: int | None, domains: list[str]
) -> None:
    """409 on `domains` when another organisation has one of them already."""
    if not domains:
        return
    taken = (
        await session.execute(
            select(OrganisationDomain.domain, Organisation.name)
            .join(Organisation, Organisation.id == OrganisationDomain.organisation_id)
            .where(OrganisationDomain.domain.in_(domains))
            .where(OrganisationDomain.organisation_id != (organisation_id or 0))
            .order_by(OrganisationDomain.domain)
        )
    ).first()
    if taken is not None:
        raise refused(
            409,
            N_(
                "%(name)s: %(domain)s belongs to the organisation %(organisation)s already; "
                "remove it there first"
            ),
            field="domains",
            code="conflict",
            name="domains",
            domain=str(taken[0]),
            organisation=repr(taken[1]),
        )


async def _check_name(session: AsyncSession, name: str, organisation_id: int | None) -> None:
    clash = await session.scalar(
        select(Organisation.id).where(
            Organisation.name == name, Organisation.id != (organisation_id or 0)
        )
    )
    if clash is not None:
        raise refused(
            409,
            N_("an organisation named %(value)s exists"),
            field="name",
            code="conflict",
            value=repr(name),
        )


async def _commit_organisation(session: AsyncSession) -> None:
    # The checks above give the clear message; a concurrent save of the same name or
    # domain that slips between check and commit still meets the unique keys.
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise refused(
            409,
            N_("another organisation took this name or one of these domains just now"),
            field="domains",
            code="conflict",
        ) from exc


async def create_organisation(
    session: AsyncSession, body: OrganisationCreate
) -> OrganisationPublic:
    """Create an organisation with its mail domains; 409 on `name` or `domains` taken."""
    domains = _clean_domains(body.domains)
    await _check_name(session, body.name, None)
    await _claim_domains(session, None, domains)
    org = Organisation(name=body.name, shared_tickets=body.shared_tickets)
    session.add(org)
    await session.flush()
    session.add_all(OrganisationDomain(domain=d, organisation_id=org.id) for d in domains)
    await _commit_organisation(session)
    return _organisation_public(org, domains)


async def replace_organisation(
    session: AsyncSession, organisation_id: int, body: OrganisationCreate
) -> OrganisationPublic:
    """Change name, domains and sharing; domains left out of the list are released."""
    org = await session.get(Organisation, organisation_id)
    if org is None:
        raise missing(N_("organisation %(id)s not found"), id=organisation_id)
    domains = _clean_domains(body.domains)
    await _check_name(session, body.name, organisation_id)
    await _claim_domains(session, organisation_id, domains)
    org.name = body.name
    org.shared_tickets = body.shared_tickets
    await session.execute(
        delete(OrganisationDomain).where(OrganisationDomain.organisation_id == organisation_id)
    )
    session.add_all(OrganisationDomain(domain=d, organisation_id=org.id) for d in domains)
    await _commit_organisation(session)
    return _organisation_public(org, domains)


async def _domains_by_organisation(session: AsyncSession) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    rows = await session.execute(
        select(OrganisationDomain.organisation_id, OrganisationDomain.domain)
    )
    for organisation_id, domain in rows.tuples():
        found.setdefault(organisation_id, []).append(domain)
    return found


async def get_organisation(session: AsyncSession, organisation_id: int) -> OrganisationPublic:
    org = await session.get(Organisation, organisation_id)
    if org is None:
        raise missing(N_("organisation %(id)s not found"), id=organisation_id)
    domains = await session.scalars(
        select(OrganisationDomain.domain).where(
            OrganisationDomain.organisation_id == organisation_id
        )
    )
    return _organisation_public(org, list(domains))


async def list_organisations(session: AsyncSession) -> list[OrganisationPublic]:
    rows = await session.scalars(select(Organisation).order_by(Organisation.name))
    domains = await _domains_by_organisation(session)
    return [_organisation_public(o, domains.get(o.id, [])) for o in rows]


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
            required_skills=list(g.required_skills or []),
        )
        for g in groups
    ]


async def create_group(session: AsyncSession, body: GroupCreate) -> GroupPublic:
    for user_id in body.member_ids:
        user = await session.get(User, user_id)
        if user is None or user.role == Role.CUSTOMER:
            raise refused(
                422,
                N_("member %(id)s is not an agent"),
                field="member_ids",
                code="invalid_field",
                id=user_id,
            )
    if body.lead_id is not None:
        lead = await session.get(User, body.lead_id)
        if lead is None or lead.role == Role.CUSTOMER:
            raise refused(
                422,
                N_("lead %(id)s is not an agent"),
                field="lead_id",
                code="invalid_field",
                id=body.lead_id,
            )
    unknown = sorted(set(body.skills) - set(body.member_ids))
    if unknown:
        raise refused(
            422,
            N_("skills for %(id)s, who is not a member"),
            id=unknown[0],
            field="skills",
            code="invalid_field",
        )
    group = Group(
        name=body.name,
        description=body.description,
        lead_id=body.lead_id,
        strategy=body.strategy,
        offer_timeout_seconds=body.offer_timeout_seconds,
        required_skills=sorted(set(body.required_skills)),
    )
    session.add(group)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise refused(
            409,
            N_("a group named %(value)s exists"),
            field="name",
            code="conflict",
            value=repr(body.name),
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
        required_skills=list(group.required_skills),
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
        raise missing(N_("token %(id)s not found"), id=token_id)
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        await session.commit()
    return _token_public(token)
