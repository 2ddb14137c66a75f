"""The routing activity: whom in a group a ticket is offered to, from live load and availability.

One transaction locks the group's row, so routings of one group are decided one
at a time across every worker replica and round robin's position (stored on
the group) stays fair across restarts. An agent with working hours (one of the
SLA calendars) is offered tickets only inside them, as if away outside.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.sla import SlaLookups
from models import Group, GroupMember, Ticket, User
from workflows import ids
from workflows.business_time import BusinessCalendar, CalendarError, is_working
from workflows.choices import Availability, Status
from workflows.routing import PRIORITY_WEIGHT, Candidate, Strategy, choose
from workflows.ticket.messages import RouteDecision, RouteRequest

_groups = cast(Table, Group.__table__)
_members = cast(Table, GroupMember.__table__)
_tickets = cast(Table, Ticket.__table__)
_users = cast(Table, User.__table__)

WORKING = [Status.NEW.value, Status.OPEN.value, Status.PENDING.value]


def _working(hours: BusinessCalendar, now: datetime) -> bool:
    try:
        return is_working(hours, now)
    except CalendarError:
        return False  # working hours with no working time left


class RoutingActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._calendars = SlaLookups()

    @activity.defn(name=ids.ROUTE_TICKET)
    async def route_ticket(self, request: RouteRequest) -> RouteDecision:
        async with self._engine.begin() as conn:
            group = (
                await conn.execute(
                    select(
                        _groups.c.strategy,
                        _groups.c.offer_timeout_seconds,
                        _groups.c.last_offered_id,
                        _groups.c.required_skills,
                    )
                    .where(_groups.c.id == request.group_id)
                    .with_for_update()
                )
            ).first()
            if group is None:
                return RouteDecision()
            strategy = Strategy(group.strategy)
            if strategy == Strategy.MANUAL:
                return RouteDecision(strategy=strategy.value)
            weight = case(
                *((_tickets.c.priority == p, w) for p, w in PRIORITY_WEIGHT.items()), else_=1.0
            )
            # Open tickets assigned to each member, and tickets offered to them now
            # (another ticket's offer counts, so a burst is not all offered to one agent).
            assigned = (
                select(
                    _tickets.c.assignee_id.label("user_id"),
                    func.sum(weight).label("load"),
                    func.count().label("open"),
                )
                .where(_tickets.c.status.in_(WORKING), _tickets.c.assignee_id.is_not(None))
                .group_by(_tickets.c.assignee_id)
                .subquery()
            )
            offered = (
                select(
                    _tickets.c.offer_agent_id.label("user_id"),
                    func.sum(weight).label("load"),
                )
                .where(_tickets.c.status.in_(WORKING), _tickets.c.offer_agent_id.is_not(None))
                .group_by(_tickets.c.offer_agent_id)
                .subquery()
            )
            rows = await conn.execute(
                select(
                    _users.c.id,
                    _users.c.availability,
                    _users.c.max_open_tickets,
                    _users.c.calendar_id,
                    _members.c.skills,
                    func.coalesce(assigned.c.load, 0) + func.coalesce(offered.c.load, 0),
                    func.coalesce(assigned.c.open, 0),
                )
                .join(_members, _members.c.user_id == _users.c.id)
                .outerjoin(assigned, assigned.c.user_id == _users.c.id)
                .outerjoin(offered, offered.c.user_id == _users.c.id)
                .where(_members.c.group_id == request.group_id, _users.c.active.is_(True))
            )
            now = datetime.now(UTC)
            candidates = []
            for user_id, availability, max_open, calendar_id, skills, load, open_count in rows:
                available = availability == Availability.ONLINE and (
                    max_open is None or int(open_count) < max_open
                )
                if available and calendar_id is not None:
                    hours = await self._calendars.calendar(conn, calendar_id, now.date())
                    available = hours is None or _working(hours, now)
                candidates.append(
                    Candidate(
                        user_id=user_id,
                        load=float(load),
                        open_tickets=int(open_count),
                        skills=list(skills or []),
                        available=available,
                    )
                )
            agent = choose(
                strategy,
                candidates,
                declined=request.declined,
                skills=sorted(set(request.skills) | set(group.required_skills or [])),
                last_offered=group.last_offered_id,
            )
            if agent is not None and strategy == Strategy.ROUND_ROBIN:
                await conn.execute(
                    update(_groups)
                    .where(_groups.c.id == request.group_id)
                    .values(last_offered_id=agent)
                )
            return RouteDecision(
                strategy=strategy.value,
                agent_id=agent,
                timeout_seconds=group.offer_timeout_seconds,
            )
