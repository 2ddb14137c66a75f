"""The SLA configuration as one YAML file: export, validate, import (or dry-run).

The file names things (calendars, services, groups, organisations by name,
people by email) so it can move between desks and live in version control.
It is the whole configuration: importing makes the desk match it. Services
are only added or updated, never deleted, since tickets refer to them.

An import is all or nothing. The file is checked completely first and every
problem is reported with its line and field; then one transaction applies it.
A dry run is the same transaction rolled back, so it reports exactly what a
real import would change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, time, timedelta
from enum import StrEnum
from typing import Any, TypeAlias

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas import IntegrationBody, IntegrationRule, WebhookMapping
from api.services import desk as desk_service
from api.services import integrations as integration_service
from api.services import sla as sla_service
from models import Calendar, Group, Integration, Organisation, Service, SlaPolicyRow, User
from models.desk import PRIORITY_MATRIX, read_desk_settings
from workflows.business_time import MINUTES_PER_DAY, WorkRange
from workflows.choices import N_, Status, TicketType
from workflows.priority import matrix_problems
from workflows.sla import (
    DEFAULT_WARNINGS,
    ClockName,
    EscalationAction,
    EscalationKind,
    EscalationLevel,
    ReopenRule,
    Targets,
)
from workflows.sla_config import CalendarSpec, Conditions, DaySpec, PolicySpec
from workflows.ticket.errors import Sentence
from workflows.ticket.messages import DeskConfig

FORMAT_VERSION = 1


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


WEEKDAYS = list(Weekday)

# The models the file refers to by name: each has an integer `id` and a unique `name`.
_NamedModel: TypeAlias = type[Service] | type[Organisation] | type[Group]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _minutes(text: str) -> int:
    if text == "24:00":
        return MINUTES_PER_DAY
    parsed = time.fromisoformat(text)
    if parsed.second or parsed.microsecond:
        raise ValueError("use whole minutes, e.g. 09:30")
    return parsed.hour * 60 + parsed.minute


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_hours(values: list[str]) -> list[WorkRange]:
    """["09:00-12:00", "13:00-17:00"] as working ranges."""
    ranges = []
    for value in values:
        start, sep, end = value.partition("-")
        if not sep:
            raise ValueError(f"{value!r} is not a range like 09:00-17:00")
        try:
            ranges.append(WorkRange(start=_minutes(start.strip()), end=_minutes(end.strip())))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a range like 09:00-17:00 ({exc})") from exc
    return ranges


def format_hours(ranges: list[WorkRange]) -> list[str]:
    return [f"{_hhmm(r.start)}-{_hhmm(r.end)}" for r in ranges]


class DocDay(_Doc):
    day: date
    hours: list[str] = Field(default_factory=list, description="Empty: closed all day")
    label: str = ""

    @field_validator("hours")
    @classmethod
    def _hours(cls, values: list[str]) -> list[str]:
        parse_hours(values)
        return values


class DocHolidays(_Doc):
    country: str
    subdivision: str | None = None


class DocCalendar(_Doc):
    name: str
    timezone: str = "UTC"
    week: dict[Weekday, list[str]] = Field(default_factory=dict)
    holidays: DocHolidays | None = None
    days: list[DocDay] = Field(default_factory=list)

    @field_validator("week")
    @classmethod
    def _week(cls, week: dict[Weekday, list[str]]) -> dict[Weekday, list[str]]:
        for values in week.values():
            parse_hours(values)
        return week


class DocConditions(_Doc):
    types: list[TicketType] = Field(default_factory=list)
    priorities: list[int] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    organisations: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class DocAction(_Doc):
    kind: EscalationKind
    user: str | None = Field(None, description="notify_user: the person's email")
    group: str | None = Field(None, description="reassign: the group's name")


class DocLevel(_Doc):
    after: timedelta = timedelta(0)
    clocks: list[ClockName] = Field(default_factory=lambda: list(ClockName))
    actions: list[DocAction] = Field(default_factory=list)


class DocTargets(_Doc):
    first_response: timedelta | None = None
    next_update: timedelta | None = None
    resolution: timedelta | None = None


class DocPolicy(_Doc):
    name: str
    description: str = ""
    calendar: str
    default: bool = False
    active: bool = True
    conditions: DocConditions = Field(default_factory=DocConditions)
    targets: dict[int, DocTargets] = Field(default_factory=dict)
    pause_statuses: list[Status] = Field(default_factory=lambda: [Status.PENDING])
    warnings: list[int] = Field(default_factory=lambda: list(DEFAULT_WARNINGS))
    escalations: list[DocLevel] = Field(default_factory=list)
    on_reopen: ReopenRule = ReopenRule.CONTINUE
    idle_after: timedelta | None = None
    remind_customer_after: timedelta | None = None
    close_after_reminders: int | None = None


class DocService(_Doc):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    active: bool = True


class DocRule(_Doc):
    severities: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    impact: int | None = None
    urgency: int | None = None
    service: str | None = None
    group: str | None = None


class DocIntegration(_Doc):
    """A monitoring integration, without its token (made on the Integrations page)."""

    name: str
    kind: str
    active: bool = True
    group: str | None = None
    service: str | None = None
    resolve_mode: str = "resolve"
    flap_window: timedelta = timedelta(0)
    link_by: str = "alert"
    rules: list[DocRule] = Field(default_factory=list)
    mapping: WebhookMapping | None = None


class SlaDocument(_Doc):
    version: int
    priority_matrix: list[list[int]] | None = None
    services: list[DocService] = Field(default_factory=list)
    calendars: list[DocCalendar] = Field(default_factory=list)
    policies: list[DocPolicy] = Field(default_factory=list)
    integrations: list[DocIntegration] = Field(default_factory=list)


class ImportRejected(Exception):
    """The file was not applied; `problems` says where ("line 7: policies.0.name") and why."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{where}: {message}" for where, message in self.problems]


