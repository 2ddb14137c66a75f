"""Offers and availability: the agent's side of routing (workflows/routing.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.auth import Principal
from api.errors import ApiError, refused
from api.schemas import (
    AttentionPublic,
    AvailabilityBody,
    AvailabilityPublic,
    ConsultRequest,
    NotificationPrefsBody,
    NotificationPrefsPublic,
    OfferPublic,
    ReminderPublic,
    UserRef,
)
from models import Calendar, Group, Ticket, TicketEventRow, User
from models.secrets import SecretKeyError, encrypt
from workflows.choices import N_, OPEN_STATUSES, EventKind, Status


async def my_offers(session: AsyncSession, principal: Principal) -> list[OfferPublic]:
    """Tickets offered to the caller now, the soonest to expire first."""
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.offer_agent_id == principal.id, Ticket.offer_expires_at.is_not(None))
        .order_by(Ticket.offer_expires_at, Ticket.number)
    )
    return [
        OfferPublic(
            number=t.number,
            subject=t.subject,
            priority=t.priority,
            group_id=t.group_id,
            expires_at=t.offer_expires_at,
        )
        for t in rows
        if t.offer_expires_at is not None
    ]


async def set_availability(
    session: AsyncSession, principal: Principal, body: AvailabilityBody
) -> AvailabilityPublic:
    user = await session.get(User, principal.id)
    assert user is not None
    if body.calendar_id is not None and await session.get(Calendar, body.calendar_id) is None:
        raise refused(
            422,
            N_("calendar %(id)s does not exist"),
            field="calendar_id",
            code="invalid_field",
            id=body.calendar_id,
        )
    user.availability = body.availability
    user.max_open_tickets = body.max_open_tickets
    user.calendar_id = body.calendar_id
    await session.commit()
    return _availability(user)


async def get_availability(session: AsyncSession, principal: Principal) -> AvailabilityPublic:
    user = await session.get(User, principal.id)
    assert user is not None
    return _availability(user)


def _availability(user: User) -> AvailabilityPublic:
    return AvailabilityPublic(
        availability=user.availability,
        max_open_tickets=user.max_open_tickets,
        calendar_id=user.calendar_id,
    )


async def my_consults(session: AsyncSession, principal: Principal) -> list[ConsultRequest]:
    """Questions colleagues asked me that I have not answered yet, oldest first."""
    asked = aliased(TicketEventRow)
    answered = aliased(TicketEventRow)
    asker = aliased(User)
    rows = await session.execute(
        select(Ticket.number, Ticket.subject, asked.seq, asked.data, asked.at, asker.id, asker.name)
        .join(asked, asked.ticket_id == Ticket.id)
        .outerjoin(asker, asker.id == asked.actor_id)
        .where(
            asked.kind == EventKind.CONSULT_ASKED,
            asked.data["colleague_id"].as_integer() == principal.id,
            Ticket.status != Status.CLOSED.value,
            ~exists().where(
                answered.ticket_id == asked.ticket_id,
                answered.kind == EventKind.CONSULT_ANSWERED,
                answered.data["consult_seq"].as_integer() == asked.seq,
            ),
        )
        .order_by(asked.at)
    )
    return [
        ConsultRequest(
            number=number,
            subject=subject,
            consult_seq=seq,
            asked_by=UserRef(id=asker_id, name=asker_name) if asker_id is not None else None,
            message=str(data.get("message", "")),
            asked_at=at,
        )
        for number, subject, seq, data, at, asker_id, asker_name in rows
    ]


async def my_reminders(session: AsyncSession, principal: Principal) -> list[ReminderPublic]:
    rows = await session.execute(
        select(Ticket.number, Ticket.subject, Ticket.remind_at)
        .where(Ticket.assignee_id == principal.id, Ticket.remind_at.is_not(None))
        .order_by(Ticket.remind_at)
    )
    return [
        ReminderPublic(number=n, subject=s, remind_at=at) for n, s, at in rows if at is not None
    ]


async def needing_attention(session: AsyncSession, principal: Principal) -> list[AttentionPublic]:
    """Open tickets assigned to me, or in a group I lead, that are idle or whose SLA is at
    risk or breached: the ones idle longest first, then by due time."""
    led = select(Group.id).where(Group.lead_id == principal.id)
    rows = await session.scalars(
        select(Ticket)
        .where(
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
            or_(Ticket.assignee_id == principal.id, Ticket.group_id.in_(led)),
            or_(Ticket.idle_since.is_not(None), Ticket.sla_state.in_(["at_risk", "breached"])),
        )
        .order_by(Ticket.idle_since.asc().nulls_last(), Ticket.sla_due_at.asc().nulls_last())
        .limit(200)
    )
    return [
        AttentionPublic(
            number=t.number,
            subject=t.subject,
            status=Status(t.status),
            assignee_id=t.assignee_id,
            idle_since=t.idle_since,
            sla_state=t.sla_state,
            sla_due_at=t.sla_due_at,
        )
        for t in rows
    ]


async def get_prefs(session: AsyncSession, principal: Principal) -> NotificationPrefsPublic:
    user = await session.get(User, principal.id)
    assert user is not None
    return _prefs_public(user.notification_prefs or {})


def _prefs_public(prefs: dict[str, object]) -> NotificationPrefsPublic:
    muted = prefs.get("muted")
    return NotificationPrefsPublic(
        email=bool(prefs.get("email", True)),
        muted=[str(k) for k in muted] if isinstance(muted, list) else [],
        apprise=bool(prefs.get("apprise")),
    )


async def set_prefs(
    session: AsyncSession, principal: Principal, body: NotificationPrefsBody, secret_key: str | None
) -> NotificationPrefsPublic:
    user = await session.get(User, principal.id)
    assert user is not None
    stored = dict(user.notification_prefs or {})
    prefs: dict[str, object] = {"email": body.email, "muted": sorted(set(body.muted))}
    if body.keep_apprise:
        if stored.get("apprise"):
            prefs["apprise"] = stored["apprise"]
    elif body.apprise_url is not None:
        problem = apprise_problem(body.apprise_url)
        if problem:
            raise ApiError(422, problem, field="apprise_url", code="invalid_field")
        try:
            prefs["apprise"] = encrypt(secret_key, body.apprise_url)
        except SecretKeyError as exc:
            raise ApiError(422, str(exc), field="apprise_url", code="invalid_field") from exc
    user.notification_prefs = prefs
    await session.commit()
    return _prefs_public(prefs)


def apprise_problem(url: str) -> str | None:
    """Why Apprise cannot use this URL (None: it can)."""
    import apprise

    if apprise.Apprise().add(url):
        return None
    return "apprise_url is not a URL Apprise understands (see its list of services)"


@dataclass(frozen=True)
class TeamLoad:
    """What each member of staff has on their plate now."""

    people: dict[int, User]
    open_tickets: dict[int, int]
    """Open tickets assigned, per agent."""
    offered: dict[int, int]
    """Tickets offered and not yet taken, per agent."""


async def team_load(session: AsyncSession) -> TeamLoad:
    people = {u.id: u for u in await session.scalars(select(User).where(User.role != "customer"))}
    open_counts = await session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.status.in_([s.value for s in OPEN_STATUSES]), Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)
    )
    offered = await session.execute(
        select(Ticket.offer_agent_id, func.count())
        .where(Ticket.offer_agent_id.is_not(None))
        .group_by(Ticket.offer_agent_id)
    )
    return TeamLoad(
        people,
        {int(k): int(v) for k, v in open_counts.tuples() if k is not None},
        {int(k): int(v) for k, v in offered.tuples() if k is not None},
    )
