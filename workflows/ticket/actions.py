"""Every action a ticket takes, declared once.

An `Action` says what the ticket's update is called and carries, who may take it in
which statuses, which rule its validator runs besides the message's field rules, how it
changes the state (its timeline event, whom it notifies, whether it is mailed), what the
workflow loads before applying it, and how the API and the web offer it. From this one
table come the workflow's dispatch and validator (`workflows.ticket.workflow`),
`legal_actions`, the ticket client's update names (`api.ticket_client`), the API's
action routes and their OpenAPI schema (`api.routers.ticket_actions`) and the web UI's
action forms (`web.actions`).

Adding an action: its message (`workflows.ticket.messages`, fields with their rules),
its rule and transition (one of the topic modules), one declaration here, its test.
The names are part of every recorded history: never rename one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from workflows.choices import Status
from workflows.ticket import assignment, incident, lifecycle, sla
from workflows.ticket.errors import RuleViolation
from workflows.ticket.fields import check_fields
from workflows.ticket.messages import (
    AcceptOffer,
    Acknowledge,
    Actor,
    AddNote,
    AnswerConsult,
    ApplySlaPolicy,
    Assign,
    Attach,
    Classify,
    ClassifyRequest,
    Close,
    Consult,
    DeclineOffer,
    LinkParent,
    OpenTicket,
    Pend,
    Reopen,
    Reply,
    Resolve,
    Resume,
    SetMajor,
    SetReminder,
    TicketContext,
    TicketFacts,
    TicketState,
)
from workflows.ticket.rules import (
    DONE,
    WORKING,
    Change,
    Permission,
    is_staff,
    permit,
)

M = TypeVar("M", bound=BaseModel)

OPEN = "open"
"""The creating update (`OpenTicket`), sent with the workflow's start."""

Transition = Callable[[TicketState, Any, TicketContext | None, datetime], Change]
"""How an action changes the state: the state, the message, what the workflow loaded
for it (see `Action.context`) and the time."""
Rule = Callable[[TicketState, Any, datetime], None]


@dataclass(frozen=True, slots=True)
class Route:
    """How the API and the web UI offer an action.

    The API serves `POST /api/v1/tickets/{number}<path>`; its body is the message without
    its actor (and without the path's parameters), each field's rule as its schema's
    constraint. The web UI's form posts the same fields to `/tickets/{number}<path>`.
    """

    path: str
    """Below the ticket, e.g. "/pend"; `{name}` parts fill message fields of that name."""
    summary: str
    """The OpenAPI summary, one line."""
    staff_only: bool = False
    """Refused to customers at the door (403), before the ticket is even looked up."""
    optional_body: bool = False
    """The body may be left out (every field has a default)."""
    request: type[BaseModel] | None = None
    """What a person sends when it is not simply the message without its actor."""
    to_message: Callable[[Any, Actor, TicketState], BaseModel] | None = None
    """The message a `request` asks for, given who asks and the ticket as it is."""


@dataclass(frozen=True, slots=True)
class Action(Generic[M]):
    name: str
    message: type[M]
    permission: Permission
    apply: Transition
    check: Rule | None = None
    """The action's own rule, beyond the message's field rules and the permission."""
    context: Callable[[TicketState, Any], TicketFacts] | Literal["config"] | None = None
    """What the workflow reads before applying it: the desk configuration ("config"),
    or the configuration and the SLA policy these facts match."""
    offered: bool = True
    """Listed in `legal_actions` (the ticket page offers it); False for changes made from
    elsewhere (a task list, the incident panel, a bulk job, a monitoring tool)."""
    route: Route | None = None
    """None: not a request of its own (attach: the upload stores the file first;
    apply_sla_policy: bulk jobs; acknowledge: monitoring tools)."""


# ---------------------------------------------------------------- transitions, uniformly


def _plain(apply: Callable[[TicketState, Any, datetime], tuple[Any, Any]]) -> Transition:
    return lambda state, msg, _context, now: Change(*apply(state, msg, now))


def _changing(apply: Callable[[TicketState, Any, datetime], Change]) -> Transition:
    return lambda state, msg, _context, now: apply(state, msg, now)


def _reply(state: TicketState, msg: Reply, _: TicketContext | None, now: datetime) -> Change:
    new, replied = lifecycle.apply_reply(state, msg, now)
    # An agent's public reply goes to the requester by mail too.
    return Change(new, replied, mail=is_staff(msg.actor))


