"""Reading tickets, for the API and the web UI alike: one ticket, lists and search,
the timeline and the comments, all from the PostgreSQL projection.

A ticket is shown the same way whether its values come from its row or from the state
its workflow answered a change with (`present`): the row is `workflows.ticket.projection.row`
of that state.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, false, func, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.auth import Principal
from api.errors import missing, refused
from api.schemas import (
    CommentPublic,
    EventPublic,
    GroupRef,
    ServiceRef,
    SlaClockPublic,
    TicketPage,
    TicketPublic,
    UserRef,
)
from api.text import sanitise
from models import Group, Service, Ticket, TicketEventRow, User, search
from workflows.choices import COMMENT_KINDS, N_, Status, TicketType
from workflows.sla import CLOCK_LABELS, ClockName
from workflows.ticket.actions import legal_actions
from workflows.ticket.messages import TicketState
from workflows.ticket.projection import COLUMNS, row, state_of

Requester = aliased(User, name="requester")
Assignee = aliased(User, name="assignee")


@dataclass
class TicketFilters:
    queue: str = "all"
    status: Sequence[Status] = ()
    priority: Sequence[int] = ()
    type: Sequence[TicketType] = ()
    sla: Sequence[str] = ()
    q: str | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    requester_id: int | None = None
    sort: str = "-updated_at"
    limit: int = 25


# ---------------------------------------------------------------- reading


def visible_to(principal: Principal) -> Any:
    """SQL condition: tickets this caller may see. Customers see their own, or their
    organisation's when it shares tickets; staff see all."""
    if principal.is_staff:
        return True
    own = Ticket.requester_id == principal.id
    if principal.organisation_shared and principal.organisation_id is not None:
        return or_(own, Ticket.organisation_id == principal.organisation_id)
    return own


_WITH_NAMES: Select[Ticket, str, str, str, str] = (
    select(Ticket, Requester.name, Assignee.name, Group.name, Service.name)
    .outerjoin(Requester, Requester.id == Ticket.requester_id)
    .outerjoin(Assignee, Assignee.id == Ticket.assignee_id)
    .outerjoin(Group, Group.id == Ticket.group_id)
    .outerjoin(Service, Service.id == Ticket.service_id)
)
"""Tickets with the names they show (built once: statements are immutable)."""


def _sla_clocks(report: dict[str, Any] | None) -> list[SlaClockPublic]:
    report = report or {}
    return [
        SlaClockPublic(name=name, label=CLOCK_LABELS[ClockName(name)], **report[name])
        for name in (c.value for c in ClockName)
        if name in report
    ]


_STAFF_ONLY = ("sla_clocks", "idle_since")
_SHOWN = tuple(n for n in TicketPublic.model_fields if n in COLUMNS and n not in _STAFF_ONLY)
"""The ticket's fields everyone sees as the row holds them; the rest are shown below."""


@dataclass(frozen=True, slots=True)
class Names:
    """The names a ticket shows beside the ids its row holds."""

    requester: str | None = None
    assignee: str | None = None
    group: str | None = None
    service: str | None = None


def present(
    ticket_id: str,
    number: int,
    values: Mapping[str, Any],
    names: Names,
    principal: Principal,
    state: TicketState | None = None,
) -> TicketPublic:
    """A ticket as `principal` sees it, from its row's values (`workflows.ticket.projection`);
    `state`: the state they were made from, when at hand (else read back from them)."""
    staff = principal.is_staff
    shown = {name: values[name] for name in _SHOWN}
    requester_id, assignee_id = values["requester_id"], values["assignee_id"]
    group_id, service_id = values["group_id"], values["service_id"]
    return TicketPublic(
        **shown,
        number=number,
        workflow_id=ticket_id,
        requester=UserRef(id=requester_id, name=names.requester or "")
        if requester_id is not None
        else None,
        group=GroupRef(id=group_id, name=names.group or "") if group_id else None,
        assignee=UserRef(id=assignee_id, name=names.assignee or "")
        if assignee_id is not None
        else None,
        service=ServiceRef(id=service_id, name=names.service or "")
        if service_id is not None
        else None,
        sla_clocks=_sla_clocks(values["sla_clocks"]) if staff else [],
        idle_since=values["idle_since"] if staff else None,
        actions=legal_actions(
            state or state_of(ticket_id, number, values), principal.actor(), datetime.now(UTC)
        ),
    )


