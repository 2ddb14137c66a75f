"""Monitoring integrations: their settings, rules, webhook mappings and tokens (admins).

Shared by the JSON API, the web UI and the configuration file import. A token is
shown once, when it is made; only its digest is stored (api/security.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import jmespath
from jmespath.exceptions import JMESPathError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError, as_problem, invalid, refused
from api.schemas import (
    IntegrationBody,
    IntegrationCreated,
    IntegrationPublic,
    IntegrationRule,
    WebhookMapping,
)
from api.security import digest, new_secret
from api.services.sla import check_service
from models import Group, Integration, User
from workflows.choices import N_, Role
from workflows.ticket.errors import Sentence

INTEGRATION_TOKEN_PREFIX = "tdi_"


def _public(row: Integration) -> IntegrationPublic:
    return IntegrationPublic(
        id=row.id,
        name=row.name,
        kind=row.kind,
        active=row.active,
        token_prefix=row.token_prefix,
        token_active=row.token_digest is not None and row.token_revoked_at is None,
        token_revoked_at=row.token_revoked_at,
        service_id=row.service_id,
        group_id=row.group_id,
        resolve_mode=row.resolve_mode,
        flap_window_seconds=row.flap_window_seconds,
        link_by=row.link_by,
        rules=[IntegrationRule.model_validate(r) for r in row.rules],
        mapping=WebhookMapping.model_validate(row.mapping) if row.mapping else None,
        requester_id=row.requester_id,
        created_at=row.created_at,
        last_event_at=row.last_event_at,
    )


async def integration_row(session: AsyncSession, integration_id: int) -> Integration:
    row = await session.get(Integration, integration_id)
    if row is None:
        raise refused(404, N_("no integration %(id)s"), code="not_found", id=integration_id)
    return row


def mapping_problems(body: IntegrationBody) -> list[tuple[str, str]]:
    """What is wrong with a mapping, as (field, message) pairs."""
    if body.kind != "webhook":
        if body.mapping is not None:
            return [("mapping", Sentence(N_("only webhook integrations have a mapping")))]
        return []
    if body.mapping is None:
        return [("mapping", Sentence(N_("a webhook integration needs a mapping")))]
    problems: list[tuple[str, str]] = []
    for name in ("items", "dedup_key", "summary", "severity", "source", "status"):
        expression = getattr(body.mapping, name)
        if expression is None:
            continue
        try:
            jmespath.compile(expression)
        except JMESPathError as exc:
            # The parser's own account of the fault is English: a parameter, as it stands.
            message = Sentence(
                N_("%(expression)s is not a JMESPath expression: %(fault)s"),
                expression=repr(expression),
                fault=str(exc),
            )
            problems.append((f"mapping.{name}", message))
    return problems


async def _check_references(session: AsyncSession, body: IntegrationBody) -> None:
    problems = mapping_problems(body)
    groups = [("group_id", body.group_id)] + [
        (f"rules.{i}.group_id", r.group_id) for i, r in enumerate(body.rules)
    ]
    for where, group_id in groups:
        if group_id is not None and await session.get(Group, group_id) is None:
            problems.append((where, Sentence(N_("group %(id)s does not exist"), id=group_id)))
    services = [("service_id", body.service_id)] + [
        (f"rules.{i}.service_id", r.service_id) for i, r in enumerate(body.rules)
    ]
    for where, service_id in services:
        try:
            await check_service(session, service_id)
        except ApiError as exc:
            problems.append((where, as_problem(exc)))
    if problems:
        raise invalid(problems)


async def list_integrations(session: AsyncSession) -> list[IntegrationPublic]:
    rows = await session.scalars(select(Integration).order_by(Integration.name))
    return [_public(r) for r in rows]


async def get_integration(session: AsyncSession, integration_id: int) -> IntegrationPublic:
    return _public(await integration_row(session, integration_id))


def _new_token(row: Integration) -> str:
    secret = new_secret(INTEGRATION_TOKEN_PREFIX)
    row.token_digest = digest(secret)
    row.token_prefix = secret[:10]
    row.token_revoked_at = None
    return secret


async def add_integration_row(session: AsyncSession, body: IntegrationBody) -> Integration:
    """A new integration row with its own contact (the requester of its incidents), no token."""
    contact = User(
        email=f"integration-{uuid.uuid4().hex[:16]}@monitoring.tempodesk.invalid",
        name=f"{body.name[:180]} (monitoring)",
        role=Role.CUSTOMER.value,
    )
    session.add(contact)
    await session.flush()
    row = Integration(name=body.name, kind=body.kind, requester_id=contact.id, mapping={}, rules=[])
    apply_body(row, body)
    session.add(row)
    return row


def apply_body(row: Integration, body: IntegrationBody) -> bool:
    """Set the row's settings from the body; whether anything changed."""
    values = {
        "name": body.name,
        "service_id": body.service_id,
        "group_id": body.group_id,
        "resolve_mode": body.resolve_mode,
        "flap_window_seconds": body.flap_window_seconds,
        "link_by": body.link_by,
        "rules": [r.model_dump(mode="json", exclude_none=True) for r in body.rules],
        "mapping": body.mapping.model_dump(mode="json") if body.mapping else {},
        "active": body.active,
    }
    changed = False
    for name, value in values.items():
        if getattr(row, name, None) != value:
            setattr(row, name, value)
            changed = True
    return changed


async def _commit_named(session: AsyncSession, name: str) -> None:
    """Commit, answering a second integration of the same name with a 409 on `name`."""
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise refused(
            409,
            N_("an integration named %(value)s exists"),
            field="name",
            code="conflict",
            value=repr(name),
        ) from exc


async def create_integration(session: AsyncSession, body: IntegrationBody) -> IntegrationCreated:
    """A new integration with its own contact and a token (in the answer, once)."""
    await _check_references(session, body)
    row = await add_integration_row(session, body)
    secret = _new_token(row)
    await _commit_named(session, body.name)
    await session.refresh(row)
    return IntegrationCreated(**_public(row).model_dump(), token=secret)


async def update_integration(
    session: AsyncSession, integration_id: int, body: IntegrationBody
) -> IntegrationPublic:
    row = await integration_row(session, integration_id)
    if body.kind != row.kind:
        raise refused(
            422, N_("the kind of an integration cannot change"), field="kind", code="invalid_field"
        )
    await _check_references(session, body)
    apply_body(row, body)
    await _commit_named(session, body.name)
    await session.refresh(row)
    return _public(row)


async def rotate_token(session: AsyncSession, integration_id: int) -> IntegrationCreated:
    """A new token; the old one stops working at once."""
    row = await integration_row(session, integration_id)
    secret = _new_token(row)
    await session.commit()
    await session.refresh(row)
    return IntegrationCreated(**_public(row).model_dump(), token=secret)


async def revoke_token(session: AsyncSession, integration_id: int) -> IntegrationPublic:
    row = await integration_row(session, integration_id)
    if row.token_revoked_at is None:
        row.token_revoked_at = datetime.now(UTC)
        await session.commit()
        await session.refresh(row)
    return _public(row)