def _classify(
    state: TicketState, msg: Classify, ctx: TicketContext | None, now: datetime
) -> Change:
    assert ctx is not None
    new, classified = lifecycle.apply_classify(state, msg, ctx.config, now)
    return Change(sla.facts_changed_policy(new, classified, ctx.policy, now), classified)


def _classify_facts(state: TicketState, msg: Classify) -> TicketFacts:
    return _facts(state, impact=msg.impact, urgency=msg.urgency, service_id=msg.service_id)


def _assign(state: TicketState, msg: Assign, ctx: TicketContext | None, now: datetime) -> Change:
    assert ctx is not None
    new, assigned = assignment.apply_assign(state, msg, now)
    new = sla.facts_changed_policy(new, assigned, ctx.policy, now)
    return Change(new, assigned, assignment.transfer_notifications(state, new, msg, assigned))


def _assign_facts(state: TicketState, msg: Assign) -> TicketFacts:
    return _facts(state, priority=state.priority, group_id=msg.group_id)


def _facts(state: TicketState, **changed: Any) -> TicketFacts:
    """What decides a ticket's SLA policy, with the facts a change is about to set."""
    facts = {
        "type": state.type,
        "impact": state.impact,
        "urgency": state.urgency,
        "priority": None,
        "service_id": state.service_id,
        "organisation_id": state.organisation_id,
        "group_id": state.group_id,
    }
    return TicketFacts.model_validate(facts | changed)


def _resolve(state: TicketState, msg: Resolve, ctx: TicketContext | None, now: datetime) -> Change:
    assert ctx is not None
    return Change(*lifecycle.apply_resolve(state, msg, ctx.config, now))


def _close(state: TicketState, msg: Close, _: TicketContext | None, now: datetime) -> Change:
    return Change(*lifecycle.apply_close(state, msg.actor, now, automatic=False))


_ANY_TIME = WORKING | DONE
"""While worked on, and resolved (a note, a file or a question may still come)."""

