"""Where the time of one creation goes, next to the bare engine's, at concurrency 10.

    python bench/bench_split.py [--seconds S]

Starts the same embedded stack as bench_tickets.py, creates tickets through the
API (and then starts bare workflows by update-with-start) from 10 loops for
`--seconds`, and for a sample of them reads the workflow's history: the server's
time of each event splits the client's latency into

- before: from the request to the workflow's start (for a ticket: the API's
  work before update-with-start, and the start itself);
- dispatch: from the first workflow task being scheduled to a worker taking it;
- worker: from the worker taking the task to its completion (a ticket: the
  opening's local activity, which writes the row, included);
- after: from the task's completion to the client's answer.

Clocks of client and server are the same machine's. Prints one line per side.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import bench_tickets as bt
from temporalio.api.enums.v1 import EventType

SAMPLE = 150
"""Histories read per side."""


def split(events: list[tuple[int, float]], sent: float, answered: float) -> dict[str, float]:
    first: dict[int, float] = {}
    for kind, at in events:
        first.setdefault(kind, at)
    started = first[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED]
    scheduled = first[EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED]
    taken = first[EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED]
    done = first[EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    return {
        "before": (started - sent) * 1000,
        "dispatch": (taken - scheduled) * 1000,
        "worker": (done - taken) * 1000,
        "after": (answered - done) * 1000,
        "total": (answered - sent) * 1000,
    }


async def drive(
    start: Callable[[str], Awaitable[str]], seconds: float
) -> tuple[list[tuple[str, float, float]], int]:
    """10 loops for `seconds`; every fifth operation of each loop is sampled."""
    samples: list[tuple[str, float, float]] = []
    count = 0
    deadline = time.monotonic() + seconds

    async def loop(w: int) -> None:
        nonlocal count
        i = 0
        while time.monotonic() < deadline:
            sent = time.time()
            workflow_id = await start(f"{w}-{i}")
            answered = time.time()
            count += 1
            i += 1
            if i % 5 == 0:
                samples.append((workflow_id, sent, answered))

    await asyncio.gather(*(loop(w) for w in range(10)))
    return samples, count


async def report(
    name: str, client: Any, samples: list[tuple[str, float, float]], count: int, seconds: float
) -> None:
    rows = []
    for workflow_id, sent, answered in samples[:SAMPLE]:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        events = [(e.event_type, e.event_time.ToDatetime().timestamp()) for e in history.events]
        rows.append(split(events, sent, answered))
    means = {k: round(statistics.mean(r[k] for r in rows), 1) for k in rows[0]}
    parts = ", ".join(f"{k} {v} ms" for k, v in means.items())
    print(f"{name}: {count / seconds:.1f}/s; mean of {len(rows)}: {parts}", flush=True)


async def measure(stack: bt.Stack, seconds: float) -> None:
    from bare_workflows import TASK_QUEUE, BenchBareWorkflow
    from temporalio.client import WithStartWorkflowOperation
    from temporalio.common import WorkflowIDConflictPolicy

    from api.temporal import connect

    temporal = await connect(stack.temporal_address, "default")
    tickets = bt.TicketClient(stack.api_port, stack.token)

    async def create(tag: str) -> str:
        response = await tickets.http.post(
            "/api/v1/tickets",
            json={"subject": f"Split {tag}", "description": "The printer is on fire."},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        response.raise_for_status()
        workflow_id: str = response.json()["workflow_id"]
        return workflow_id

    try:
        await drive(create, 3)  # warm-up
        samples, count = await drive(create, seconds)
        await report("ticket", temporal, samples, count, seconds)
    finally:
        await tickets.http.aclose()

    proc = stack.spawn("bare_worker", [sys.executable, str(bt.BENCH_DIR / "bare_worker.py")])
    run = uuid.uuid4().hex[:8]

    async def bare(tag: str) -> str:
        workflow_id = f"split-bare-{run}-{tag}"
        operation = WithStartWorkflowOperation(
            BenchBareWorkflow.run,
            tag,
            id=workflow_id,
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await temporal.execute_update_with_start_workflow(
            BenchBareWorkflow.hello, tag, start_workflow_operation=operation, id="open"
        )
        return workflow_id

    try:
        while "polling" not in proc.tail():
            if proc.popen.poll() is not None:
                raise SystemExit(f"bare worker exited:\n{proc.tail()}")
            await asyncio.sleep(0.1)
        await drive(lambda tag: bare(f"warm-{tag}"), 3)
        samples, count = await drive(bare, seconds)
        await report("bare engine", temporal, samples, count, seconds)
    finally:
        proc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tempodesk-split-"))
    stack = bt.Stack(home, bt.parse_args([]))
    try:
        stack.start_infra()
        stack.start_app()
        asyncio.run(measure(stack, args.seconds))
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