# ---------------------------------------------------------------- export


def _targets_doc(targets: Targets) -> DocTargets:
    return DocTargets.model_validate(targets.model_dump())


async def export_document(session: AsyncSession) -> SlaDocument:
    config = DeskConfig.from_stored(await read_desk_settings(session))
    names = _Names(session)
    services = [
        DocService(name=s.name, description=s.description, active=s.active)
        for s in await session.scalars(select(Service).order_by(Service.name))
    ]
    calendars = []
    calendar_names: dict[int, str] = {}
    for calendar in await session.scalars(select(Calendar).order_by(Calendar.name)):
        calendar_spec = await sla_service.calendar_spec_of(session, calendar)
        calendar_names[calendar.id] = calendar.name
        calendars.append(
            DocCalendar(
                name=calendar_spec.name,
                timezone=calendar_spec.timezone,
                week={
                    WEEKDAYS[i]: format_hours(day)
                    for i, day in enumerate(calendar_spec.week)
                    if day
                },
                holidays=DocHolidays(
                    country=calendar_spec.holiday_country,
                    subdivision=calendar_spec.holiday_subdivision,
                )
                if calendar_spec.holiday_country
                else None,
                days=[
                    DocDay(day=d.day, hours=format_hours(d.hours), label=d.label)
                    for d in calendar_spec.days
                ],
            )
        )
    policies = []
    for policy in await session.scalars(select(SlaPolicyRow).order_by(SlaPolicyRow.position)):
        spec = PolicySpec.model_validate(policy, from_attributes=True)
        policies.append(
            DocPolicy(
                name=spec.name,
                description=spec.description,
                calendar=calendar_names[spec.calendar_id],
                default=spec.is_default,
                active=spec.active,
                conditions=DocConditions(
                    types=spec.conditions.types,
                    priorities=spec.conditions.priorities,
                    services=await names.of(Service, spec.conditions.service_ids),
                    organisations=await names.of(Organisation, spec.conditions.organisation_ids),
                    groups=await names.of(Group, spec.conditions.group_ids),
                ),
                targets={p: _targets_doc(t) for p, t in sorted(spec.targets.items())},
                pause_statuses=spec.pause_statuses,
                warnings=spec.warnings,
                escalations=[
                    DocLevel(
                        after=level.after,
                        clocks=level.clocks,
                        actions=[await names.action(a) for a in level.actions],
                    )
                    for level in spec.escalations
                ],
                on_reopen=spec.on_reopen,
                idle_after=spec.idle_after,
                remind_customer_after=spec.remind_customer_after,
                close_after_reminders=spec.close_after_reminders,
            )
        )
    integrations = []
    for integration in await session.scalars(select(Integration).order_by(Integration.name)):
        [group] = await names.of(Group, [integration.group_id]) if integration.group_id else [None]
        [service] = (
            await names.of(Service, [integration.service_id]) if integration.service_id else [None]
        )
        rules = []
        for raw in integration.rules:
            rule = IntegrationRule.model_validate(raw)
            [rule_group] = await names.of(Group, [rule.group_id]) if rule.group_id else [None]
            [rule_service] = (
                await names.of(Service, [rule.service_id]) if rule.service_id else [None]
            )
            rules.append(
                DocRule(
                    severities=rule.severities,
                    labels=rule.labels,
                    impact=rule.impact,
                    urgency=rule.urgency,
                    service=rule_service,
                    group=rule_group,
                )
            )
        integrations.append(
            DocIntegration(
                name=integration.name,
                kind=integration.kind,
                active=integration.active,
                group=group,
                service=service,
                resolve_mode=integration.resolve_mode,
                flap_window=timedelta(seconds=integration.flap_window_seconds),
                link_by=integration.link_by,
                rules=rules,
                mapping=(
                    WebhookMapping.model_validate(integration.mapping)
                    if integration.mapping
                    else None
                ),
            )
        )
    return SlaDocument(
        version=FORMAT_VERSION,
        priority_matrix=config.priority_matrix,
        services=services,
        calendars=calendars,
        policies=policies,
        integrations=integrations,
    )