# The order is the order the ticket page offers them in.
ACTIONS: dict[str, Action[Any]] = {
    a.name: a
    for a in (
        Action(
            "reply",
            Reply,
            Permission("reply to", WORKING, WORKING),
            _reply,
            lifecycle.check_reply,
            route=Route("/reply", "Reply to the customer (with files of the ticket)."),
        ),
        Action(
            "add_note",
            AddNote,
            Permission("add a note to", _ANY_TIME),
            _plain(lifecycle.apply_add_note),
            route=Route("/note", "Add an internal note, visible to staff only.", staff_only=True),
        ),
        Action(
            "classify",
            Classify,
            Permission("change impact/urgency of", WORKING),
            _classify,
            lifecycle.check_classify,
            context=_classify_facts,
            route=Route(
                "/classify",
                "Set impact, urgency and service; priority and SLA targets follow.",
                staff_only=True,
                request=ClassifyRequest,
                to_message=lifecycle.classify_message,
            ),
        ),
        Action(
            "assign",
            Assign,
            Permission("assign", WORKING),
            _assign,
            assignment.check_assign,
            context=_assign_facts,
            route=Route("/assign", "Set group and assignee (null clears).", staff_only=True),
        ),
        Action(
            "pend",
            Pend,
            Permission("set pending", frozenset({Status.NEW, Status.OPEN})),
            _plain(lifecycle.apply_pend),
            route=Route("/pend", "Set pending with a reason.", staff_only=True),
        ),
        Action(
            "resume",
            Resume,
            Permission("resume", frozenset({Status.PENDING})),
            _plain(lifecycle.apply_resume),
            route=Route("/resume", "Resume a pending ticket.", staff_only=True, optional_body=True),
        ),
        Action(
            "resolve",
            Resolve,
            Permission("resolve", WORKING),
            _resolve,
            context="config",
            route=Route(
                "/resolve",
                "Resolve with a resolution code; the reopen window starts.",
                staff_only=True,
            ),
        ),
        Action(
            "reopen",
            Reopen,
            Permission("reopen", DONE, DONE, gate=lifecycle.reopen_window),
            _plain(lifecycle.apply_reopen),
            route=Route(
                "/reopen", "Reopen a resolved ticket within the reopen window.", optional_body=True
            ),
        ),
        Action(
            "close",
            Close,
            Permission("close", DONE),
            _close,
            route=Route(
                "/close",
                "Close a resolved ticket before its reopen window ends.",
                staff_only=True,
                optional_body=True,
            ),
        ),
        Action(
            "attach",
            Attach,
            Permission("attach a file to", _ANY_TIME, WORKING),
            _plain(lifecycle.apply_attach),
            lifecycle.check_attach,
        ),
        Action(
            "apply_sla_policy",
            ApplySlaPolicy,
            Permission("change the SLA policy of", WORKING),
            _plain(sla.apply_sla_policy),
            sla.check_apply_sla_policy,
            offered=False,
        ),
        Action(
            "acknowledge",
            Acknowledge,
            Permission("acknowledge", frozenset({Status.NEW, Status.OPEN})),
            _plain(incident.apply_acknowledge),
            offered=False,
        ),
        Action(
            "set_major",
            SetMajor,
            Permission("change the major flag of", WORKING),
            _plain(incident.apply_set_major),
            incident.check_set_major,
            offered=False,
            route=Route(
                "/major", "Declare an incident major, or no longer major (staff).", staff_only=True
            ),
        ),
        Action(
            "link_parent",
            LinkParent,
            Permission("link", WORKING),
            _plain(incident.apply_link_parent),
            incident.check_link_parent,
            offered=False,
            route=Route(
                "/parent",
                "Make an incident a child of a major incident; `parent_number: null` unlinks "
                "(staff).",
                staff_only=True,
            ),
        ),
        Action(
            "consult",
            Consult,
            Permission("consult a colleague on", _ANY_TIME),
            _changing(assignment.apply_consult),
            assignment.check_consult,
            offered=False,
            route=Route(
                "/consults",
                "Ask a colleague about the ticket (internal); it is in their task list until "
                "answered.",
                staff_only=True,
            ),
        ),
        Action(
            "answer_consult",
            AnswerConsult,
            Permission("answer a question on", _ANY_TIME),
            _changing(assignment.apply_answer_consult),
            assignment.check_answer_consult,
            offered=False,
            route=Route(
                "/consults/{consult_seq}/answer",
                "Answer a colleague's question (an internal note on the ticket).",
                staff_only=True,
            ),
        ),
        Action(
            "set_reminder",
            SetReminder,
            Permission("set a reminder on", WORKING),
            _plain(assignment.apply_set_reminder),
            assignment.check_set_reminder,
            offered=False,
            route=Route(
                "/reminder",
                "Be reminded of the ticket at a time (the assignee is notified); null cancels.",
                staff_only=True,
            ),
        ),
        Action(
            "accept_offer",
            AcceptOffer,
            Permission("accept", WORKING),
            _plain(assignment.apply_accept_offer),
            assignment.check_accept_offer,
            offered=False,
            route=Route(
                "/offer/accept",
                "Take a ticket offered to me: it is assigned to me.",
                staff_only=True,
                optional_body=True,
            ),
        ),
        Action(
            "decline_offer",
            DeclineOffer,
            Permission("decline", WORKING),
            _plain(assignment.apply_decline_offer),
            assignment.check_decline_offer,
            offered=False,
            route=Route(
                "/offer/decline",
                "Pass on a ticket offered to me; it goes to the next agent and never back to me.",
                staff_only=True,
                optional_body=True,
            ),
        ),
    )
}

_BY_MESSAGE: dict[type[BaseModel], Action[Any]] = {a.message: a for a in ACTIONS.values()}


def action_for(msg: BaseModel) -> Action[Any]:
    """The action a message is for (`KeyError` for a message that is no action)."""
    return _BY_MESSAGE[type(msg)]


def validate(action: Action[Any] | str, state: TicketState, msg: BaseModel, now: datetime) -> None:
    """What the update's validator runs: the permission, the message's field rules, the
    action's own rule. Raises `RuleViolation`."""
    if isinstance(action, str):
        action = ACTIONS[action]
    permit(state, action.permission, msg.actor, now)  # type: ignore[attr-defined]
    check_fields(msg)
    if action.check is not None:
        action.check(state, msg, now)


def authorise(state: TicketState, name: str, actor: Actor, now: datetime) -> None:
    """Raise `RuleViolation` unless `actor` may take action `name` on `state` now."""
    permit(state, ACTIONS[name].permission, actor, now)


def legal_actions(state: TicketState, actor: Actor, now: datetime) -> list[str]:
    """The actions `actor` may take on `state` right now that the ticket page offers, in
    display order."""
    legal: list[str] = []
    for name, action in ACTIONS.items():
        if not action.offered:
            continue
        try:
            permit(state, action.permission, actor, now)
        except RuleViolation:
            continue
        legal.append(name)
    return legal


def check_open(msg: OpenTicket) -> None:
    """The opening's rules (there is no state to check it against yet)."""
    lifecycle.check_open(msg)
