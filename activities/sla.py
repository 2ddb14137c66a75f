"""SLA look-ups for the ticket's activities: which policy matches, its calendar resolved.

Read-only; callers run them inside their own transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import cast

from pydantic import ValidationError
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from models import Calendar, CalendarDay, DeskConfigGeneration, RoutingRuleRow, SlaPolicyRow
from models.desk import read_desk_settings
from workflows.business_time import BusinessCalendar
from workflows.choices import TicketType
from workflows.routing import RoutingRule, RuleConditions
from workflows.sla import SlaPolicy
from workflows.sla_config import CalendarSpec, DaySpec, PolicySpec, resolve_calendar, to_snapshot
from workflows.ticket.messages import DeskConfig

log = logging.getLogger(__name__)

_policies = cast(Table, SlaPolicyRow.__table__)
_calendars = cast(Table, Calendar.__table__)
_days = cast(Table, CalendarDay.__table__)
_rules = cast(Table, RoutingRuleRow.__table__)
_generation = cast(Table, DeskConfigGeneration.__table__)
_CURRENT_GENERATION = select(_generation.c.generation).where(_generation.c.id == 1)
"""Asked before every opening and SLA look-up: built once (statements are immutable)."""


def policy_spec(row: object) -> PolicySpec:
    """A stored policy row (ORM object or Core row) as its spec."""
    return PolicySpec.model_validate(row, from_attributes=True)


async def calendar_spec(conn: AsyncConnection, calendar_id: int) -> CalendarSpec | None:
    row = (await conn.execute(select(_calendars).where(_calendars.c.id == calendar_id))).first()
    if row is None:
        return None
    days = await conn.execute(
        select(_days).where(_days.c.calendar_id == calendar_id).order_by(_days.c.day)
    )
    return CalendarSpec(
        name=row.name,
        timezone=row.timezone,
        week=row.week,
        holiday_country=row.holiday_country,
        holiday_subdivision=row.holiday_subdivision,
        days=[DaySpec(day=d.day, hours=d.hours, label=d.label) for d in days],
    )


@dataclass(frozen=True)
class DeskSnapshot:
    """The configuration a ticket is opened and re-matched with, as of one generation
    (`models.DeskConfigGeneration`): desk settings, active routing rules and active
    SLA policies in order, each parsed once."""

    generation: int | None
    config: DeskConfig
    rules: list[RoutingRule]
    policies: list[tuple[int, int, PolicySpec]]
    """(id, version, spec) of each readable active policy, by position."""


async def _load_snapshot(conn: AsyncConnection, generation: int | None) -> DeskSnapshot:
    config = DeskConfig.from_stored(await read_desk_settings(conn))
    rules = [
        RoutingRule(
            id=row.id,
            name=row.name,
            conditions=RuleConditions.model_validate(row.conditions or {}),
            group_id=row.group_id,
            skills=list(row.skills or []),
        )
        for row in await conn.execute(
            select(
                _rules.c.id, _rules.c.name, _rules.c.conditions, _rules.c.group_id, _rules.c.skills
            )
            .where(_rules.c.active.is_(True))
            .order_by(_rules.c.position)
        )
    ]
    policies: list[tuple[int, int, PolicySpec]] = []
    for row in await conn.execute(
        select(_policies).where(_policies.c.active).order_by(_policies.c.position)
    ):
        try:
            policies.append((row.id, row.version, policy_spec(row)))
        except ValidationError:
            # Stored by an older version or by hand: never let it stop a ticket.
            log.warning("SLA policy %s cannot be read; skipped", row.id)
    return DeskSnapshot(generation, config, rules, policies)


class SlaLookups:
    """Matches policies and resolves calendars; keeps resolved calendars per calendar
    version and day, since resolving public holidays for three years is not free.

    Also keeps the desk's configuration (`snapshot`) for as long as its generation
    number is unchanged: a new ticket then costs one small read instead of three
    (docs/benchmarks.md)."""

    def __init__(self) -> None:
        self._resolved: dict[tuple[int, object, date], BusinessCalendar] = {}
        self._snapshot: DeskSnapshot | None = None

    async def snapshot(self, conn: AsyncConnection) -> DeskSnapshot:
        """The configuration as committed now (read again only when it changed)."""
        generation = await conn.scalar(_CURRENT_GENERATION)
        cached = self._snapshot
        if cached is not None and generation is not None and cached.generation == generation:
            return cached
        self._snapshot = await _load_snapshot(conn, generation)
        return self._snapshot

    async def calendar(
        self,
        conn: AsyncConnection,
        calendar_id: int,
        around: date,
        *,
        generation: int | None = None,
    ) -> BusinessCalendar | None:
        """The calendar resolved around a day. With the configuration's generation the
        cached one is used without asking the database whether it changed."""
        version: object = ("generation", generation)
        if generation is None:
            version = await conn.scalar(
                select(_calendars.c.updated_at).where(_calendars.c.id == calendar_id)
            )
            if version is None:
                return None
        key = (calendar_id, version, around)
        if key not in self._resolved:
            spec = await calendar_spec(conn, calendar_id)
            if spec is None:
                return None
            if len(self._resolved) > 256:
                self._resolved.clear()
            self._resolved[key] = resolve_calendar(spec, around)
        return self._resolved[key]

    async def match(
        self,
        conn: AsyncConnection,
        *,
        type_: TicketType,
        priority: int,
        service_id: int | None,
        organisation_id: int | None,
        group_id: int | None,
        around: date,
        snapshot: DeskSnapshot | None = None,
    ) -> SlaPolicy | None:
        """The first active policy (by position) whose conditions hold, else the default."""
        if snapshot is None:
            snapshot = await self.snapshot(conn)
        chosen = None
        default = None
        for found in snapshot.policies:
            spec = found[2]
            if spec.is_default:
                default = default or found
            elif spec.conditions.allow(type_, priority, service_id, organisation_id, group_id):
                chosen = found
                break
        match = chosen or default
        if match is None:
            return None
        policy_id, version, spec = match
        calendar = await self.calendar(
            conn, spec.calendar_id, around, generation=snapshot.generation
        )
        if calendar is None:
            return None
        return to_snapshot(spec, policy_id, version, calendar)
