"""`TicketRun`: what one run of a ticket's workflow does (`workflows.ticket` hands it
each activation).

Every change arrives as an Update. Its validator runs the pure rules of
`workflows.lifecycle` and rejects an illegal change before anything is written.
The handler applies the change and persists the projection (ticket row plus an
append-only event row) through a local activity before it returns, so a read
right after a write sees it.

Deployed workers run it outside the sandbox (see `workflows.ticket`), so its
code keeps the sandbox's rules by discipline: time, randomness and I/O only
through `workflow.*`. The workflow tests and the replay tests run it in the
SDK's sandbox as it comes, which is where a breach shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

# The pure domain modules hold no state and do no I/O (their functions take
# `now` as an argument), so they are imported once and shared by every run, even
# under the strict sandbox of the tests. Names come from the modules themselves:
# `from workflows import ids` would execute ids.py anew in each sandboxed run,
# because the `workflows` package seen there is the run's own.
with workflow.unsafe.imports_passed_through():
    from workflows.choices import Status
    from workflows.followup import (
        apply_customer_reminder,
        apply_idle,
        customer_reminder_due,
        idle_due,
    )
    from workflows.ids import (
        LOAD_DESK_CONFIG,
        LOAD_SLA_CALENDAR,
        LOAD_TICKET_CONTEXT,
        OPEN_TICKET,
        PERSIST_TICKET,
        ROUTE_TICKET,
        SEND_TICKET_MAIL,
    )
    from workflows.lifecycle import (
        STAFF_ROLES,
        RuleViolation,
        apply_accept_offer,
        apply_acknowledge,
        apply_add_note,
        apply_answer_consult,
        apply_assign,
        apply_attach,
        apply_classify,
        apply_close,
        apply_consult,
        apply_decline_offer,
        apply_link_parent,
        apply_offer_expired,
        apply_open,
        apply_pend,
        apply_raise_priority,
        apply_reminder_due,
        apply_reopen,
        apply_reply,
        apply_resolve,
        apply_resume,
        apply_route,
        apply_set_major,
        apply_set_reminder,
        apply_sla_checkpoint,
        apply_sla_policy,
        check_accept_offer,
        check_acknowledge,
        check_add_note,
        check_answer_consult,
        check_apply_sla_policy,
        check_assign,
        check_attach,
        check_classify,
        check_close,
        check_consult,
        check_decline_offer,
        check_link_parent,
        check_open,
        check_pend,
        check_raise_priority,
        check_reopen,
        check_reply,
        check_resolve,
        check_resume,
        check_set_major,
        check_set_reminder,
        checkpoint_notifications,
        facts_changed_policy,
        needs_routing,
        transfer_notifications,
    )
    from workflows.sla import (
        Checkpoint,
        EscalationAction,
        EscalationKind,
        SlaPolicy,
        due_checkpoints,
        escalation_actions,
        next_checkpoint,
        refresh_calendar,
    )
    from workflows.ticket_model import (
        ACTIONS,
        SYSTEM,
        AcceptOffer,
        Acknowledge,
        AddNote,
        AnswerConsult,
        ApplySlaPolicy,
        Assign,
        Attach,
        CalendarLookup,
        Classify,
        Close,
        Consult,
        DeclineOffer,
        DeskConfig,
        LinkParent,
        NotifyRequest,
        OpenTicket,
        Pend,
        ProjectedOpening,
        ProjectionResult,
        ProjectOpening,
        ProjectTicket,
        Reopen,
        Reply,
        Resolve,
        Resume,
        RouteDecision,
        RouteRequest,
        SetMajor,
        SetReminder,
        TicketContext,
        TicketEvent,
        TicketFacts,
        TicketInput,
        TicketMail,
        TicketState,
    )

M = TypeVar("M")
R = TypeVar("R")

_PATCH_OPEN_IN_ONE_WRITE = "open-in-one-write"
"""Opening reads the desk settings and writes the projection in one local
activity (before: a settings read, then a write). Asked only by runs started
without `TicketInput.one_write`."""
_PATCH_SLA = "sla-engine"
_PATCH_ROUTING = "routing"
"""Classify and assign look up the SLA policy the new facts match (before: the
desk settings only)."""

_PATCH_MAIL_OUTBOX = "mail-outbox"
"""A public agent reply is mailed to the requester by an activity (before: no mail)."""

_PATCH_MAIL_NOTIFICATIONS = "mail-notifications"
"""People notified of an SLA checkpoint also get it by mail (before: in the app only)."""

_PATCH_FOLLOWUPS = "idle-and-customer-reminders"
"""Idle tickets and unanswered customers are followed up (before: neither)."""

_MAIL_START_TO_CLOSE = timedelta(minutes=2)
_MAIL_GIVE_UP = timedelta(days=2)
"""How long an SMTP server may stay away before the reply is not mailed after all."""
_MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)
)

_RETRY_TIMER_WORK = timedelta(seconds=30)
"""When timer-driven work (auto-close, an SLA checkpoint) cannot be saved, try again
after this long; the ticket must never fail because the database was away."""
_CALENDAR_REFRESH_MARGIN = timedelta(days=90)
"""Refresh the SLA calendar's resolved span this long before it runs out."""
_KEEP_POLICY: SlaPolicy | None = None

