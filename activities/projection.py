"""Projection writes: the ticket row and its append-only timeline in PostgreSQL.

Run as local activities inside the update handler, so a read right after a
successful update sees the change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Select,
    String,
    Table,
    Update,
    bindparam,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity

from activities.sla import SlaLookups
from models import (
    Attachment,
    Group,
    Notification,
    Ticket,
    TicketEventRow,
    User,
)
from models.notifications import NOTIFY_CHANNEL, announcements
from models.search import document
from workflows import ids
from workflows.choices import Audience, EventKind, Role
from workflows.priority import priority_for
from workflows.routing import RoutingRule, RoutingState, rule_matches
from workflows.ticket import notices
from workflows.ticket.lifecycle import apply_open
from workflows.ticket.messages import (
    CalendarLookup,
    DeskConfig,
    NotifyRequest,
    OpenTicket,
    ProjectedOpening,
    ProjectionResult,
    ProjectOpening,
    ProjectTicket,
    TicketContext,
    TicketEvent,
    TicketFacts,
    TicketState,
)
from workflows.ticket.projection import COLUMNS, row


def _routing_rule(
    rules: list[RoutingRule], opening: OpenTicket, config: DeskConfig
) -> RoutingRule | None:
    """The first active routing rule a new ticket without a group matches."""
    priority = priority_for(config.priority_matrix, opening.impact, opening.urgency)
    text = f"{opening.subject}\n{opening.description}"
    for rule in rules:
        if rule_matches(
            rule,
            type_=opening.type.value,
            service_id=opening.service_id,
            organisation_id=opening.organisation_id,
            priority=priority,
            channel=opening.channel.value,
            text=text,
        ):
            return rule
    return None


def _audience(state: TicketState, request: NotifyRequest) -> Select[tuple[int]] | None:
    """The active people a notification is for, as a query (nobody: None)."""
    active = _users.c.active.is_(True)
    if request.audience == Audience.ASSIGNEE and state.assignee_id is not None:
        return select(_users.c.id).where(_users.c.id == state.assignee_id, active)
    if request.audience == Audience.GROUP_LEAD and state.group_id is not None:
        return (
            select(_users.c.id)
            .join(_groups, _groups.c.lead_id == _users.c.id)
            .where(_groups.c.id == state.group_id, active)
        )
    if request.audience == Audience.MANAGERS:
        return select(_users.c.id).where(_users.c.role == Role.MANAGER.value, active)
    if request.audience == Audience.USER and request.user_id is not None:
        return select(_users.c.id).where(_users.c.id == request.user_id, active)
    return None


def english_title(request: NotifyRequest) -> str:
    """A notification's title in English, kept with its message id for whoever reads no
    catalogue; a request from before message ids carries it as it is."""
    if not request.message:
        return request.title
    return notices.fill(str, request.message, request.params)


async def _notify(
    conn: AsyncConnection, state: TicketState, event: TicketEvent, requests: list[NotifyRequest]
) -> None:
    """Insert one notification per person, at most once per (person, key), and announce the
    new rows on `NOTIFY_CHANNEL` for the live streams.

    The announcement is part of the same transaction: PostgreSQL delivers it at commit,
    so a listener never hears of a row it cannot read yet, and a rolled-back attempt is
    never heard of. A retry inserts nothing (the rows exist) and so announces nothing.
    """
    added: list[tuple[int, int]] = []
    for request in requests:
        audience = _audience(state, request)
        if audience is None:
            continue
        people = audience.subquery()
        rows = select(
            people.c.id,
            literal(state.id),
            literal(event.seq),
            literal(request.kind.value),
            literal(request.key),
            literal(request.message or None, String),
            literal(request.detail or None, String),
            literal(request.params, JSONB),
            literal(english_title(request)[:300]),
            literal(request.body),
        )
        inserted = await conn.execute(
            insert(_notifications)
            .from_select(
                [
                    "user_id",
                    "ticket_id",
                    "seq",
                    "kind",
                    "key",
                    "message",
                    "detail",
                    "params",
                    "title",
                    "body",
                ],
                rows,
            )
            .on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(_notifications.c.user_id, _notifications.c.id)
        )
        added.extend((row.user_id, row.id) for row in inserted)
    for payload in announcements(added):
        await conn.execute(select(func.pg_notify(NOTIFY_CHANNEL, payload)))


async def _delivery_wanted(conn: AsyncConnection, ticket_id: str, seq: int, *, smtp: bool) -> bool:
    """Whether a person notified of this event takes it by mail or push, as
    activities/mail.py decides per person: not muted for the kind, and an Apprise URL
    stored or mail wanted (the default) from a worker that has an SMTP server.
    Read from the stored notifications, so a retried write answers the same."""
    prefs = _users.c.notification_prefs
    muted = func.coalesce(
        prefs["muted"].contains(func.jsonb_build_array(_notifications.c.kind)), False
    )
    channel = prefs["apprise"].astext.is_not(None)
    if smtp:
        channel = or_(channel, func.coalesce(prefs["email"].as_boolean(), True))
    wanted = (
        select(_notifications.c.id)
        .join(_users, _users.c.id == _notifications.c.user_id)
        .where(
            _notifications.c.ticket_id == ticket_id,
            _notifications.c.seq == seq,
            _users.c.active.is_(True),
            ~muted,
            channel,
        )
    )
    return bool(await conn.scalar(select(wanted.exists())))


# The mapped classes' tables, for statements that skip the ORM (mypy sees a FromClause).
_tickets = cast(Table, Ticket.__table__)
_events = cast(Table, TicketEventRow.__table__)
_attachments = cast(Table, Attachment.__table__)
_notifications = cast(Table, Notification.__table__)
_users = cast(Table, User.__table__)
_groups = cast(Table, Group.__table__)


def _write_statement(opening: bool) -> Select[tuple[int]]:
    """Ticket row and event in one statement, built once with bind parameters (building
    it per change with its values cost more CPU than running it). The event's foreign
    key is checked at the statement's end, when a new row is there.

    Opening inserts the row (a retry finds it and changes nothing); a change updates
    it only with a state at least as new. The workflow is the only writer and its
    latest attempt at a seq is the one it kept, so the event overwrites on conflict.
    """
    row: dict[str, Any] = {name: bindparam(name) for name in _ROW_COLUMNS}
    row["search"] = bindparam("search", type_=TSVECTOR)
    ticket: Insert | Update
    if opening:
        ticket = (
            insert(_tickets)
            .values(id=bindparam("ticket_id"), **row)
            .on_conflict_do_nothing(index_elements=[_tickets.c.id])
        )
    else:
        ticket = (
            update(_tickets)
            .where(_tickets.c.id == bindparam("ticket_id"), _tickets.c.seq <= bindparam("seq"))
            .values(**row)
        )
    event = insert(_events).values(
        ticket_id=bindparam("ticket_id"),
        seq=bindparam("event_seq"),
        **{name: bindparam(name) for name in _EVENT_COLUMNS},
    )
    event = event.on_conflict_do_update(
        index_elements=[_events.c.ticket_id, _events.c.seq],
        set_={name: event.excluded[name] for name in _EVENT_COLUMNS},
    )
    written = ticket.returning(_tickets.c.number).cte("ticket_written")
    return select(written.c.number).add_cte(event.cte("event_written"))


_EVENT_COLUMNS = ("kind", "at", "actor_id", "actor_role", "public", "data")
_ROW_COLUMNS = COLUMNS
"""Every column of the row the projection gives (the table also has id, number, and
search, which `_write` tokenises here: the workflow does no I/O and keeps no text
index)."""
_OPEN_WRITE = _write_statement(opening=True)
_CHANGE_WRITE = _write_statement(opening=False)


async def _write(
    conn: AsyncConnection,
    state: TicketState,
    event: TicketEvent,
    notify: list[NotifyRequest] | None = None,
) -> int:
    """Write the ticket row and one event; returns the ticket's number.

    Idempotent: the row is only overwritten by a state with an equal or higher
    `seq`, and the event is keyed by (ticket_id, seq), so a retry writes the
    same thing again. A retry of the opening write finds the row and returns
    its number instead of taking a new one from the sequence.
    """
    values = {
        "kind": event.kind.value,
        "at": event.at,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "public": event.public,
        "data": event.data,
    }
    statement = _OPEN_WRITE if event.seq == 1 else _CHANGE_WRITE
    number: int | None = await conn.scalar(
        statement,
        # No key may be named like a column the statement does not set: an UPDATE
        # would set that column from it.
        {
            **row(state),
            # Tokenised on every write, not only when the text changed: the cost per
            # ticket is a fraction of a millisecond (docs/benchmarks.md, "Search").
            "search": document(state.subject, state.description),
            "ticket_id": state.id,
            "event_seq": event.seq,
            **values,
        },
    )
    if number is None:
        number = await conn.scalar(select(_tickets.c.number).where(_tickets.c.id == state.id))
    if number is None:
        raise RuntimeError(f"ticket {state.id} has no projection row to update")
    if event.kind == EventKind.ATTACHED:
        await conn.execute(
            update(_attachments)
            .where(
                _attachments.c.id == event.data["attachment_id"],
                _attachments.c.ticket_id == state.id,
            )
            .values(seq=event.seq, public=event.public)
        )
    if notify:
        await _notify(conn, state, event, notify)
    return int(number)


class ProjectionActivities:
    """The ticket's own writes and look-ups, run as local activities inside its handlers.

    They use SQLAlchemy Core on a connection rather than ORM sessions: every
    change of every ticket passes here, and the ORM's bulk-insert machinery
    cost more CPU than the statements themselves (docs/benchmarks.md).
    """

    def __init__(self, engine: AsyncEngine, *, smtp: bool = True) -> None:
        self._engine = engine
        # Statements that stand alone commit by themselves: no BEGIN and COMMIT round
        # trips around the one statement most changes write (psycopg's autocommit is
        # a client-side flag, reset when the connection returns to the pool).
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sla = SlaLookups()
        self._smtp = smtp
        """Whether the worker can send mail at all (TEMPODESK_SMTP_HOST is set)."""

    @activity.defn(name=ids.PERSIST_TICKET)
    async def persist_ticket(self, msg: ProjectTicket) -> ProjectionResult:
        """Write the ticket row and the event (one statement), with its notifications
        or attachment link in the same transaction when there are any (idempotent, see
        `_write`; notifications are unique per person and key), and tell whether any
        notification is to be mailed or pushed."""
        if not msg.notify and msg.event.kind != EventKind.ATTACHED:
            async with self._single.connect() as conn:  # row and event: one statement
                number = await _write(conn, msg.state, msg.event)
                return ProjectionResult(number=number, deliver=False, mail=self._smtp)
        async with self._engine.begin() as conn:
            number = await _write(conn, msg.state, msg.event, msg.notify)
            deliver = bool(msg.notify) and await _delivery_wanted(
                conn, msg.state.id, msg.event.seq, smtp=self._smtp
            )
            return ProjectionResult(number=number, deliver=deliver, mail=self._smtp)

    @activity.defn(name=ids.OPEN_TICKET)
    async def open_ticket(self, msg: ProjectOpening) -> ProjectedOpening:
        """Open a ticket: the desk's configuration (read again only when its generation
        moved) and the SLA policy that matches, the pure opening rules of
        `workflows.ticket.lifecycle` applied with them, row and first event written by one
        statement, which commits by itself.

        Idempotent like `persist_ticket`; a retry may see newer settings, and the
        workflow keeps whichever result it recorded first.
        """
        opening = msg.open
        async with self._single.connect() as conn:
            desk = await self._sla.snapshot(conn)
            config = desk.config
            skills: list[str] = []
            if opening.group_id is None:
                rule = _routing_rule(desk.rules, opening, config)
                if rule is not None:
                    opening = opening.model_copy(update={"group_id": rule.group_id})
                    skills = rule.skills
            policy = await self._sla.match(
                conn,
                type_=opening.type,
                priority=priority_for(config.priority_matrix, opening.impact, opening.urgency),
                service_id=opening.service_id,
                organisation_id=opening.organisation_id,
                group_id=opening.group_id,
                around=msg.at.date(),
                snapshot=desk,
            )
            state, event = apply_open(msg.ticket_id, opening, config, msg.at, policy)
            if skills:
                state = state.model_copy(update={"routing": RoutingState(skills=skills)})
            number = await _write(conn, state, event)
        return ProjectedOpening(state=state.model_copy(update={"number": number}), event=event)

    @activity.defn(name=ids.LOAD_TICKET_CONTEXT)
    async def load_ticket_context(self, facts: TicketFacts) -> TicketContext:
        """Read-only: desk settings and the SLA policy these facts match (None: none)."""
        async with self._engine.connect() as conn:
            desk = await self._sla.snapshot(conn)
            config = desk.config
            priority = facts.priority or priority_for(
                config.priority_matrix, facts.impact, facts.urgency
            )
            policy = await self._sla.match(
                conn,
                type_=facts.type,
                priority=priority,
                service_id=facts.service_id,
                organisation_id=facts.organisation_id,
                group_id=facts.group_id,
                around=datetime.now(UTC).date(),
                snapshot=desk,
            )
        return TicketContext(config=config, policy=policy)

    @activity.defn(name=ids.LOAD_SLA_CALENDAR)
    async def load_sla_calendar(self, calendar_id: int) -> CalendarLookup:
        """Read-only: a calendar resolved for the span around today."""
        async with self._engine.connect() as conn:
            around = datetime.now(UTC).date()
            return CalendarLookup(calendar=await self._sla.calendar(conn, calendar_id, around))

    @activity.defn(name=ids.LOAD_DESK_CONFIG)
    async def load_desk_config(self) -> DeskConfig:
        """Read-only: the current priority matrix and reopen window."""
        async with self._engine.connect() as conn:
            return (await self._sla.snapshot(conn)).config