def row_values(ticket: Ticket) -> dict[str, Any]:
    return {name: getattr(ticket, name) for name in COLUMNS}


def present_found(found: Any, principal: Principal) -> TicketPublic:
    """A ticket read with its names (`with_names`), as `principal` sees it."""
    ticket, requester, assignee, group, service = found
    names = Names(requester, assignee, group, service)
    return present(ticket.id, ticket.number, row_values(ticket), names, principal)


Known = dict[tuple[type[Any], int | None], str | None]
"""Names already at hand, by (model, id): a read of the row before a change."""


async def present_state(
    session: AsyncSession, principal: Principal, state: TicketState, known: Known | None = None
) -> TicketPublic:
    """The ticket as its workflow answered a change, shown as a read of its row would show
    it (the row is written from this very state) without reading the row back.

    Names come from the caller, from `known` or from rows the request already loaded
    (the session's identity map); only a name the change itself chose (a routing rule's
    group, a new assignee) costs a query."""
    assert state.number is not None
    names = known or {}

    async def name(model: type[User] | type[Group] | type[Service], key: int | None) -> str | None:
        if key is None:
            return None
        if model is User and key == principal.id:
            return principal.name
        if (model, key) in names:
            return names[(model, key)]
        found: User | Group | Service | None = await session.get(model, key)
        return found.name if found is not None else None

    shown = Names(
        requester=await name(User, state.requester_id),
        assignee=await name(User, state.assignee_id),
        group=await name(Group, state.group_id),
        service=await name(Service, state.service_id),
    )
    return present(state.id, state.number, row(state), shown, principal, state)


def known_names(found: Any) -> Known:
    """The names a read of the row (`_WITH_NAMES`) found, for `present_state`."""
    ticket, requester, assignee, group, service = found
    return {
        (User, ticket.requester_id): requester,
        (User, ticket.assignee_id): assignee,
        (Group, ticket.group_id): group,
        (Service, ticket.service_id): service,
    }


async def get_row(session: AsyncSession, principal: Principal, number: int) -> Ticket:
    ticket = await session.scalar(
        select(Ticket).where(Ticket.number == number, visible_to(principal))
    )
    if ticket is None:
        raise missing(N_("ticket #%(number)s not found"), number=number)
    return ticket


async def with_names(session: AsyncSession, principal: Principal, number: int) -> Any:
    """The row of ticket `number` with the names it shows (`known_names`); 404 when the
    caller cannot see it."""
    found = (
        await session.execute(_WITH_NAMES.where(Ticket.number == number, visible_to(principal)))
    ).one_or_none()
    if found is None:
        raise missing(N_("ticket #%(number)s not found"), number=number)
    return found


async def get_ticket(session: AsyncSession, principal: Principal, number: int) -> TicketPublic:
    return present_found(await with_names(session, principal, number), principal)


async def by_workflow_id(session: AsyncSession, principal: Principal, wid: str) -> TicketPublic:
    found = (await session.execute(_WITH_NAMES.where(Ticket.id == wid))).one_or_none()
    if found is None:
        raise refused(503, N_("the ticket was not saved; try again"), code="unavailable")
    return present_found(found, principal)


NEVER = datetime(9999, 12, 31, tzinfo=UTC)
"""Sorts tickets without an SLA due instant after every ticket with one."""

_SORT_COLUMNS: dict[str, Any] = {
    "sla_due_at": func.coalesce(Ticket.sla_due_at, NEVER),
    "number": Ticket.number,
    "created_at": Ticket.created_at,
    "updated_at": Ticket.updated_at,
    "priority": Ticket.priority,
}


