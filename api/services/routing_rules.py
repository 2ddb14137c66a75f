"""Routing rules: which group a new ticket without one lands in, and the skills it needs."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError, as_problem, invalid, refused
from api.schemas import RoutingRuleBody, RoutingRulePublic
from api.services.sla import check_service
from models import Group, Organisation, RoutingRuleRow
from workflows.choices import N_
from workflows.ticket.errors import Sentence


def _public(row: RoutingRuleRow) -> RoutingRulePublic:
    return RoutingRulePublic.model_validate(
        {
            "id": row.id,
            "position": row.position,
            "name": row.name,
            "active": row.active,
            "conditions": row.conditions,
            "group_id": row.group_id,
            "skills": row.skills,
        }
    )


async def list_rules(session: AsyncSession) -> list[RoutingRulePublic]:
    rows = await session.scalars(select(RoutingRuleRow).order_by(RoutingRuleRow.position))
    return [_public(r) for r in rows]


async def _row(session: AsyncSession, rule_id: int) -> RoutingRuleRow:
    row = await session.get(RoutingRuleRow, rule_id)
    if row is None:
        raise refused(404, N_("no routing rule %(id)s"), code="not_found", id=rule_id)
    return row


async def _check(session: AsyncSession, body: RoutingRuleBody) -> None:
    problems: list[tuple[str, str]] = []
    if await session.get(Group, body.group_id) is None:
        problems.append(("group_id", Sentence(N_("group %(id)s does not exist"), id=body.group_id)))
    for i, service_id in enumerate(body.conditions.service_ids):
        try:
            await check_service(session, service_id)
        except ApiError as exc:
            problems.append((f"conditions.service_ids.{i}", as_problem(exc)))
    for i, org_id in enumerate(body.conditions.organisation_ids):
        if await session.get(Organisation, org_id) is None:
            problems.append(
                (
                    f"conditions.organisation_ids.{i}",
                    Sentence(N_("organisation %(id)s does not exist"), id=org_id),
                )
            )
    if problems:
        raise invalid(problems)


def _values(body: RoutingRuleBody) -> dict[str, object]:
    return {
        "name": body.name,
        "active": body.active,
        "conditions": body.conditions.model_dump(mode="json"),
        "group_id": body.group_id,
        "skills": body.skills,
    }


async def create_rule(session: AsyncSession, body: RoutingRuleBody) -> RoutingRulePublic:
    """A new rule, tried after the existing ones."""
    await _check(session, body)
    last = await session.scalar(select(func.max(RoutingRuleRow.position)))
    row = RoutingRuleRow(position=(last or 0) + 1, **_values(body))
    session.add(row)
    await session.commit()
    return _public(row)


async def update_rule(
    session: AsyncSession, rule_id: int, body: RoutingRuleBody
) -> RoutingRulePublic:
    row = await _row(session, rule_id)
    await _check(session, body)
    for name, value in _values(body).items():
        setattr(row, name, value)
    await session.commit()
    return _public(row)


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    await session.delete(await _row(session, rule_id))
    await session.commit()


async def reorder(session: AsyncSession, ids: list[int]) -> list[RoutingRulePublic]:
    rows = {r.id: r for r in await session.scalars(select(RoutingRuleRow))}
    if sorted(ids) != sorted(rows):
        raise refused(
            422,
            N_("%(name)s must name every routing rule exactly once"),
            field="ids",
            code="invalid_field",
            name="ids",
        )
    for position, rule_id in enumerate(ids, start=1):
        rows[rule_id].position = position
    await session.commit()
    return await list_rules(session)
