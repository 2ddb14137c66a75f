"""SLA configuration for process owners: calendars, policies, services, applying a policy.

The specs and their rules live in `workflows.sla_config`; this module checks
what only the database can tell (names taken, referenced rows exist) and keeps
the rows. Tickets are not touched here: a policy edit reaches open tickets
only when a person applies it (`apply_policy`, a bulk workflow).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.auth import Principal
from api.errors import ApiError, invalid, missing, refused
from api.schemas import (
    BulkJobPublic,
    CalendarPreview,
    CalendarPublic,
    ServiceCreate,
    ServicePublic,
    SlaPolicyPublic,
)
from models import (
    BulkJob,
    Calendar,
    CalendarDay,
    Group,
    Organisation,
    Service,
    SlaPolicyRow,
    Ticket,
    User,
)
from workflows import ids
from workflows.bulk import BulkAction, BulkInput, BulkKind, BulkTarget, BulkWorkflow
from workflows.business_time import CalendarError, add_business_time, next_opening
from workflows.choices import N_, OPEN_STATUSES, Role
from workflows.sla import EscalationKind
from workflows.sla_config import (
    CalendarSpec,
    DaySpec,
    PolicySpec,
    calendar_spec_problems,
    policy_spec_problems,
    resolve_calendar,
)
from workflows.ticket.errors import Sentence

# ---------------------------------------------------------------- calendars


def _week_json(spec: CalendarSpec) -> list[list[dict[str, int]]]:
    return [[r.model_dump() for r in day] for day in spec.week]


async def calendar_spec_of(session: AsyncSession, calendar: Calendar) -> CalendarSpec:
    days = await session.scalars(
        select(CalendarDay).where(CalendarDay.calendar_id == calendar.id).order_by(CalendarDay.day)
    )
    return CalendarSpec(
        name=calendar.name,
        timezone=calendar.timezone,
        week=calendar.week,
        holiday_country=calendar.holiday_country,
        holiday_subdivision=calendar.holiday_subdivision,
        days=[DaySpec(day=d.day, hours=d.hours, label=d.label) for d in days],
    )


async def _calendar_public(session: AsyncSession, calendar: Calendar) -> CalendarPublic:
    spec = await calendar_spec_of(session, calendar)
    return CalendarPublic(**spec.model_dump(), id=calendar.id, updated_at=calendar.updated_at)


async def _calendar_row(session: AsyncSession, calendar_id: int) -> Calendar:
    calendar = await session.get(Calendar, calendar_id)
    if calendar is None:
        raise missing(N_("calendar %(id)s not found"), id=calendar_id)
    return calendar


async def list_calendars(session: AsyncSession) -> list[CalendarPublic]:
    rows = await session.scalars(select(Calendar).order_by(Calendar.name))
    return [await _calendar_public(session, c) for c in rows]


async def get_calendar(session: AsyncSession, calendar_id: int) -> CalendarPublic:
    return await _calendar_public(session, await _calendar_row(session, calendar_id))


async def calendar_problems(
    session: AsyncSession, spec: CalendarSpec, calendar_id: int | None
) -> list[tuple[str, str]]:
    problems = calendar_spec_problems(spec)
    taken = await session.scalar(
        select(Calendar.id).where(Calendar.name == spec.name, Calendar.id != (calendar_id or 0))
    )
    if taken is not None:
        problems.append(
            ("name", Sentence(N_("a calendar named %(name)s exists already"), name=repr(spec.name)))
        )
    return problems


async def _check_calendar(
    session: AsyncSession, spec: CalendarSpec, calendar_id: int | None
) -> None:
    problems = await calendar_problems(session, spec, calendar_id)
    if problems:
        raise invalid(problems)


async def save_calendar(
    session: AsyncSession, spec: CalendarSpec, calendar_id: int | None = None
) -> CalendarPublic:
    """Create (no id) or replace a calendar with its days, in one transaction."""
    await _check_calendar(session, spec, calendar_id)
    calendar = await store_calendar(session, spec, calendar_id)
    await session.commit()
    return await get_calendar(session, calendar.id)


async def store_calendar(
    session: AsyncSession, spec: CalendarSpec, calendar_id: int | None
) -> Calendar:
    """Write a checked calendar and its days; the caller commits."""
    if calendar_id is None:
        calendar = Calendar()
        session.add(calendar)
    else:
        calendar = await _calendar_row(session, calendar_id)
        await session.execute(delete(CalendarDay).where(CalendarDay.calendar_id == calendar_id))
    calendar.name = spec.name
    calendar.timezone = spec.timezone
    calendar.week = _week_json(spec)
    calendar.holiday_country = spec.holiday_country
    calendar.holiday_subdivision = spec.holiday_subdivision
    # Resolved calendars are cached by (id, updated_at): every save must move it.
    calendar.updated_at = datetime.now(UTC)
    await session.flush()
    for day in spec.days:
        session.add(
            CalendarDay(
                calendar_id=calendar.id,
                day=day.day,
                hours=[r.model_dump() for r in day.hours],
                label=day.label,
            )
        )
    await session.flush()
    return calendar


async def delete_calendar(session: AsyncSession, calendar_id: int) -> None:
    calendar = await _calendar_row(session, calendar_id)
    names = list(
        await session.scalars(
            select(SlaPolicyRow.name).where(SlaPolicyRow.calendar_id == calendar_id)
        )
    )
    if names:
        raise refused(
            409,
            N_(
                "calendar %(calendar)s is used by SLA policies %(policies)s; "
                "give them another calendar first"
            ),
            code="in_use",
            calendar=repr(calendar.name),
            policies=[str(name) for name in names],
        )
    await session.delete(calendar)
    await session.commit()


async def preview_calendar(
    session: AsyncSession, calendar_id: int, target: timedelta, start: datetime | None
) -> CalendarPreview:
    """When a ticket opened at `start` (default now) with `target` is due."""
    spec = await calendar_spec_of(session, await _calendar_row(session, calendar_id))
    start = start or datetime.now(UTC)
    if start.tzinfo is None:
        raise refused(
            422,
            N_("%(name)s needs a time zone offset"),
            field="start",
            code="invalid_field",
            name="start",
        )
    calendar = resolve_calendar(spec, start.date())
    try:
        due = add_business_time(calendar, start, target)
        opening = next_opening(calendar, start)
    except CalendarError as exc:
        raise ApiError(422, str(exc), field="target_seconds", code="invalid_field") from exc
    soon = start.date() + timedelta(days=60)
    days_off = [d.isoformat() for d in calendar.days_off if start.date() <= d <= soon]
    days_off += [
        d.isoformat() for d, hours in calendar.special_days.items() if not hours and d <= soon
    ]
    return CalendarPreview(
        start=start,
        target_seconds=target.total_seconds(),
        due_at=due,
        working_now=opening == start.astimezone(UTC),
        next_opening=opening,
        days_off=sorted(set(days_off)),
    )


# ---------------------------------------------------------------- policies


def _policy_row_values(spec: PolicySpec) -> dict[str, Any]:
    dumped = spec.model_dump(mode="json")
    return {
        "name": spec.name,
        "description": spec.description,
        "calendar_id": spec.calendar_id,
        "is_default": spec.is_default,
        "active": spec.active,
        "conditions": dumped["conditions"],
        "targets": {str(p): t for p, t in dumped["targets"].items()},
        "pause_statuses": dumped["pause_statuses"],
        "warnings": dumped["warnings"],
        "escalations": dumped["escalations"],
        "on_reopen": dumped["on_reopen"],
        "idle_after": spec.idle_after,
        "remind_customer_after": spec.remind_customer_after,
        "close_after_reminders": spec.close_after_reminders,
    }


async def _missing(session: AsyncSession, model: Any, wanted: list[int]) -> list[int]:
    if not wanted:
        return []
    found = set(await session.scalars(select(model.id).where(model.id.in_(wanted))))
    return sorted(set(wanted) - found)


async def _reference_problems(session: AsyncSession, spec: PolicySpec) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if await session.get(Calendar, spec.calendar_id) is None:
        problems.append(
            ("calendar_id", Sentence(N_("calendar %(id)s does not exist"), id=spec.calendar_id))
        )
    for field, model, wanted in (
        ("conditions.service_ids", Service, spec.conditions.service_ids),
        ("conditions.organisation_ids", Organisation, spec.conditions.organisation_ids),
        ("conditions.group_ids", Group, spec.conditions.group_ids),
    ):
        missing = await _missing(session, model, wanted)
        if missing:
            problems.append(
                (field, Sentence(N_("no such id: %(ids)s"), ids=[str(i) for i in missing]))
            )
    for index, level in enumerate(spec.escalations, start=1):
        for action in level.actions:
            where = f"escalations.{index}.actions"
            if (
                action.kind == EscalationKind.REASSIGN
                and action.group_id is not None
                and await session.get(Group, action.group_id) is None
            ):
                problems.append(
                    (where, Sentence(N_("group %(id)s does not exist"), id=action.group_id))
                )
            if action.kind == EscalationKind.NOTIFY_USER and action.user_id is not None:
                user = await session.get(User, action.user_id)
                if user is None or user.role == Role.CUSTOMER:
                    problems.append(
                        (where, Sentence(N_("user %(id)s is not staff"), id=action.user_id))
                    )
    return problems


async def _policy_public(session: AsyncSession, row: SlaPolicyRow) -> SlaPolicyPublic:
    open_ = Ticket.status.in_([s.value for s in OPEN_STATUSES])
    counts = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Ticket.sla_policy_version != row.version),
            ).where(Ticket.sla_policy_id == row.id, open_)
        )
    ).one()
    spec = PolicySpec.model_validate(row, from_attributes=True)
    return SlaPolicyPublic(
        **spec.model_dump(),
        id=row.id,
        position=row.position,
        version=row.version,
        updated_at=row.updated_at,
        open_tickets=counts[0],
        outdated_tickets=counts[1],
    )


async def _policy_row(session: AsyncSession, policy_id: int) -> SlaPolicyRow:
    row = await session.get(SlaPolicyRow, policy_id)
    if row is None:
        raise missing(N_("SLA policy %(id)s not found"), id=policy_id)
    return row


async def list_policies(session: AsyncSession) -> list[SlaPolicyPublic]:
    rows = await session.scalars(select(SlaPolicyRow).order_by(SlaPolicyRow.position))
    return [await _policy_public(session, r) for r in rows]


async def get_policy(session: AsyncSession, policy_id: int) -> SlaPolicyPublic:
    return await _policy_public(session, await _policy_row(session, policy_id))


async def save_policy(
    session: AsyncSession, spec: PolicySpec, policy_id: int | None = None
) -> SlaPolicyPublic:
    """Create (no id, placed last) or replace a policy; a change makes a new version."""
    problems = await policy_problems(session, spec, policy_id)
    if problems:
        raise invalid(problems)
    row = await store_policy(session, spec, policy_id)
    await session.commit()
    await session.refresh(row)  # updated_at is set by the database on update
    return await get_policy(session, row.id)


async def store_policy(
    session: AsyncSession, spec: PolicySpec, policy_id: int | None, position: int | None = None
) -> SlaPolicyRow:
    """Write a checked policy (a new version when it changed); the caller commits."""
    if spec.is_default:
        # One default: this one takes over (the partial unique index would refuse two).
        others = await session.scalars(
            select(SlaPolicyRow).where(SlaPolicyRow.is_default, SlaPolicyRow.id != (policy_id or 0))
        )
        for other in others:
            other.is_default = False
        await session.flush()
    values = _policy_row_values(spec)
    if policy_id is None:
        if position is None:
            last = await session.scalar(select(func.max(SlaPolicyRow.position)))
            position = (last or 0) + 1
        row = SlaPolicyRow(**values, position=position, version=1)
        session.add(row)
    else:
        row = await _policy_row(session, policy_id)
        changed = any(getattr(row, key) != value for key, value in values.items())
        for key, value in values.items():
            setattr(row, key, value)
        if position is not None:
            row.position = position
        if changed:
            row.version += 1
    await session.flush()
    return row


async def policy_problems(
    session: AsyncSession, spec: PolicySpec, policy_id: int | None
) -> list[tuple[str, str]]:
    """Everything wrong with a policy, the database's view included."""
    problems = policy_spec_problems(spec)
    if problems:
        return problems  # before any look-up: an id out of range is no query
    problems = await _reference_problems(session, spec)
    taken = await session.scalar(
        select(SlaPolicyRow.id).where(
            SlaPolicyRow.name == spec.name, SlaPolicyRow.id != (policy_id or 0)
        )
    )
    if taken is not None:
        problems.append(
            ("name", Sentence(N_("a policy named %(name)s exists already"), name=repr(spec.name)))
        )
    return problems


