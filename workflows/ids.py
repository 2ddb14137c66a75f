"""Workflow ids, task-queue names and related keys, defined once.

Nothing else in the code base spells these strings.
"""

from __future__ import annotations

import hashlib
import uuid

TASK_QUEUE = "tempodesk"
"""The task queue every Tempodesk worker polls."""

TICKET_PREFIX = "ticket-"

BULK_PREFIX = "bulk-"

MAILBOX_PREFIX = "mailbox-"

OPEN_UPDATE_ID = "open"
"""Update id of the creating update: a retried create resends it and gets the first result."""


def ticket_workflow_id(caller: str, idempotency_key: str | None) -> str:
    """The workflow id of a new ticket.

    With an idempotency key the id is derived from (caller, key), so the same
    caller retrying with the same key reaches the same workflow; keys of
    different callers never collide. Without a key every call gets a fresh id.
    """
    if idempotency_key is None:
        return TICKET_PREFIX + uuid.uuid4().hex
    digest = hashlib.sha256(f"{caller}\x00{idempotency_key}".encode()).hexdigest()
    return TICKET_PREFIX + digest[:32]


# Activity names, so workflows can call activities without importing their I/O code.
PERSIST_TICKET = "persist_ticket"
OPEN_TICKET = "open_ticket"
LOAD_DESK_CONFIG = "load_desk_config"
LOAD_TICKET_CONTEXT = "load_ticket_context"
LOAD_SLA_CALENDAR = "load_sla_calendar"
LOAD_POLICY_SNAPSHOT = "load_policy_snapshot"
APPLY_BULK_BATCH = "apply_bulk_batch"
RECORD_BULK_PROGRESS = "record_bulk_progress"
SEND_TICKET_MAIL = "send_ticket_mail"
POLL_MAILBOX = "poll_mailbox"


def bulk_update_id(job_id: str, ticket_workflow_id: str) -> str:
    """The update a bulk job sends a ticket: the same id on every retry, so it applies once."""
    return f"{job_id}:{ticket_workflow_id}"


ALERT_PREFIX = "alert-"
APPLY_ALERT_EVENTS = "apply_alert_events"
INCIDENT_STATUS = "incident_status"


def alert_workflow_id(integration_id: int, key: str) -> str:
    """One workflow per (integration, alert key): every repeat of an alert reaches it."""
    digest = hashlib.sha256(f"{integration_id}\x00{key}".encode()).hexdigest()
    return ALERT_PREFIX + digest[:32]


ALERT_SIGNAL = "alert_event"


def alert_update_id(event_id: int) -> str:
    """Update id of the change one alert event makes to its incident: sent once."""
    return f"alert-event-{event_id}"


ROUTE_TICKET = "route_ticket"


def mailbox_workflow_id(mailbox_id: int) -> str:
    """The one polling workflow of a mailbox: starting it again finds the running one."""
    return f"{MAILBOX_PREFIX}{mailbox_id}"
