"""`TicketWorkflow`: one workflow per ticket, the only writer of its state.

Every change arrives as an Update named after its action (`workflows.ticket.actions`),
all of them reaching one dynamic handler that dispatches through the registry. The
validator runs the action's pure rules and refuses an illegal change before anything
is written. The handler applies the change and persists the projection (ticket row plus
an append-only event row) through a local activity before it returns, so a read right
after a write sees it. Timers (offers expiring, reminders, follow-ups, auto-close, SLA
checkpoints) are durable waits on the next deadline, re-armed whenever a change moves it.

Deployed workers run it outside the SDK's sandbox (`sandboxed=False`): the sandbox
imported the workflow's module anew for every new ticket and wrapped every activation,
which cost more of the worker's CPU per created ticket than anything the ticket itself
did (docs/benchmarks.md). Its code keeps the sandbox's rules by discipline (time,
randomness and I/O only through `workflow.*`), and the workflow tests and the replay of
every stored history run it in the SDK's sandbox as it comes, where a breach shows
(`tempodesk.worker.STRICT_RUNNERS`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

# The pure domain modules hold no state and do no I/O (their functions take `now` as an
# argument), so they are imported once and shared by every run, even under the strict
# sandbox of the tests. Names come from the modules themselves: `from workflows import
# ids` would execute ids.py anew in each sandboxed run, because the `workflows` package
# seen there is the run's own.
with workflow.unsafe.imports_passed_through():
    from workflows.choices import MailKind, Status
    from workflows.ids import (
        LOAD_DESK_CONFIG,
        LOAD_SLA_CALENDAR,
        LOAD_TICKET_CONTEXT,
        OPEN_TICKET,
        PERSIST_TICKET,
        ROUTE_TICKET,
        SEND_TICKET_MAIL,
    )
    from workflows.sla import (
        Checkpoint,
        EscalationAction,
        EscalationKind,
        due_checkpoints,
        escalation_actions,
        next_checkpoint,
        refresh_calendar,
    )
    from workflows.ticket.actions import ACTIONS, OPEN, Action, check_open, validate
    from workflows.ticket.assignment import (
        apply_assign,
        apply_offer_expired,
        apply_reminder_due,
        apply_route,
        needs_routing,
    )
    from workflows.ticket.errors import (
        CONFIG_UNREADABLE,
        NOT_OPEN,
        NOT_SAVED,
        RuleViolation,
        ViolationKind,
    )
    from workflows.ticket.followup import (
        apply_customer_reminder,
        apply_idle,
        customer_reminder_due,
        idle_due,
    )
    from workflows.ticket.lifecycle import apply_close
    from workflows.ticket.messages import (
        SYSTEM,
        Assign,
        CalendarLookup,
        DeskConfig,
        OpenTicket,
        ProjectedOpening,
        ProjectionResult,
        ProjectOpening,
        ProjectTicket,
        RouteDecision,
        RouteRequest,
        TicketContext,
        TicketInput,
        TicketMail,
        TicketState,
    )
    from workflows.ticket.rules import Change, permit
    from workflows.ticket.sla import (
        apply_raise_priority,
        apply_sla_checkpoint,
        check_raise_priority,
        checkpoint_notifications,
    )

R = TypeVar("R")

_MAIL_START_TO_CLOSE = timedelta(minutes=2)
_MAIL_GIVE_UP = timedelta(days=2)
"""How long an SMTP server may stay away before the mail is not sent after all."""
_MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)
)

_RETRY_TIMER_WORK = timedelta(seconds=30)
"""When timer-driven work (auto-close, an SLA checkpoint) cannot be saved, try again
after this long; the ticket must never fail because the database was away."""
_CALENDAR_REFRESH_MARGIN = timedelta(days=90)
"""Refresh the SLA calendar's resolved span this long before it runs out."""

# Projection writes are idempotent, so retrying them is safe; after this long the update
# fails instead of hanging the caller, and nothing is changed. A local activity's failure
# arrives as the activity's own error (not wrapped in ActivityError), so all three kinds
# are caught.
_ACTIVITY_FAILED = (ActivityError, ApplicationError, TemporalTimeoutError)
_PERSIST_TIMEOUT = timedelta(seconds=30)
_PERSIST_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100), maximum_interval=timedelta(seconds=2)
)

_DONE_UPDATES_KEPT = 100
"""How many applied update ids a run hands to the next: a retry that can cross a
continue-as-new is one in flight at that moment, so the last few suffice."""


def _rejected(exc: RuleViolation) -> ApplicationError:
    # details[0] stays the field, as older workers send it; the message id and its
    # parameters follow, so a page can write the refusal in its reader's language.
    return ApplicationError(exc.message, *exc.details(), type=exc.kind.value, non_retryable=True)


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, type=ViolationKind.INVALID_FIELD.value, non_retryable=True)