# PyYAML has no stubs here so SafeDumper is Any; unused-ignore: for when types-PyYAML is added.
class _Dumper(yaml.SafeDumper):  # type: ignore[misc, unused-ignore]
    """Writes every string so that reading the file back gives the same string."""


# A reader folds a raw NEL or Unicode line or paragraph separator into a space;
# in double quotes the writer escapes them (\N, \L, \P), so they survive.
_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if any(mark in value for mark in _LINE_BREAKS) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(document: SlaDocument) -> str:
    data = document.model_dump(mode="json", exclude_none=True)
    for policy in data["policies"]:
        # JSON turns the priorities into strings; people write them as numbers.
        policy["targets"] = {int(p): t for p, t in policy["targets"].items()}
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


async def export_yaml(session: AsyncSession) -> str:
    header = "# Tempodesk SLA configuration: tempodesk sla import <file> makes the desk match it.\n"
    return header + to_yaml(await export_document(session))


class _Names:
    """Ids to names (export) and names to ids (import), per model, cached."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of(self, model: _NamedModel, ids: list[int]) -> list[str]:
        if not ids:
            return []
        rows: dict[int, str] = dict(
            (await self._session.execute(select(model.id, model.name))).tuples().all()
        )
        return [rows.get(i, f"#{i}") for i in ids]

    async def action(self, action: EscalationAction) -> DocAction:
        user = group = None
        if action.user_id is not None:
            user = await self._session.scalar(select(User.email).where(User.id == action.user_id))
        if action.group_id is not None:
            group = await self._session.scalar(
                select(Group.name).where(Group.id == action.group_id)
            )
        return DocAction(kind=action.kind, user=user, group=group)


# ---------------------------------------------------------------- import


def _node_at(node: yaml.Node | None, path: tuple[Any, ...]) -> yaml.Node | None:
    """The deepest node along `path` (mapping keys, sequence indexes) that exists."""
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if str(k.value) == str(step)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            found = node.value[step] if 0 <= step < len(node.value) else None
        else:
            found = None
        if found is None:
            return node
        node = found
    return node


def _where(root: yaml.Node | None, path: tuple[Any, ...]) -> str:
    path = tuple(p for p in path if p != "[key]")  # pydantic marks a bad mapping key so
    node = _node_at(root, path)
    line = f"line {node.start_mark.line + 1}" if node is not None else "line ?"
    field = ".".join(str(p) for p in path) or "(document)"
    return f"{line}: {field}"


def parse_document(text: str) -> tuple[SlaDocument, yaml.Node | None]:
    """Read and shape-check the file; raises ImportRejected naming lines and fields."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}" if mark is not None else "line ?"
        raise ImportRejected([(line, f"not valid YAML: {exc.problem}")]) from exc
    if data is None:
        # An empty upload is far likelier a mistake than a wish to delete every policy.
        raise ImportRejected(
            [("line 1: (document)", "the file is empty; start it with version: 1")]
        )
    if not isinstance(data, dict):
        raise ImportRejected([("line 1: (document)", "the file must be a mapping")])
    try:
        document = SlaDocument.model_validate(data)
    except ValidationError as exc:
        raise ImportRejected(
            [(_where(root, tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        ) from exc
    if document.version != FORMAT_VERSION:
        raise ImportRejected([(_where(root, ("version",)), "only version 1 is understood")])
    return document, root


class _Resolver:
    """Names in the file to ids in the desk (services may come from the file itself)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.problems: list[tuple[tuple[Any, ...], str]] = []

    async def ids(self, model: _NamedModel, names: list[str], path: tuple[Any, ...]) -> list[int]:
        found: dict[str, int] = dict(
            (await self.session.execute(select(model.name, model.id).where(model.name.in_(names))))
            .tuples()
            .all()
        )
        result = []
        for index, name in enumerate(names):
            if name in found:
                result.append(found[name])
            else:
                self.problems.append(((*path, index), f"no {model.__tablename__[:-1]} {name!r}"))
        return result

    async def user(self, email: str, path: tuple[Any, ...]) -> int | None:
        user_id = await self.session.scalar(select(User.id).where(User.email == email.lower()))
        if user_id is None:
            self.problems.append((path, f"no user with email {email!r}"))
        return user_id


def _calendar_spec(doc: DocCalendar) -> CalendarSpec:
    return CalendarSpec(
        name=doc.name,
        timezone=doc.timezone,
        week=[parse_hours(doc.week.get(day, [])) for day in WEEKDAYS],
        holiday_country=doc.holidays.country if doc.holidays else None,
        holiday_subdivision=doc.holidays.subdivision if doc.holidays else None,
        days=[
            DaySpec(day=d.day, hours=parse_hours(d.hours), label=d.label)
            for d in sorted(doc.days, key=lambda d: d.day)
        ],
    )


async def _policy_spec(
    resolver: _Resolver, doc: DocPolicy, calendar_id: int, path: tuple[Any, ...]
) -> PolicySpec:
    conditions = Conditions(
        types=doc.conditions.types,
        priorities=doc.conditions.priorities,
        service_ids=await resolver.ids(
            Service, doc.conditions.services, (*path, "conditions", "services")
        ),
        organisation_ids=await resolver.ids(
            Organisation, doc.conditions.organisations, (*path, "conditions", "organisations")
        ),
        group_ids=await resolver.ids(Group, doc.conditions.groups, (*path, "conditions", "groups")),
    )
    levels = []
    for index, level in enumerate(doc.escalations):
        actions = []
        for a_index, action in enumerate(level.actions):
            where = (*path, "escalations", index, "actions", a_index)
            user_id = await resolver.user(action.user, (*where, "user")) if action.user else None
            group_id = None
            if action.group:
                found = await resolver.ids(Group, [action.group], (*where, "group"))
                group_id = found[0] if found else None
            actions.append(EscalationAction(kind=action.kind, user_id=user_id, group_id=group_id))
        levels.append(EscalationLevel(after=level.after, clocks=level.clocks, actions=actions))
    return PolicySpec(
        name=doc.name,
        description=doc.description,
        calendar_id=calendar_id,
        is_default=doc.default,
        active=doc.active,
        conditions=conditions,
        targets={p: Targets.model_validate(t.model_dump()) for p, t in doc.targets.items()},
        pause_statuses=doc.pause_statuses,
        warnings=doc.warnings,
        escalations=levels,
        on_reopen=doc.on_reopen,
        idle_after=doc.idle_after,
        remind_customer_after=doc.remind_customer_after,
        close_after_reminders=doc.close_after_reminders,
    )


async def _import_integrations(
    session: AsyncSession,
    document: SlaDocument,
    reject: Callable[[tuple[Any, ...], str], None],
    changes: list[str],
) -> None:
    """Integrations in the file are added or updated by name; others are left alone."""
    resolver = _Resolver(session)
    existing = {i.name: i for i in await session.scalars(select(Integration))}

    async def one_id(model: _NamedModel, name: str | None, path: tuple[Any, ...]) -> int | None:
        if name is None:
            return None
        found = await session.scalar(select(model.id).where(model.name == name))
        if found is None:
            resolver.problems.append((path, f"no {model.__tablename__[:-1]} {name!r}"))
        return found

    for index, doc in enumerate(document.integrations):
        path: tuple[Any, ...] = ("integrations", index)
        rules = [
            {
                "severities": r.severities,
                "labels": r.labels,
                "impact": r.impact,
                "urgency": r.urgency,
                "service_id": await one_id(Service, r.service, (*path, "rules", i, "service")),
                "group_id": await one_id(Group, r.group, (*path, "rules", i, "group")),
            }
            for i, r in enumerate(doc.rules)
        ]
        data = {
            "name": doc.name,
            "kind": doc.kind,
            "active": doc.active,
            "group_id": await one_id(Group, doc.group, (*path, "group")),
            "service_id": await one_id(Service, doc.service, (*path, "service")),
            "resolve_mode": doc.resolve_mode,
            "flap_window_seconds": int(doc.flap_window.total_seconds()),
            "link_by": doc.link_by,
            "rules": [{k: v for k, v in r.items() if v is not None} for r in rules],
            "mapping": doc.mapping.model_dump() if doc.mapping else None,
        }
        for where, message in resolver.problems:
            reject(where, message)
        resolver.problems.clear()
        try:
            body = IntegrationBody.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                if loc[:1] == ("flap_window_seconds",):
                    loc = ("flap_window", *loc[1:])
                reject((*path, *loc), error["msg"])
            continue
        for field, message in integration_service.mapping_problems(body):
            reject((*path, *field.split(".")), message)
        row = existing.get(doc.name)
        if row is not None and row.kind != body.kind:
            reject(
                (*path, "kind"), f"integration {doc.name!r} is {row.kind}; the kind cannot change"
            )
            continue
        if row is None:
            await integration_service.add_integration_row(session, body)
            changes.append(f"integration {doc.name!r}: added (make its token on its page)")
        elif integration_service.apply_body(row, body):
            changes.append(f"integration {doc.name!r}: changed")
    await session.flush()


def _spec_path(field: str) -> tuple[Any, ...]:
    """A spec problem's field ("escalations.1.actions", 1-based) as a file path."""
    parts: list[Any] = []
    for part in field.split("."):
        parts.append(int(part) if part.isdigit() else part)
    if parts[:1] == ["escalations"] and len(parts) > 1 and isinstance(parts[1], int):
        parts[1] -= 1  # the specs count levels from 1, the file from 0
    renames = {"calendar_id": "calendar", "is_default": "default"}
    return tuple(renames.get(p, p) if isinstance(p, str) else p for p in parts)


async def import_text(session: AsyncSession, text: str, *, dry_run: bool) -> list[str]:
    """Make the desk match the file; returns what changed (or would change).

    Raises ImportRejected, having written nothing, when anything in the file is wrong.
    """
    document, root = parse_document(text)
    problems: list[tuple[str, str]] = []
    changes: list[str] = []

    def reject(path: tuple[Any, ...], message: str) -> None:
        problems.append((_where(root, path), message))

    named: list[tuple[str, Sequence[DocService | DocCalendar | DocPolicy | DocIntegration]]] = [
        ("services", document.services),
        ("calendars", document.calendars),
        ("policies", document.policies),
        ("integrations", document.integrations),
    ]
    for name, items in named:
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.name in seen:
                reject(
                    (name, index, "name"),
                    Sentence(N_("%(name)s appears twice"), name=repr(item.name)),
                )
            seen.add(item.name)
    if document.priority_matrix is not None:
        for message in matrix_problems(document.priority_matrix):
            reject(("priority_matrix",), message)
    if sum(p.default for p in document.policies) > 1:
        reject(("policies",), Sentence(N_("only one policy can be the default")))
    if problems:
        raise ImportRejected(problems)

    try:
        # Services first: policies may name a service the same file adds.
        for doc_service in document.services:
            service = await session.scalar(select(Service).where(Service.name == doc_service.name))
            if service is None:
                session.add(Service(**doc_service.model_dump()))
                changes.append(f"service {doc_service.name!r}: added")
            elif (service.description, service.active) != (
                doc_service.description,
                doc_service.active,
            ):
                service.description = doc_service.description
                service.active = doc_service.active
                changes.append(f"service {doc_service.name!r}: changed")
        await session.flush()

        calendar_ids: dict[str, int] = {}
        existing = {c.name: c for c in await session.scalars(select(Calendar))}
        for index, doc_calendar in enumerate(document.calendars):
            calendar_spec = _calendar_spec(doc_calendar)
            calendar = existing.get(calendar_spec.name)
            for field, message in await sla_service.calendar_problems(
                session, calendar_spec, calendar.id if calendar else None
            ):
                reject(("calendars", index, *_spec_path(field)), message)
            if problems:
                continue
            if calendar is None:
                stored = await sla_service.store_calendar(session, calendar_spec, None)
                changes.append(f"calendar {calendar_spec.name!r}: added")
            else:
                stored = calendar
                if await sla_service.calendar_spec_of(session, calendar) != calendar_spec:
                    await sla_service.store_calendar(session, calendar_spec, calendar.id)
                    changes.append(f"calendar {calendar_spec.name!r}: changed")
            calendar_ids[calendar_spec.name] = stored.id

        resolver = _Resolver(session)
        existing_policies = {p.name: p for p in await session.scalars(select(SlaPolicyRow))}
        wanted: list[tuple[PolicySpec, SlaPolicyRow | None]] = []
        for index, doc_policy in enumerate(document.policies):
            path: tuple[Any, ...] = ("policies", index)
            if doc_policy.calendar not in calendar_ids:
                reject(
                    (*path, "calendar"),
                    Sentence(
                        N_("no calendar %(name)s in this file"), name=repr(doc_policy.calendar)
                    ),
                )
                continue
            spec = await _policy_spec(resolver, doc_policy, calendar_ids[doc_policy.calendar], path)
            policy = existing_policies.get(spec.name)
            for field, message in await sla_service.policy_problems(
                session, spec, policy.id if policy else None
            ):
                reject((*path, *_spec_path(field)), message)
            wanted.append((spec, policy))
        for path, message in resolver.problems:
            reject(path, message)
        if problems:
            raise ImportRejected(problems)

        # Policies not in the file go; positions follow the file (checked at commit).
        keep = {spec.name for spec, _ in wanted}
        for name, gone in existing_policies.items():
            if name not in keep:
                await session.delete(gone)
                changes.append(f"policy {name!r}: removed")
        await session.flush()
        for position, (spec, policy) in enumerate(wanted, start=1):
            before = policy.version if policy is not None else None
            stored_policy = await sla_service.store_policy(
                session, spec, policy.id if policy else None, position
            )
            if before is None:
                changes.append(f"policy {spec.name!r}: added")
            elif stored_policy.version != before:
                changes.append(f"policy {spec.name!r}: changed (version {stored_policy.version})")
        for name, calendar in existing.items():
            if name not in calendar_ids:
                await session.execute(delete(Calendar).where(Calendar.id == calendar.id))
                changes.append(f"calendar {name!r}: removed")

        await _import_integrations(session, document, reject, changes)
        if problems:
            raise ImportRejected(problems)

        if document.priority_matrix is not None:
            current = DeskConfig.from_stored(await read_desk_settings(session))
            if current.priority_matrix != document.priority_matrix:
                await desk_service.store_setting(session, PRIORITY_MATRIX, document.priority_matrix)
                changes.append("priority matrix: changed")
        await session.flush()
    except BaseException:
        await session.rollback()
        raise
    if dry_run:
        await session.rollback()
    else:
        await session.commit()
    return changes