def _encode_cursor(value: Any, number: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, number])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, column: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, number = json.loads(base64.urlsafe_b64decode(padded))
        if column in ("created_at", "updated_at", "sla_due_at"):
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int):
            raise ValueError(value)
        if not isinstance(number, int):
            raise ValueError(number)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise refused(
            422,
            N_("%(name)s is not one this API handed out"),
            field="cursor",
            code="invalid_field",
            name="cursor",
        ) from exc
    return value, number


def _filtered(
    principal: Principal, filters: TicketFilters, match: str = "indexed"
) -> Select[Ticket, str, str, str, str]:
    """The tickets `filters` select. `match` says how the search text is matched:
    "indexed" (`@@`, which the planner may answer from the GIN index), "scanned"
    (the same match as a function the index cannot answer, for rows read in order
    anyway) or "ignored"."""
    query = _WITH_NAMES.where(visible_to(principal))
    if filters.queue == "mine":
        query = query.where(Ticket.assignee_id == principal.id)
    elif filters.queue == "groups":
        query = query.where(
            Ticket.group_id.in_(principal.group_ids) if principal.group_ids else false()
        )
    elif filters.queue == "unassigned":
        query = query.where(Ticket.assignee_id.is_(None))
    if filters.status:
        query = query.where(Ticket.status.in_([s.value for s in filters.status]))
    if filters.priority:
        query = query.where(Ticket.priority.in_(list(filters.priority)))
    if filters.type:
        query = query.where(Ticket.type.in_([t.value for t in filters.type]))
    if filters.sla:
        query = query.where(Ticket.sla_state.in_(list(filters.sla)))
    if filters.group_id is not None:
        query = query.where(Ticket.group_id == filters.group_id)
    if filters.assignee_id is not None:
        query = query.where(Ticket.assignee_id == filters.assignee_id)
    if filters.requester_id is not None:
        query = query.where(Ticket.requester_id == filters.requester_id)
    if filters.q and match != "ignored":
        typed = filters.q.strip()
        conditions: list[ColumnElement[bool]] = []
        # Tokenised by the same module as the projection's write (models/search.py);
        # text without a word (only punctuation) matches no ticket by its text.
        words = search.query(typed)
        if words is not None:
            tsquery = cast(words, TSQUERY)
            conditions.append(
                Ticket.search.op("@@")(tsquery)
                if match == "indexed"
                else func.ts_match_vq(Ticket.search, tsquery)
            )
        number = typed.lstrip("#")
        if number.isdigit() and len(number) < 18:
            conditions.append(Ticket.number == int(number))
        query = query.where(or_(*conditions) if conditions else false())
    return query


async def list_tickets(
    session: AsyncSession, principal: Principal, filters: TicketFilters, cursor: str | None
) -> TicketPage:
    """One page of tickets, keyset-paginated on (sort column, number)."""
    descending = filters.sort.startswith("-")
    column_name = filters.sort.lstrip("-")
    column = _SORT_COLUMNS[column_name]
    key = tuple_(column, Ticket.number)
    after: Any = None
    if cursor:
        value, number = _decode_cursor(cursor, column_name)
        after = key < (value, number) if descending else key > (value, number)

    def page(match: str, *conditions: Any, by: Any = column) -> _Page:
        query = _filtered(principal, filters, match)
        for condition in (after, *conditions):
            if condition is not None:
                query = query.where(condition)
        order = (by.desc(), Ticket.number.desc()) if descending else (by.asc(), Ticket.number.asc())
        return query.order_by(*order)

    if filters.q and column_name == "updated_at":
        rows = await _search_newest_first(session, page, filters.limit + 1, descending)
    else:
        rows = list((await session.execute(page("indexed").limit(filters.limit + 1))).all())
    items = [present_found(row, principal) for row in rows[: filters.limit]]
    next_cursor = None
    if len(rows) > filters.limit:
        last: Ticket = rows[filters.limit - 1][0]
        value = getattr(last, column_name)
        next_cursor = _encode_cursor(NEVER if value is None else value, last.number)
    return TicketPage(items=items, next_cursor=next_cursor)