UNAVAILABLE = "unavailable"
"""ApplicationError type when the projection could not be written (HTTP 503)."""

# Projection writes are idempotent, so retrying them is safe; after this long
# the update fails instead of hanging the caller, and nothing is changed.
# A local activity's failure arrives as the activity's own error (not wrapped
# in ActivityError), so all three kinds are caught.
_ACTIVITY_FAILED = (ActivityError, ApplicationError, TemporalTimeoutError)
_PERSIST_TIMEOUT = timedelta(seconds=30)
_PERSIST_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100), maximum_interval=timedelta(seconds=2)
)


def _rejected(exc: RuleViolation) -> ApplicationError:
    return ApplicationError(exc.message, exc.field, type=exc.kind.value, non_retryable=True)


_DONE_UPDATES_KEPT = 100
"""How many applied update ids a run hands to the next: a retry that can cross a
continue-as-new is one in flight at that moment, so the last few suffice."""


class TicketRun:
    """Everything a ticket does; `workflows.ticket.TicketWorkflow` hands it each
    activation. A plain class: the SDK inspects every member of a workflow class
    whenever the sandbox imports the workflow's module, once per new ticket
    (docs/benchmarks.md)."""

    def __init__(self, inp: TicketInput) -> None:
        self._state: TicketState | None = inp.state
        # Handlers await the projection write; the lock keeps one change at a
        # time so events get gap-free sequence numbers in the order applied.
        self._lock = asyncio.Lock()
        self._wake = False
        self._retry_at: datetime | None = None
        self._refreshed_on: date | None = None
        # Mail in flight: the ticket may carry on meanwhile, but must not
        # continue-as-new or end before each send has finished.
        self._mail: list[tuple[TicketMail, workflow.ActivityHandle[Any]]] = []
        self._carried_mail = list(inp.mail)
        self._done_updates: dict[str, None] = dict.fromkeys(inp.done_updates)
        self._one_write = inp.one_write
        # Whether the worker that saved the last change can send mail: without an SMTP
        # server a reply's mail activity would only record that it was not sent.
        self._can_mail = True

    async def run(self, inp: TicketInput) -> TicketState:
        if self._state is None:
            if inp.open is None:
                raise ApplicationError("a new ticket needs its OpenTicket", non_retryable=True)
            # Update-with-start is not atomic: the start may arrive without the
            # `open` update, so the workflow opens the ticket itself too.
            try:
                check_open(inp.open)
            except RuleViolation as exc:
                raise _rejected(exc) from None
            await self._open(inp.open)
        for mail in self._carried_mail:
            self._send_mail(mail)

        while True:
            state = self._require_state()
            if state.status == Status.CLOSED:
                break
            if self._wants_routing(state) and workflow.patched(_PATCH_ROUTING):
                await self._route()
                continue
            if workflow.info().is_continue_as_new_suggested():
                break
            self._wake = False
            deadline, why = self._next_deadline(state)
            if deadline is not None and workflow.now() >= deadline:
                await self._timer_work()
                continue
            try:
                await workflow.wait_condition(
                    lambda: self._wake or workflow.info().is_continue_as_new_suggested(),
                    timeout=(deadline - workflow.now()) if deadline is not None else None,
                    timeout_summary=why,
                )
            except TimeoutError:
                await self._timer_work()

        # No update handler may be in flight when the run ends (it would fail as
        # "completed before the update completed"). A closed ticket also waits for its
        # mail; a continued one hands unfinished mail to the next run instead, so an SMTP
        # outage never holds back continue-as-new. One condition, no gap for an update.
        closing = self._require_state().status == Status.CLOSED
        await workflow.wait_condition(
            lambda: (
                workflow.all_handlers_finished()
                and (not closing or all(h.done() for _, h in self._mail))
            )
        )
        state = self._require_state()
        if state.status == Status.CLOSED:
            await self._mail_finished()  # all done: returns without yielding
            return state
        unfinished = [m for m, h in self._mail if not h.done()]
        done = list(self._done_updates)[-_DONE_UPDATES_KEPT:]
        workflow.continue_as_new(TicketInput(state=state, mail=unfinished, done_updates=done))

    def _next_deadline(self, state: TicketState) -> tuple[datetime | None, str | None]:
        """The earliest instant the ticket must act by itself, and why."""
        candidates: list[tuple[datetime, str]] = []
        if state.status == Status.RESOLVED and state.reopen_until is not None:
            candidates.append((state.reopen_until, "auto-close"))
        checkpoint = next_checkpoint(state.sla)
        if checkpoint is not None:
            candidates.append(
                (checkpoint.at, f"SLA {checkpoint.clock.value} {checkpoint.kind.value}")
            )
        refresh = self._calendar_refresh_due(state)
        if refresh is not None:
            candidates.append((refresh, "SLA calendar refresh"))
        if self._retry_at is not None:
            candidates.append((self._retry_at, "retry after a failed save"))
        if state.routing.offer is not None:
            candidates.append((state.routing.offer.expires_at, "offer expires"))
        if state.remind_at is not None:
            candidates.append((state.remind_at, "reminder"))
        if self._follows_up(state):
            idle = idle_due(state)
            if idle is not None:
                candidates.append((idle, "idle"))
            waiting = customer_reminder_due(state)
            if waiting is not None:
                candidates.append((waiting, "remind the customer"))
        if not candidates:
            return None, None
        return min(candidates, key=lambda c: c[0])

    @staticmethod
    def _follows_up(state: TicketState) -> bool:
        """Whether the ticket's policy asks for follow-ups (the patch marker is only
        written for such tickets, so older histories replay unchanged)."""
        policy = state.sla.policy if state.sla is not None else None
        return (
            policy is not None
            and (policy.idle_after is not None or policy.remind_customer_after is not None)
            and workflow.patched(_PATCH_FOLLOWUPS)
        )

    def _calendar_refresh_due(self, state: TicketState) -> datetime | None:
        if state.sla is None or state.sla.policy.calendar_id is None:
            return None
        if state.sla.problem is not None and self._refreshed_on != workflow.now().date():
            return workflow.now()
        last = state.sla.policy.calendar.last_day
        due = datetime.combine(last, datetime.min.time(), workflow.now().tzinfo)
        return due - _CALENDAR_REFRESH_MARGIN

    async def _timer_work(self) -> None:
        """Everything due now: auto-close, SLA checkpoints, a calendar refresh."""
        self._retry_at = None
        try:
            await self._expire_offer()
            await self._remind()
            await self._follow_up()
            await self._auto_close()
            await self._refresh_calendar()
            await self._fire_sla()
        except ApplicationError as exc:
            if exc.type != UNAVAILABLE:
                raise
            workflow.logger.warning("timer work could not be saved; retrying: %s", exc)
            self._retry_at = workflow.now() + _RETRY_TIMER_WORK

    def current(self) -> TicketState:
        """The live state of the ticket (the workflow's query)."""
        return self._require_state()

    # ------------------------------------------------------------ updates

    def validate(self, name: str, args: Sequence[RawValue]) -> None:
        """Refuse an illegal change before anything is written (the update's validator)."""
        action, msg = _decode(name, args)
        if action.check is None:  # open
            if self._state is not None:
                return  # a retry of the creating request: answered with the current state
            self._check(lambda: check_open(msg))
        else:
            self._check_state(msg, action.check)

    async def act(self, name: str, args: Sequence[RawValue]) -> TicketState:
        """Apply a change. Each update id is applied once, across continue-as-new too:
        Temporal answers a repeated id itself only within one run, and a client retry
        (the API's, or the SDK's after a lost answer) can reach the next run after the
        first attempt was applied; it then gets the ticket as it is. Only ids carried in
        by new code are known, so a history recorded before this replays unchanged."""
        action, msg = _decode(name, args)
        if action.check is None:  # open: a repeat is answered by `_open` itself
            return await action.apply(self, msg)
        update_id = self._update_id()
        if update_id in self._done_updates:
            return self._require_state()
        state = await action.apply(self, msg)
        self._done_updates[update_id] = None
        return state

    async def reply(self, msg: Reply) -> TicketState:
        """A public reply from an agent or the customer; an agent's is mailed to the requester."""
        state = await self._change(msg, check_reply, lambda s: apply_reply(s, msg, workflow.now()))
        if (
            msg.actor.role in STAFF_ROLES
            and self._can_mail
            and workflow.patched(_PATCH_MAIL_OUTBOX)
        ):
            self._send_mail(TicketMail(ticket_id=state.id, seq=state.seq, kind="reply"))
        return state

    async def add_note(self, msg: AddNote) -> TicketState:
        """An internal note."""
        return await self._change(
            msg, check_add_note, lambda s: apply_add_note(s, msg, workflow.now())
        )

    async def classify(self, msg: Classify) -> TicketState:
        """Change impact, urgency and service; the priority follows from the desk's matrix,
        and the SLA policy the new facts match applies (elapsed time kept)."""
        policy = _KEEP_POLICY
        if workflow.patched(_PATCH_SLA):
            state = self._require_state()
            context = await self._context(
                state,
                impact=msg.impact,
                urgency=msg.urgency,
                priority=None,
                service_id=msg.service_id,
                group_id=state.group_id,
            )
            config, policy = context.config, context.policy
        else:
            config = await self._config()
        return await self._change(
            msg,
            check_classify,
            lambda s: self._rematched(apply_classify(s, msg, config, workflow.now()), policy),
        )

    async def assign(self, msg: Assign) -> TicketState:
        """Set group and assignee; the SLA policy the new group matches applies."""
        policy = _KEEP_POLICY
        if workflow.patched(_PATCH_SLA):
            state = self._require_state()
            context = await self._context(
                state,
                impact=state.impact,
                urgency=state.urgency,
                priority=state.priority,
                service_id=state.service_id,
                group_id=msg.group_id,
            )
            policy = context.policy

        def transfer(s: TicketState) -> tuple[TicketState, TicketEvent, list[NotifyRequest]]:
            new, event = self._rematched(apply_assign(s, msg, workflow.now()), policy)
            return new, event, transfer_notifications(s, new, msg, event)

        return await self._change_notify(msg, check_assign, transfer)

    async def pend(self, msg: Pend) -> TicketState:
        """Wait for someone else, with a reason."""
        return await self._change(msg, check_pend, lambda s: apply_pend(s, msg, workflow.now()))

    async def resume(self, msg: Resume) -> TicketState:
        """Back to work after pending."""
        return await self._change(msg, check_resume, lambda s: apply_resume(s, msg, workflow.now()))

    async def resolve(self, msg: Resolve) -> TicketState:
        """Resolve with a resolution code; the reopen window starts."""
        config = await self._config()
        return await self._change(
            msg, check_resolve, lambda s: apply_resolve(s, msg, config, workflow.now())
        )

    async def reopen(self, msg: Reopen) -> TicketState:
        """Reopen a resolved ticket within the reopen window."""
        return await self._change(msg, check_reopen, lambda s: apply_reopen(s, msg, workflow.now()))

    async def close(self, msg: Close) -> TicketState:
        """Close a resolved ticket now instead of at the end of the reopen window."""
        return await self._change(
            msg, check_close, lambda s: apply_close(s, msg.actor, workflow.now(), automatic=False)
        )

    async def apply_sla_policy(self, msg: ApplySlaPolicy) -> TicketState:
        """Put the ticket under another policy or a newer version of its own."""
        return await self._change(
            msg, check_apply_sla_policy, lambda s: apply_sla_policy(s, msg, workflow.now())
        )

    async def attach(self, msg: Attach) -> TicketState:
        """Record a stored attachment on the ticket."""
        return await self._change(msg, check_attach, lambda s: apply_attach(s, msg, workflow.now()))

    async def acknowledge(self, msg: Acknowledge) -> TicketState:
        """Acknowledged at its source (a monitoring tool): recorded; a new one is in progress."""
        return await self._change(
            msg, check_acknowledge, lambda s: apply_acknowledge(s, msg, workflow.now())
        )

    async def set_major(self, msg: SetMajor) -> TicketState:
        """Declare the incident major, or no longer major."""
        return await self._change(
            msg, check_set_major, lambda s: apply_set_major(s, msg, workflow.now())
        )

    async def link_parent(self, msg: LinkParent) -> TicketState:
        """Make the incident a child of a major incident, or unlink it."""
        return await self._change(
            msg, check_link_parent, lambda s: apply_link_parent(s, msg, workflow.now())
        )

    async def consult(self, msg: Consult) -> TicketState:
        """Ask a colleague about the ticket; they see it in their task list."""
        return await self._change_notify(
            msg, check_consult, lambda s: apply_consult(s, msg, workflow.now())
        )

    async def answer_consult(self, msg: AnswerConsult) -> TicketState:
        """The consulted colleague answers, as an internal note."""
        return await self._change_notify(
            msg, check_answer_consult, lambda s: apply_answer_consult(s, msg, workflow.now())
        )

    async def set_reminder(self, msg: SetReminder) -> TicketState:
        """Remind the assignee of the ticket at a time (a durable timer), or cancel it."""
        return await self._change(
            msg, check_set_reminder, lambda s: apply_set_reminder(s, msg, workflow.now())
        )

    async def accept_offer(self, msg: AcceptOffer) -> TicketState:
        """The agent it is offered to takes the ticket."""
        return await self._change(
            msg, check_accept_offer, lambda s: apply_accept_offer(s, msg, workflow.now())
        )

    async def decline_offer(self, msg: DeclineOffer) -> TicketState:
        """The agent it is offered to passes; the next one is offered it."""
        return await self._change(
            msg, check_decline_offer, lambda s: apply_decline_offer(s, msg, workflow.now())
        )

    # ------------------------------------------------------------ routing

    def _wants_routing(self, state: TicketState) -> bool:
        if self._retry_at is not None and workflow.now() < self._retry_at:
            return False
        return needs_routing(state) and state.routing.manual_group != state.group_id

    async def _route(self) -> None:
        """Ask whom to offer the ticket to, and offer it (or tell the lead nobody can)."""
        async with self._lock:
            state = self._require_state()
            if not self._wants_routing(state):
                return
            assert state.group_id is not None
            try:
                decision = await self._local(
                    ROUTE_TICKET,
                    RouteRequest(
                        ticket_id=state.id,
                        group_id=state.group_id,
                        declined=state.routing.declined,
                        skills=state.routing.skills,
                    ),
                    RouteDecision,
                    "the ticket could not be routed",
                )
                applied = apply_route(state, decision, workflow.now())
                if applied is None:
                    # A manual group, or nobody can take it and the lead knows: the
                    # ticket waits in the group's queue until its group changes.
                    state.routing.manual_group = state.group_id
                    return
                new, event, notify = applied
                saved = await self._persist(new, event, notify)
                self._state = new
                self._tell(new, notify, saved)
            except ApplicationError as exc:
                if exc.type != UNAVAILABLE:
                    raise
                workflow.logger.warning("routing could not be saved; retrying: %s", exc)
                self._retry_at = workflow.now() + _RETRY_TIMER_WORK

    async def _expire_offer(self) -> None:
        async with self._lock:
            state = self._require_state()
            offer = state.routing.offer
            if offer is None or workflow.now() < offer.expires_at:
                return
            new, event = apply_offer_expired(state, workflow.now())
            await self._persist(new, event)
            self._state = new

    # ------------------------------------------------------------ internals

    def _require_state(self) -> TicketState:
        if self._state is None:
            raise ApplicationError("the ticket is not open yet", type="illegal_state")
        return self._state

    @staticmethod
    def _check(check: Callable[[], None]) -> None:
        try:
            check()
        except RuleViolation as exc:
            raise _rejected(exc) from None

    @staticmethod
    def _update_id() -> str:
        info = workflow.current_update_info()
        return info.id if info is not None else ""

    def _check_state(self, msg: M, check: Callable[[TicketState, M, datetime], None]) -> None:
        if self._update_id() in self._done_updates:
            return  # a retry of an update an earlier run applied: answered, not applied
        state = self._require_state()
        self._check(lambda: check(state, msg, workflow.now()))

    async def _open(self, msg: OpenTicket) -> TicketState:
        """Create the ticket. Repeating it returns the ticket as it is now."""
        async with self._lock:
            if self._state is not None:
                return self._state
            if self._one_write or workflow.patched(_PATCH_OPEN_IN_ONE_WRITE):
                opened = await self._local(
                    OPEN_TICKET,
                    ProjectOpening(
                        ticket_id=workflow.info().workflow_id, open=msg, at=workflow.now()
                    ),
                    ProjectedOpening,
                    "the ticket could not be saved; nothing was changed, try again",
                )
                self._state = opened.state
            else:
                config = await self._config()
                state, event = apply_open(workflow.info().workflow_id, msg, config, workflow.now())
                result = await self._persist(state, event)
                self._state = state.model_copy(update={"number": result.number})
            self._wake = True
            return self._state

    async def _change(
        self,
        msg: M,
        check: Callable[[TicketState, M, datetime], None],
        apply: Callable[[TicketState], tuple[TicketState, TicketEvent]],
    ) -> TicketState:
        async with self._lock:
            # Validated against the state at arrival; another update may have
            # changed it while this one waited for the lock, so check again.
            self._check_state(msg, check)
            state, event = apply(self._require_state())
            saved = await self._persist(state, event)
            self._can_mail = saved.mail
            self._state = state
            self._wake = True
            return state

    async def _change_notify(
        self,
        msg: M,
        check: Callable[[TicketState, M, datetime], None],
        apply: Callable[[TicketState], tuple[TicketState, TicketEvent, list[NotifyRequest]]],
    ) -> TicketState:
        """`_change` for changes that tell somebody (in the same projection write)."""
        async with self._lock:
            self._check_state(msg, check)
            state, event, notify = apply(self._require_state())
            saved = await self._persist(state, event, notify)
            self._state = state
            self._wake = True
            self._tell(state, notify, saved)
            return state

    async def _remind(self) -> None:
        async with self._lock:
            state = self._require_state()
            if state.remind_at is None or workflow.now() < state.remind_at:
                return
            new, event, notify = apply_reminder_due(state, workflow.now())
            saved = await self._persist(new, event, notify)
            self._state = new
            self._tell(new, notify, saved)

    async def _follow_up(self) -> None:
        """An idle ticket's next reminder; the waited-for customer's reminder (or the close
        when they are used up)."""
        async with self._lock:
            state = self._require_state()
            if not self._follows_up(state):
                return
            idle = idle_due(state)
            if idle is not None and workflow.now() >= idle:
                new, event, notify = apply_idle(state, workflow.now())
                saved = await self._persist(new, event, notify)
                self._state = state = new
                self._tell(new, notify, saved)
            waiting = customer_reminder_due(state)
            if waiting is not None and workflow.now() >= waiting:
                new, event, mail = apply_customer_reminder(state, workflow.now())
                saved = await self._persist(new, event)
                self._state = new
                if mail and saved.mail:
                    self._send_mail(TicketMail(ticket_id=new.id, seq=new.seq, kind="reply"))

    async def _auto_close(self) -> None:
        async with self._lock:
            state = self._require_state()
            if state.status != Status.RESOLVED or state.reopen_until is None:
                return
            if workflow.now() < state.reopen_until:
                return
            new, event = apply_close(state, SYSTEM, workflow.now(), automatic=True)
            await self._persist(new, event)
            self._state = new

    async def _persist(
        self, state: TicketState, event: TicketEvent, notify: list[NotifyRequest] | None = None
    ) -> ProjectionResult:
        return await self._local(
            PERSIST_TICKET,
            ProjectTicket(state=state, event=event, notify=notify or []),
            ProjectionResult,
            "the ticket could not be saved; nothing was changed, try again",
        )

    async def _context(
        self,
        state: TicketState,
        *,
        impact: int,
        urgency: int,
        priority: int | None,
        service_id: int | None,
        group_id: int | None,
    ) -> TicketContext:
        facts = TicketFacts(
            type=state.type,
            impact=impact,
            urgency=urgency,
            priority=priority,
            service_id=service_id,
            organisation_id=state.organisation_id,
            group_id=group_id,
        )
        return await self._local(
            LOAD_TICKET_CONTEXT,
            facts,
            TicketContext,
            "the desk settings could not be read; try again",
        )

    @staticmethod
    def _rematched(
        change: tuple[TicketState, TicketEvent], policy: SlaPolicy | None
    ) -> tuple[TicketState, TicketEvent]:
        state, event = change
        return facts_changed_policy(state, event, policy, workflow.now()), event

    # ------------------------------------------------------------ SLA

    async def _fire_sla(self) -> None:
        """Fire every SLA checkpoint that is due, each once (its key is kept in the state)."""
        async with self._lock:
            while True:
                state = self._require_state()
                if state.sla is None:
                    return
                due = due_checkpoints(state.sla, workflow.now())
                if not due:
                    return
                checkpoint = due[0]
                actions = escalation_actions(state.sla.policy, checkpoint)
                notify = checkpoint_notifications(state, checkpoint, actions)
                new, event = apply_sla_checkpoint(state, checkpoint, workflow.now())
                saved = await self._persist(new, event, notify)
                self._state = new
                self._tell(new, notify, saved)
                for action in actions:
                    await self._escalate(action, checkpoint)

    async def _escalate(self, action: EscalationAction, checkpoint: Checkpoint) -> None:
        """Raise the priority or reassign through the same rules an agent's change obeys;
        a change the rules refuse (already P1, already in that group) is left out."""
        state = self._require_state()
        now = workflow.now()
        reason = f"SLA escalation level {checkpoint.level} ({checkpoint.clock.value})"
        try:
            if action.kind == EscalationKind.RAISE_PRIORITY:
                check_raise_priority(state, now)
                new, event = apply_raise_priority(state, reason, now)
            elif action.kind == EscalationKind.REASSIGN:
                msg = Assign(actor=SYSTEM, group_id=action.group_id, assignee_id=None, note=reason)
                check_assign(state, msg, now)
                new, event = apply_assign(state, msg, now)
            else:
                return
        except RuleViolation as exc:
            workflow.logger.info("escalation %s left out: %s", action.kind.value, exc.message)
            return
        await self._persist(new, event)
        self._state = new

    async def _refresh_calendar(self) -> None:
        state = self._require_state()
        due = self._calendar_refresh_due(state)
        if due is None or workflow.now() < due or state.sla is None:
            return
        calendar_id = state.sla.policy.calendar_id
        self._refreshed_on = workflow.now().date()
        lookup = await self._local(
            LOAD_SLA_CALENDAR,
            calendar_id,
            CalendarLookup,
            "the SLA calendar could not be read; try again",
        )
        async with self._lock:
            state = self._require_state()
            if lookup.calendar is not None and state.sla is not None:
                self._state = state.model_copy(
                    update={"sla": refresh_calendar(state.sla, lookup.calendar)}
                )

    # ------------------------------------------------------------ mail

    def _tell(
        self, state: TicketState, notify: list[NotifyRequest], saved: ProjectionResult
    ) -> None:
        """Whoever an event notified in the app also gets it by mail (and their other
        channels), as their preferences say; started without waiting, like a reply's mail.
        Not started when the projection found nobody to mail or push to: no round trip
        through the server for a desk without SMTP (docs/benchmarks.md)."""
        if notify and saved.deliver and workflow.patched(_PATCH_MAIL_NOTIFICATIONS):
            self._send_mail(TicketMail(ticket_id=state.id, seq=state.seq, kind="notification"))

    def _send_mail(self, mail: TicketMail) -> None:
        """Start the send without waiting for it: the reply is saved and answered now, the
        activity's outbox row (unique on ticket and seq) makes the mail go out once."""
        self._mail = [(m, h) for m, h in self._mail if not h.done()]
        handle = workflow.start_activity(
            SEND_TICKET_MAIL,
            mail,
            start_to_close_timeout=_MAIL_START_TO_CLOSE,
            schedule_to_close_timeout=_MAIL_GIVE_UP,
            retry_policy=_MAIL_RETRY,
        )
        self._mail.append((mail, handle))

    async def _mail_finished(self) -> None:
        for _, pending in self._mail:
            try:
                await pending
            except ActivityError as exc:
                # Undeliverable mail must never fail the ticket; the outbox row says why.
                workflow.logger.warning("ticket mail was not sent: %s", exc)
        self._mail = []

    async def _config(self) -> DeskConfig:
        return await self._local(
            LOAD_DESK_CONFIG, None, DeskConfig, "the desk settings could not be read; try again"
        )

    async def _local(self, name: str, arg: object, result_type: type[R], failure: str) -> R:
        """Run a projection activity locally: no round trip through the server."""
        try:
            result: R = await workflow.execute_local_activity(
                name,
                *([] if arg is None else [arg]),
                result_type=result_type,
                schedule_to_close_timeout=_PERSIST_TIMEOUT,
                retry_policy=_PERSIST_RETRY,
            )
            return result
        except _ACTIVITY_FAILED as exc:
            raise ApplicationError(failure, type=UNAVAILABLE, non_retryable=True) from exc


