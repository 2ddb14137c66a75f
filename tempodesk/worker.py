"""The Temporal worker: every workflow and activity of Tempodesk on one task queue."""

from __future__ import annotations

import asyncio
import gc
import logging
import py_compile
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.bulk import BulkActivities
from activities.incidents import IncidentActivities
from activities.mail import MailActivities, MailConfig
from activities.mailbox import MailboxActivities
from activities.projection import ProjectionActivities
from activities.routing import RoutingActivities
from api.mail.process import MailProcessor
from api.settings import Settings
from api.temporal import connect
from api.ticket_client import TemporalTicketClient
from models.db import make_engine, make_session_factory
from workflows import ids
from workflows.alerts import AlertWorkflow
from workflows.bulk import BulkWorkflow
from workflows.mailbox import MailboxWorkflow
from workflows.ticket.workflow import TicketWorkflow

WORKFLOWS: Sequence[type] = (TicketWorkflow, BulkWorkflow, AlertWorkflow, MailboxWorkflow)

STRICT_RUNNERS: dict[str, WorkflowRunner] = {
    "workflow_runner": SandboxedWorkflowRunner(),
    "unsandboxed_workflow_runner": SandboxedWorkflowRunner(),
}
"""`Worker`/`Replayer` arguments for tests: every workflow, `TicketWorkflow` too (which
deployed workers run unsandboxed), in the SDK's sandbox as it comes, each run's
modules imported anew and held to its restrictions."""

log = logging.getLogger("tempodesk.worker")


def cache_workflow_bytecode() -> None:
    """Write the bytecode of every workflow module once, before the first run.

    The sandbox re-imports a workflow's module for every new run. Without
    cached bytecode (PYTHONDONTWRITEBYTECODE=1, or an editable install that
    never wrote it) each import compiles the source again, which cost a fifth
    of the worker's CPU per new ticket (docs/benchmarks.md). Imports use an
    existing .pyc whatever that variable says; a read-only install only loses
    the speed.
    """
    for workflow_class in WORKFLOWS:
        source = sys.modules[workflow_class.__module__].__file__
        if source is None:
            continue
        try:
            py_compile.compile(source, doraise=True)
        except (OSError, py_compile.PyCompileError) as exc:
            log.warning("cannot cache the bytecode of %s (%s): new runs compile it", source, exc)


def build_worker(client: Client, settings: Settings, activities: Sequence[Any]) -> Worker:
    """A worker sized by the settings (see docs/architecture.md for the reasoning)."""
    return Worker(
        client,
        task_queue=ids.TASK_QUEUE,
        workflows=list(WORKFLOWS),
        activities=list(activities),
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_task_polls=settings.worker_workflow_task_pollers,
        max_concurrent_activity_task_polls=settings.worker_activity_task_pollers,
        workflow_runner=workflow_runner(settings),
    )


def workflow_runner(settings: Settings) -> WorkflowRunner:
    """The runner for every workflow but `TicketWorkflow` (never sandboxed, see
    `workflows.ticket`): the sandbox, or none with TEMPODESK_WORKER_SANDBOX=false."""
    return SandboxedWorkflowRunner() if settings.worker_sandbox else UnsandboxedWorkflowRunner()


def mail_config(settings: Settings) -> MailConfig:
    return MailConfig(
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_starttls=settings.smtp_starttls,
        smtp_username=settings.smtp_username,
        smtp_password=settings.smtp_password,
        address=settings.mail_address,
        from_name=settings.mail_from_name,
        domain=settings.mail_domain,
        language=settings.mail_language,
        templates_dir=settings.mail_templates_dir,
        secret_key=settings.secret_key,
    )


SLOW_COLLECTION = 0.1
"""A garbage collection pausing the worker longer than this (seconds) is logged."""


class CollectorPacing:
    """Full garbage collections walk only what is new since the last one.

    The worker caches every open ticket's workflow: at 10,000 open tickets a full
    collection walked some 2.7 GB of objects and stopped the worker for over 3 s,
    while SLA timers waited (docs/benchmarks.md). So whatever survives a full
    collection is frozen (`gc.freeze`): later full collections skip it. Frozen
    objects that later become cyclic garbage (the workflow of a ticket that
    closed) are not reclaimed while frozen, so once as many objects have been
    frozen since the last thaw as were frozen then, and `min_interval` seconds
    have passed, the next full collection first thaws them all and walks
    everything: a long pause (seconds at 10,000 cached workflows), but at most
    once per interval instead of every time the heap has grown by a quarter, and
    cyclic garbage waits at most about that long. The frozen set is counted only
    at a thaw (`gc.get_freeze_count` walks it); in between, the survivors of each
    full collection are added up. Slow collections are logged.

    `clock` is the time source, in seconds, of the interval and of the pause
    measurement; tests pass one they control.
    """

    def __init__(
        self, min_interval: float = 1800.0, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self._min_interval = min_interval
        self._clock = clock
        self._frozen_at_thaw = 0
        self._frozen_since = 0
        self._last_thaw = -min_interval
        self._started = 0.0
        self._thawing = False

    def install(self) -> None:
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        full = info["generation"] == 2
        if phase == "start":
            self._started = self._clock()
            due = self._started - self._last_thaw >= self._min_interval
            if full and due and self._frozen_since >= self._frozen_at_thaw:
                gc.unfreeze()  # this collection walks everything once
                self._thawing = True
                self._last_thaw = self._started
            return
        took = self._clock() - self._started
        if full:
            if self._thawing:
                gc.freeze()
                self._frozen_at_thaw = gc.get_freeze_count()
                self._frozen_since = 0
                self._thawing = False
            else:
                self._frozen_since += len(gc.get_objects(generation=2))
                gc.freeze()
        if took >= SLOW_COLLECTION:
            log.warning(
                "garbage collection of generation %d paused the worker %.0f ms",
                info["generation"],
                took * 1000,
            )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    engine = make_engine(
        settings.resolved_database_url(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    cache_workflow_bytecode()
    CollectorPacing().install()
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    projection = ProjectionActivities(engine, smtp=settings.smtp_host is not None)
    tickets = TemporalTicketClient(client)
    bulk = BulkActivities(tickets, engine)
    incidents = IncidentActivities(tickets, engine)
    mail = MailActivities(engine, mail_config(settings))
    sessions = make_session_factory(engine)
    # The poller only fetches; the mail channel's processor parses, threads and acts.
    mailboxes = MailboxActivities(
        sessions, settings.secret_key, MailProcessor(sessions, tickets, settings)
    )
    routing = RoutingActivities(engine)
    worker = build_worker(
        client,
        settings,
        [
            projection.persist_ticket,
            projection.open_ticket,
            projection.load_desk_config,
            projection.load_ticket_context,
            projection.load_sla_calendar,
            bulk.apply_bulk_batch,
            bulk.record_bulk_progress,
            bulk.load_policy_snapshot,
            incidents.apply_alert_events,
            incidents.incident_status,
            mail.send_ticket_mail,
            mailboxes.poll_mailbox,
            routing.route_ticket,
        ],
    )
    log.info("worker polling task queue %s at %s", ids.TASK_QUEUE, settings.temporal_address)
    try:
        if stop is None:
            await worker.run()
        else:
            async with worker:
                await stop.wait()
    finally:
        await engine.dispose()