_Page = Select[Ticket, str, str, str, str]
SEARCH_WINDOW = 1000
"""Newest tickets a search reads in order before it asks the text index instead."""


async def _search_newest_first(
    session: AsyncSession, page: Callable[..., _Page], wanted: int, descending: bool
) -> list[Any]:
    """A search's page in (updated_at, number) order, planned by what is known of the
    match rather than by PostgreSQL's estimate of it.

    The planner estimates a phrase (a Japanese word's bigrams, a quoted phrase) as
    if its words were independent: it fetched and sorted thousands of matches of a
    common Japanese word it thought rare, and walked tens of thousands of rows for an
    English phrase it thought common (docs/benchmarks.md, "Search"). So: first read
    the newest SEARCH_WINDOW tickets in order and match each (a common word fills
    the page there); only if they hold less than a page, ask the GIN index for the
    older matches, which are then known to be rare enough to fetch and sort.
    """
    key = tuple_(Ticket.updated_at, Ticket.number)
    bound = (
        await session.execute(
            page("ignored")
            .with_only_columns(Ticket.updated_at, Ticket.number)
            .offset(SEARCH_WINDOW - 1)
            .limit(1)
        )
    ).first()
    if bound is None:  # fewer tickets than the window: reading them all in order is cheap
        return list((await session.execute(page("scanned").limit(wanted))).all())
    edge = (bound.updated_at, bound.number)
    inside = key >= edge if descending else key <= edge
    rows = list((await session.execute(page("scanned", inside).limit(wanted))).all())
    if len(rows) == wanted:
        return rows
    # Sorted by an expression no index provides, so the planner cannot walk an index
    # in order for them: it takes the matches from the GIN index and sorts them.
    unordered = Ticket.updated_at + text("interval '0'")
    beyond = key < edge if descending else key > edge
    rest = page("indexed", beyond, by=unordered).limit(wanted - len(rows))
    return rows + list((await session.execute(rest)).all())


async def count_tickets(session: AsyncSession, principal: Principal, filters: TicketFilters) -> int:
    query = _filtered(principal, filters).with_only_columns(func.count()).order_by(None)
    return int(await session.scalar(query) or 0)


def _author(row_actor_id: int | None, name: str | None) -> UserRef | None:
    return UserRef(id=row_actor_id, name=name or "") if row_actor_id is not None else None


async def timeline(
    session: AsyncSession, principal: Principal, number: int, kinds: Sequence[str] = ()
) -> list[EventPublic]:
    ticket = await get_row(session, principal, number)
    query = (
        select(TicketEventRow, User.name)
        .outerjoin(User, User.id == TicketEventRow.actor_id)
        .where(TicketEventRow.ticket_id == ticket.id)
        .order_by(TicketEventRow.seq)
    )
    if not principal.is_staff:
        query = query.where(TicketEventRow.public.is_(True))
    if kinds:
        query = query.where(TicketEventRow.kind.in_(kinds))
    rows = (await session.execute(query)).all()
    return [
        EventPublic(
            seq=event.seq,
            kind=event.kind,
            at=event.at,
            actor=_author(event.actor_id, name),
            actor_role=event.actor_role,
            public=event.public,
            data=event.data,
        )
        for event, name in rows
    ]


async def comments(session: AsyncSession, principal: Principal, number: int) -> list[CommentPublic]:
    events = await timeline(session, principal, number, kinds=COMMENT_KINDS)
    return [
        CommentPublic(
            seq=e.seq,
            at=e.at,
            author=e.actor,
            public=e.public,
            body=str(e.data.get("body", "")),
            body_html=sanitise(str(e.data.get("body", ""))),
        )
        for e in events
    ]