class _Action:
    """An update's message type, what applies it, and the rule its validator runs
    against the state (None for `open`, which has its own). A plain class: a dataclass
    would be built by `exec` on every import of this module."""

    __slots__ = ("apply", "check", "message")

    def __init__(
        self,
        message: type[Any],
        apply: Callable[[TicketRun, Any], Awaitable[TicketState]],
        check: Callable[[TicketState, Any, datetime], None] | None,
    ) -> None:
        self.message = message
        self.apply = apply
        self.check = check


_ACTIONS: dict[str, _Action] = {
    name: _Action(ACTIONS[name], apply, check)
    for name, apply, check in (
        ("open", TicketRun._open, None),
        ("reply", TicketRun.reply, check_reply),
        ("add_note", TicketRun.add_note, check_add_note),
        ("classify", TicketRun.classify, check_classify),
        ("assign", TicketRun.assign, check_assign),
        ("pend", TicketRun.pend, check_pend),
        ("resume", TicketRun.resume, check_resume),
        ("resolve", TicketRun.resolve, check_resolve),
        ("reopen", TicketRun.reopen, check_reopen),
        ("close", TicketRun.close, check_close),
        ("apply_sla_policy", TicketRun.apply_sla_policy, check_apply_sla_policy),
        ("attach", TicketRun.attach, check_attach),
        ("acknowledge", TicketRun.acknowledge, check_acknowledge),
        ("set_major", TicketRun.set_major, check_set_major),
        ("link_parent", TicketRun.link_parent, check_link_parent),
        ("consult", TicketRun.consult, check_consult),
        ("answer_consult", TicketRun.answer_consult, check_answer_consult),
        ("set_reminder", TicketRun.set_reminder, check_set_reminder),
        ("accept_offer", TicketRun.accept_offer, check_accept_offer),
        ("decline_offer", TicketRun.decline_offer, check_decline_offer),
    )
}


def _decode(name: str, args: Sequence[RawValue]) -> tuple[_Action, Any]:
    """The action an update names and its message; refused when either is unknown."""
    action = _ACTIONS.get(name)
    if action is None:
        raise ApplicationError(
            f"a ticket has no action {name!r}", type="invalid_field", non_retryable=True
        )
    if len(args) != 1:
        raise ApplicationError(
            f"{name} takes one message, got {len(args)}", type="invalid_field", non_retryable=True
        )
    try:
        msg = workflow.payload_converter().from_payload(args[0].payload, action.message)
    except Exception as exc:  # whatever the converter raises: a bad message, refused
        raise ApplicationError(
            f"{name}: not a valid {action.message.__name__}: {exc}",
            type="invalid_field",
            non_retryable=True,
        ) from None
    return action, msg