@workflow.defn(sandboxed=False)
class TicketWorkflow:
    """The ticket's workflow. Every change is an update named in
    `workflows.ticket.actions.ACTIONS` (or `open`), handled by one dynamic handler."""

    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        self._state: TicketState | None = inp.state
        # Handlers await the projection write; the lock keeps one change at a time so
        # events get gap-free sequence numbers in the order applied.
        self._lock = asyncio.Lock()
        self._wake = False
        self._retry_at: datetime | None = None
        self._refreshed_on: date | None = None
        # Mail in flight: the ticket may carry on meanwhile, but must not continue-as-new
        # or end before each send has finished.
        self._mail: list[tuple[TicketMail, workflow.ActivityHandle[Any]]] = []
        self._carried_mail = list(inp.mail)
        self._done_updates: dict[str, None] = dict.fromkeys(inp.done_updates)

    @workflow.run
    async def run(self, inp: TicketInput) -> TicketState:
        if self._state is None:
            if inp.open is None:
                raise ApplicationError("a new ticket needs its OpenTicket", non_retryable=True)
            # Update-with-start is not atomic: the start may arrive without the `open`
            # update, so the workflow opens the ticket itself too.
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
            if self._wants_routing(state):
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

    @workflow.query
    def current(self) -> TicketState:
        """The live state of the ticket."""
        return self._require_state()

    # ------------------------------------------------------------ updates

    @workflow.update(dynamic=True)
    async def act(self, name: str, args: Sequence[RawValue]) -> TicketState:
        """Apply a change. Each update id is applied once, across continue-as-new too:
        Temporal answers a repeated id itself only within one run, and a client retry
        (the API's, or the SDK's after a lost answer) can reach the next run after the
        first attempt was applied; it then gets the ticket as it is."""
        action, msg = self._decode(name, args)
        if action is None:  # open: a repeat is answered by `_open` itself
            return await self._open(msg)
        update_id = self._update_id()
        if update_id in self._done_updates:
            return self._require_state()
        state = await self._apply(action, msg)
        self._done_updates[update_id] = None
        return state

    @act.validator
    def _validate_act(self, name: str, args: Sequence[RawValue]) -> None:
        """Refuse an illegal change before anything is written."""
        action, msg = self._decode(name, args)
        if action is None:
            if self._state is None:
                self._check(lambda: check_open(msg))
            return  # a retry of the creating request: answered with the current state
        if self._update_id() in self._done_updates:
            return  # a retry of an update an earlier run applied: answered, not applied
        self._validate(action, msg)

    def _validate(self, action: Action[Any], msg: Any) -> None:
        state = self._require_state()
        self._check(lambda: validate(action, state, msg, workflow.now()))

    async def _apply(self, action: Action[Any], msg: Any) -> TicketState:
        context = await self._context_for(action, msg)
        async with self._lock:
            # Validated against the state at arrival; another update may have changed it
            # while this one waited for the lock, so check again.
            self._validate(action, msg)
            change = action.apply(self._require_state(), msg, context, workflow.now())
            await self._save(change)
            self._wake = True
            return change.state

    async def _context_for(self, action: Action[Any], msg: Any) -> TicketContext | None:
        """What the action needs read before it applies (outside the lock: a read)."""
        if action.context is None:
            return None
        if action.context == "config":
            return TicketContext(config=await self._config())
        facts = action.context(self._require_state(), msg)
        return await self._local(
            LOAD_TICKET_CONTEXT, facts, TicketContext, "the desk settings could not be read"
        )

    async def _open(self, msg: OpenTicket) -> TicketState:
        """Create the ticket. Repeating it returns the ticket as it is now."""
        async with self._lock:
            if self._state is not None:
                return self._state
            opened = await self._local(
                OPEN_TICKET,
                ProjectOpening(ticket_id=workflow.info().workflow_id, open=msg, at=workflow.now()),
                ProjectedOpening,
                NOT_SAVED,
            )
            self._state = opened.state
            self._wake = True
            return self._state

    async def _save(self, change: Change) -> None:
        """Persist one change (row, event, notifications), then tell and mail whoever it
        says. The caller holds the lock."""
        saved = await self._local(
            PERSIST_TICKET,
            ProjectTicket(state=change.state, event=change.event, notify=change.notify),
            ProjectionResult,
            NOT_SAVED,
        )
        self._state = change.state
        if change.notify and saved.deliver:
            # Whoever the event notified in the app also gets it by mail (and their other
            # channels), as their preferences say. Not started when the projection found
            # nobody to mail or push to: no round trip through the server for a desk
            # without SMTP (docs/benchmarks.md).
            self._send_mail(
                TicketMail(
                    ticket_id=change.state.id, seq=change.event.seq, kind=MailKind.NOTIFICATION
                )
            )
        if change.mail and saved.mail:
            self._send_mail(
                TicketMail(ticket_id=change.state.id, seq=change.event.seq, kind=MailKind.REPLY)
            )

    def _decode(self, name: str, args: Sequence[RawValue]) -> tuple[Action[Any] | None, Any]:
        """The action an update names (None: `open`) and its message; refused when either
        is unknown."""
        action = ACTIONS.get(name)
        if action is None and name != OPEN:
            raise _invalid(f"a ticket has no action {name!r}")
        if len(args) != 1:
            raise _invalid(f"{name} takes one message, got {len(args)}")
        message = action.message if action is not None else OpenTicket
        try:
            msg = workflow.payload_converter().from_payload(args[0].payload, message)
        except Exception as exc:  # whatever the converter raises: a bad message, refused
            raise _invalid(f"{name}: not a valid {message.__name__}: {exc}") from None
        return action, msg

    # ------------------------------------------------------------ timers

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
        idle = idle_due(state)
        if idle is not None:
            candidates.append((idle, "idle"))
        waiting = customer_reminder_due(state)
        if waiting is not None:
            candidates.append((waiting, "remind the customer"))
        if not candidates:
            return None, None
        return min(candidates, key=lambda c: c[0])

    def _calendar_refresh_due(self, state: TicketState) -> datetime | None:
        if state.sla is None or state.sla.policy.calendar_id is None:
            return None
        if state.sla.problem is not None and self._refreshed_on != workflow.now().date():
            return workflow.now()
        last = state.sla.policy.calendar.last_day
        due = datetime.combine(last, datetime.min.time(), workflow.now().tzinfo)
        return due - _CALENDAR_REFRESH_MARGIN

    async def _timer_work(self) -> None:
        """Everything due now: offers, reminders, follow-ups, auto-close, the calendar
        refresh, SLA checkpoints."""
        self._retry_at = None
        try:
            await self._expire_offer()
            await self._remind()
            await self._follow_up()
            await self._auto_close()
            await self._refresh_calendar()
            await self._fire_sla()
        except ApplicationError as exc:
            if exc.type != ViolationKind.UNAVAILABLE:
                raise
            workflow.logger.warning("timer work could not be saved; retrying: %s", exc)
            self._retry_at = workflow.now() + _RETRY_TIMER_WORK

    async def _expire_offer(self) -> None:
        async with self._lock:
            state = self._require_state()
            offer = state.routing.offer
            if offer is None or workflow.now() < offer.expires_at:
                return
            await self._save(Change(*apply_offer_expired(state, workflow.now())))

    async def _remind(self) -> None:
        async with self._lock:
            state = self._require_state()
            if state.remind_at is None or workflow.now() < state.remind_at:
                return
            await self._save(apply_reminder_due(state, workflow.now()))

    async def _follow_up(self) -> None:
        """An idle ticket's next reminder; the waited-for customer's reminder (or the close
        when they are used up)."""
        async with self._lock:
            idle = idle_due(self._require_state())
            if idle is not None and workflow.now() >= idle:
                await self._save(apply_idle(self._require_state(), workflow.now()))
            waiting = customer_reminder_due(self._require_state())
            if waiting is not None and workflow.now() >= waiting:
                await self._save(apply_customer_reminder(self._require_state(), workflow.now()))

    async def _auto_close(self) -> None:
        async with self._lock:
            state = self._require_state()
            if state.status != Status.RESOLVED or state.reopen_until is None:
                return
            if workflow.now() < state.reopen_until:
                return
            await self._save(Change(*apply_close(state, SYSTEM, workflow.now(), automatic=True)))

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
                change = apply_route(state, decision, workflow.now())
                if change is None:
                    # A manual group, or nobody can take it and the lead knows: the ticket
                    # waits in the group's queue until its group changes.
                    state.routing.manual_group = state.group_id
                    return
                await self._save(change)
            except ApplicationError as exc:
                if exc.type != ViolationKind.UNAVAILABLE:
                    raise
                workflow.logger.warning("routing could not be saved; retrying: %s", exc)
                self._retry_at = workflow.now() + _RETRY_TIMER_WORK

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
                new, fired = apply_sla_checkpoint(state, checkpoint, workflow.now())
                await self._save(Change(new, fired, notify))
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
                permit(state, ACTIONS["classify"].permission, SYSTEM, now)
                check_raise_priority(state)
                change = Change(*apply_raise_priority(state, reason, now))
            elif action.kind == EscalationKind.REASSIGN:
                msg = Assign(actor=SYSTEM, group_id=action.group_id, assignee_id=None, note=reason)
                validate(ACTIONS["assign"], state, msg, now)
                change = Change(*apply_assign(state, msg, now))
            else:
                return
        except RuleViolation as exc:
            workflow.logger.info("escalation %s left out: %s", action.kind.value, exc.message)
            return
        await self._save(change)

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

    def _send_mail(self, mail: TicketMail) -> None:
        """Start the send without waiting for it: the change is saved and answered now, the
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

    # ------------------------------------------------------------ internals

    def _require_state(self) -> TicketState:
        if self._state is None:
            raise ApplicationError(
                NOT_OPEN, None, NOT_OPEN, {}, type=ViolationKind.ILLEGAL_STATE.value
            )
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

    async def _config(self) -> DeskConfig:
        return await self._local(LOAD_DESK_CONFIG, None, DeskConfig, CONFIG_UNREADABLE)

    async def _local(self, name: str, arg: object, result_type: type[R], failure: str) -> R:
        """Run a projection activity locally: no round trip through the server. `failure` is
        the refusal's message id (no parameters)."""
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
            raise ApplicationError(
                failure, None, failure, {}, type=ViolationKind.UNAVAILABLE.value, non_retryable=True
            ) from exc
