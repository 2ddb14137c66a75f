"""Demo data for `tempodesk up --demo`: an organisation, groups, people and a few tickets.

Idempotent: running it again finds what exists and adds nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.auth import Principal
from api.schemas import GroupCreate, OrganisationCreate, TicketCreate, UserCreate
from api.services import directory, sla_io, ticket_actions
from api.ticket_client import TemporalTicketClient
from models import Calendar, Group, Organisation, SlaPolicyRow, Ticket, User
from workflows.choices import Channel, Role, TicketType
from workflows.ticket.messages import Reply

DEMO_PASSWORD = "tempodesk-demo"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str


DEMO_USERS = [
    ("admin@example.com", "Ada Admin", Role.ADMIN, None),
    ("manager@example.com", "Mona Manager", Role.MANAGER, None),
    ("agent@example.com", "Arne Agent", Role.AGENT, None),
    ("agent2@example.com", "Bea Agent", Role.AGENT, None),
    ("carol@acme.example", "Carol Customer", Role.CUSTOMER, "Acme Corp"),
    ("dave@acme.example", "Dave Customer", Role.CUSTOMER, "Acme Corp"),
    ("erin@globex.example", "Erin Customer", Role.CUSTOMER, "Globex"),
]

# Through the same importer as `tempodesk sla import`, so the demo shows the file format too.
DEMO_SLA = """\
version: 1
services:
  - name: Network
  - name: Payroll
calendars:
  - name: Office hours
    timezone: Europe/Berlin
    week:
      monday: ["08:00-12:00", "13:00-18:00"]
      tuesday: ["08:00-12:00", "13:00-18:00"]
      wednesday: ["08:00-12:00", "13:00-18:00"]
      thursday: ["08:00-12:00", "13:00-18:00"]
      friday: ["08:00-15:00"]
    holidays: {country: DE, subdivision: BE}
  - name: Around the clock
    timezone: UTC
    week:
      monday: ["00:00-24:00"]
      tuesday: ["00:00-24:00"]
      wednesday: ["00:00-24:00"]
      thursday: ["00:00-24:00"]
      friday: ["00:00-24:00"]
      saturday: ["00:00-24:00"]
      sunday: ["00:00-24:00"]
policies:
  - name: Critical incidents
    description: Priority 1 incidents are worked around the clock.
    calendar: Around the clock
    conditions: {types: [incident], priorities: [1]}
    targets:
      1: {first_response: PT15M, next_update: PT1H, resolution: PT4H}
    escalations:
      - after: PT0S
        actions: [{kind: notify_group_lead}, {kind: notify_managers}]
      - after: PT1H
        actions: [{kind: reassign, group: Network}]
  - name: Standard
    calendar: Office hours
    default: true
    targets:
      1: {first_response: PT30M, resolution: PT4H}
      2: {first_response: PT1H, next_update: PT4H, resolution: PT8H}
      3: {first_response: PT4H, next_update: PT8H, resolution: P2D}
      4: {first_response: PT8H, resolution: P5D}
      5: {first_response: P1D, resolution: P10D}
    escalations:
      - after: PT0S
        actions: [{kind: notify_group_lead}]
"""

DEMO_TICKETS = [
    ("carol@acme.example", TicketType.INCIDENT, "VPN drops every few minutes", 2, 2),
    ("carol@acme.example", TicketType.SERVICE_REQUEST, "New laptop for a starter", 3, 3),
    ("dave@acme.example", TicketType.INCIDENT, "Payroll export fails with error 500", 1, 2),
    ("erin@globex.example", TicketType.INCIDENT, "Printer on floor 3 jams", 3, 2),
]


async def _principal(session: AsyncSession, email: str) -> Principal:
    user = await session.scalar(select(User).where(User.email == email))
    assert user is not None
    return Principal(
        id=user.id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        organisation_id=user.organisation_id,
        organisation_shared=False,
        via="demo",
    )


async def seed(sessions: async_sessionmaker[AsyncSession], client: Client) -> list[DemoLogin]:
    async with sessions() as session:
        orgs: dict[str, int] = {}
        for name, domain in (("Acme Corp", "acme.example"), ("Globex", "globex.example")):
            org = await session.scalar(select(Organisation).where(Organisation.name == name))
            if org is None:
                created = await directory.create_organisation(
                    session, OrganisationCreate(name=name, domains=[domain])
                )
                orgs[name] = created.id
            else:
                orgs[name] = org.id
        for email, name, role, org_name in DEMO_USERS:
            if await session.scalar(select(User.id).where(User.email == email)) is None:
                await directory.create_user(
                    session,
                    UserCreate(
                        email=email,
                        name=name,
                        role=role,
                        organisation_id=orgs[org_name] if org_name else None,
                        password=DEMO_PASSWORD,
                    ),
                )
        agent_ids = list(
            await session.scalars(
                select(User.id).where(
                    User.email.in_(
                        ["agent@example.com", "agent2@example.com", "manager@example.com"]
                    )
                )
            )
        )
        for group_name, description in (
            ("Service Desk", "First line: every new ticket lands here"),
            ("Network", "VPN, Wi-Fi and firewalls"),
        ):
            if await session.scalar(select(Group.id).where(Group.name == group_name)) is None:
                await directory.create_group(
                    session,
                    GroupCreate(name=group_name, description=description, member_ids=agent_ids),
                )
        configured = await session.scalar(select(Calendar.id).limit(1)) or await session.scalar(
            select(SlaPolicyRow.id).limit(1)
        )
        if configured is None:
            await sla_io.import_text(session, DEMO_SLA, dry_run=False)
        has_tickets = await session.scalar(select(Ticket.id).limit(1))
        if has_tickets is None:
            desk = await session.scalar(select(Group.id).where(Group.name == "Service Desk"))
            agent = await _principal(session, "agent@example.com")
            tickets = TemporalTicketClient(client)
            for index, (email, kind, subject, impact, urgency) in enumerate(DEMO_TICKETS):
                requester = await _principal(session, email)
                ticket = await ticket_actions.create_ticket(
                    session,
                    tickets,
                    agent,
                    TicketCreate(
                        type=kind,
                        subject=subject,
                        description=f"Reported by {requester.name}.",
                        impact=impact,
                        urgency=urgency,
                        requester_id=requester.id,
                        group_id=desk,
                        channel=Channel.PHONE,
                    ),
                    f"demo-ticket-{index}",
                )
                if kind == TicketType.INCIDENT and impact == 1:
                    await ticket_actions.act(
                        session,
                        tickets,
                        agent,
                        ticket.number,
                        Reply(actor=agent.actor(), body="We are looking into it."),
                    )
    return [DemoLogin(email, role.value) for email, _, role, _ in DEMO_USERS]