async def delete_policy(session: AsyncSession, policy_id: int) -> None:
    """Tickets keep their snapshot of a deleted policy until another is applied."""
    row = await _policy_row(session, policy_id)
    await session.delete(row)
    await session.commit()


async def reorder_policies(session: AsyncSession, order: list[int]) -> list[SlaPolicyPublic]:
    rows = {r.id: r for r in await session.scalars(select(SlaPolicyRow))}
    if sorted(order) != sorted(rows):
        raise refused(
            422,
            N_("%(name)s must list every SLA policy exactly once: %(ids)s"),
            field="ids",
            code="invalid_field",
            name="ids",
            ids=[str(policy_id) for policy_id in sorted(rows)],
        )
    # The unique position constraint is checked at commit, so swapping is fine.
    for position, policy_id in enumerate(order, start=1):
        rows[policy_id].position = position
    await session.commit()
    return await list_policies(session)


async def apply_policy(
    session: AsyncSession, client: Client, principal: Principal, policy_id: int
) -> BulkJobPublic:
    """Put every open ticket on an older version of this policy onto the current one.

    Runs as a bulk workflow; its progress and refusals are in the returned job.
    """
    row = await _policy_row(session, policy_id)
    tickets = (
        await session.execute(
            select(Ticket.id, Ticket.number)
            .where(
                Ticket.sla_policy_id == policy_id,
                Ticket.sla_policy_version != row.version,
                Ticket.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(Ticket.number)
        )
    ).all()
    job_id = ids.BULK_PREFIX + uuid.uuid4().hex
    job = BulkJob(
        id=job_id,
        kind=BulkKind.APPLY_SLA_POLICY.value,
        description=f"Apply version {row.version} of SLA policy {row.name!r} to open tickets",
        created_by=principal.id,
        status="running",
        total=len(tickets),
        failures=[],
    )
    session.add(job)
    await session.commit()
    await client.start_workflow(
        BulkWorkflow.run,
        BulkInput(
            job_id=job_id,
            action=BulkAction(
                kind=BulkKind.APPLY_SLA_POLICY, actor=principal.actor(), policy_id=policy_id
            ),
            targets=[BulkTarget(workflow_id=wid, number=number) for wid, number in tickets],
        ),
        id=job_id,
        task_queue=ids.TASK_QUEUE,
    )
    return await get_job(session, job_id)


async def get_job(session: AsyncSession, job_id: str) -> BulkJobPublic:
    session.expire_all()
    job = await session.get(BulkJob, job_id)
    if job is None:
        raise missing(N_("bulk job %(id)s not found"), id=job_id)
    return BulkJobPublic(
        id=job.id,
        kind=job.kind,
        status=job.status,
        total=job.total,
        done=job.done,
        succeeded=job.succeeded,
        failures=job.failures,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


# ---------------------------------------------------------------- services


def _service_public(s: Service) -> ServicePublic:
    return ServicePublic(id=s.id, name=s.name, description=s.description, active=s.active)


async def list_services(session: AsyncSession, *, active_only: bool = False) -> list[ServicePublic]:
    query = select(Service).order_by(Service.name)
    if active_only:
        query = query.where(Service.active)
    return [_service_public(s) for s in await session.scalars(query)]


async def save_service(
    session: AsyncSession, body: ServiceCreate, service_id: int | None = None
) -> ServicePublic:
    taken = await session.scalar(
        select(Service.id).where(Service.name == body.name, Service.id != (service_id or 0))
    )
    if taken is not None:
        raise refused(
            422,
            N_("a service named %(value)s exists already"),
            field="name",
            code="invalid_field",
            value=repr(body.name),
        )
    if service_id is None:
        service = Service()
        session.add(service)
    else:
        found = await session.get(Service, service_id)
        if found is None:
            raise missing(N_("service %(id)s not found"), id=service_id)
        service = found
    service.name, service.description, service.active = body.name, body.description, body.active
    await session.commit()
    return _service_public(service)


async def check_service(session: AsyncSession, service_id: int | None) -> None:
    if service_id is None:
        return
    service = await session.get(Service, service_id)
    if service is None or not service.active:
        raise refused(
            422,
            N_("%(name)s %(value)s is not an active service"),
            field="service_id",
            code="invalid_field",
            name="service_id",
            value=service_id,
        )
