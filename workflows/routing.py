"""Routing: which agent of a group is offered a ticket. Pure functions, no I/O.

The activity reads live load and availability from PostgreSQL and calls
`choose`; the ticket's workflow offers the ticket to the chosen agent and waits
for an accept, a decline or the offer's timeout.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Strategy(StrEnum):
    MANUAL = "manual"
    """Nobody is offered anything: agents take tickets from the group's queue."""
    ROUND_ROBIN = "round_robin"
    """The next available member after the one offered last, in a fixed order."""
    LEAST_LOADED = "least_loaded"
    """The available member with the fewest open tickets, weighted by priority."""
    SKILLS = "skills"
    """Members having every skill the ticket needs, then the least loaded of them."""


PRIORITY_WEIGHT = {1: 5.0, 2: 3.0, 3: 2.0, 4: 1.5, 5: 1.0}
"""How much an open ticket of each priority weighs in an agent's load."""


class Candidate(BaseModel):
    user_id: int
    load: float = 0.0
    """Open tickets assigned to the member, weighted by priority."""
    open_tickets: int = 0
    skills: list[str] = Field(default_factory=list)
    available: bool = True
    """Online, within working hours, and below their maximum of open tickets."""


class Offer(BaseModel):
    """A ticket offered to one agent until `expires_at`."""

    agent_id: int
    group_id: int | None
    expires_at: datetime
    round: int = 1


class RoutingState(BaseModel):
    """What the workflow keeps of routing between offers."""

    offer: Offer | None = None
    declined: list[int] = Field(default_factory=list)
    """Agents who declined or let an offer expire: never offered this ticket again."""
    skills: list[str] = Field(default_factory=list)
    """Skills the ticket needs (from the routing rule that placed it)."""
    lead_notified_for: int | None = None
    """The group whose lead was told that nobody took the ticket (once per group)."""
    manual_group: int | None = None
    """The group last found to route manually: not asked again until the group changes."""


def choose(
    strategy: Strategy,
    candidates: list[Candidate],
    *,
    declined: list[int],
    skills: list[str],
    last_offered: int | None,
) -> int | None:
    """The member to offer the ticket to, or None when nobody can take it."""
    if strategy == Strategy.MANUAL:
        return None
    pool = [c for c in candidates if c.available and c.user_id not in declined]
    if strategy == Strategy.SKILLS:
        needed = set(skills)
        pool = [c for c in pool if needed <= set(c.skills)]
    if not pool:
        return None
    if strategy == Strategy.ROUND_ROBIN:
        ordered = sorted(pool, key=lambda c: c.user_id)
        if last_offered is not None:
            after = [c for c in ordered if c.user_id > last_offered]
            if after:
                return after[0].user_id
        return ordered[0].user_id
    return min(pool, key=lambda c: (c.load, c.open_tickets, c.user_id)).user_id
