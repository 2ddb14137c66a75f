"""SLA look-ups for the ticket's activities: which policy matches, its calendar resolved.

Read-only; callers run them inside their own transaction.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from pydantic import ValidationError
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from models import Calendar, CalendarDay, SlaPolicyRow
from workflows.business_time import BusinessCalendar
from workflows.choices import TicketType
from workflows.sla import SlaPolicy
from workflows.sla_config import CalendarSpec, DaySpec, PolicySpec, resolve_calendar, to_snapshot

log = logging.getLogger(__name__)

_policies = SlaPolicyRow.__table__
_calendars = Calendar.__table__
_days = CalendarDay.__table__
assert isinstance(_policies, Table) and isinstance(_calendars, Table) and isinstance(_days, Table)


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


class SlaLookups:
    """Matches policies and resolves calendars; keeps resolved calendars per calendar
    version and day, since resolving public holidays for three years is not free."""

    def __init__(self) -> None:
        self._resolved: dict[tuple[int, datetime, date], BusinessCalendar] = {}

    async def calendar(
        self, conn: AsyncConnection, calendar_id: int, around: date
    ) -> BusinessCalendar | None:
        updated = await conn.scalar(
            select(_calendars.c.updated_at).where(_calendars.c.id == calendar_id)
        )
        if updated is None:
            return None
        key = (calendar_id, updated, around)
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
    ) -> SlaPolicy | None:
        """The first active policy (by position) whose conditions hold, else the default."""
        rows = await conn.execute(
            select(_policies).where(_policies.c.active).order_by(_policies.c.position)
        )
        chosen = None
        default = None
        for row in rows:
            try:
                spec = policy_spec(row)
            except ValidationError:
                # Stored by an older version or by hand: never let it stop a ticket.
                log.warning("SLA policy %s cannot be read; skipped", row.id)
                continue
            if spec.is_default:
                default = default or (row, spec)
            elif spec.conditions.allow(type_, priority, service_id, organisation_id, group_id):
                chosen = (row, spec)
                break
        found = chosen or default
        if found is None:
            return None
        row, spec = found
        calendar = await self.calendar(conn, spec.calendar_id, around)
        if calendar is None:
            return None
        return to_snapshot(spec, row.id, row.version, calendar)
