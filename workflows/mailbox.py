"""`MailboxWorkflow`: polls one configured mailbox for as long as it is active.

Each round is one activity: fetch what is new, and where the server offers
IMAP IDLE, wait inside the activity (heartbeating) until the server reports
new mail or the poll interval ends. Servers without IDLE (and POP3) are
polled again after a durable timer, so there is no timer loop outside
Temporal and a restarted worker picks up where the last one stopped.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from workflows.ids import POLL_MAILBOX


class PollMailbox(BaseModel):
    """Start argument: which mailbox (its row id)."""

    mailbox_id: int


class PollResult(BaseModel):
    """One round: whether the mailbox is still to be polled, and how long to wait now."""

    active: bool
    fetched: int = 0
    waited: bool = False
    """The activity already waited (IMAP IDLE): poll again at once."""
    poll_seconds: int = 60


_ROUNDS_PER_RUN = 500
"""Continue-as-new after this many rounds so the history stays small."""
_HEARTBEAT = timedelta(seconds=60)
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


@workflow.defn
class MailboxWorkflow:
    @workflow.run
    async def run(self, inp: PollMailbox) -> None:
        for _ in range(_ROUNDS_PER_RUN):
            result: PollResult = await workflow.execute_activity(
                POLL_MAILBOX,
                inp,
                result_type=PollResult,
                # IDLE waits up to the poll interval; fetching a large backlog takes a while.
                start_to_close_timeout=timedelta(hours=1),
                heartbeat_timeout=_HEARTBEAT,
                retry_policy=_RETRY,
            )
            if not result.active:
                return
            if not result.waited:
                await workflow.sleep(timedelta(seconds=result.poll_seconds))
            if workflow.info().is_continue_as_new_suggested():
                break
        workflow.continue_as_new(inp)
