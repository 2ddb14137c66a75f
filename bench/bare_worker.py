"""Baseline (b) of bench_tickets.py: the bare engine, no API and no database.

A worker with Tempodesk's worker settings (the same TEMPODESK_WORKER_* values,
the same `Worker` arguments as `tempodesk.worker.build_worker`, the same event
loop as `tempodesk worker`) on its own task queue, running two trivial workflows:

- `BenchBareWorkflow`: started by update-with-start, like a ticket, and its
  `hello` update completes in the first workflow task; the run stays open.
- `BenchOneShotWorkflow`: returns in its first workflow task.

    python bench/bare_worker.py
"""

from __future__ import annotations

import asyncio
import signal

import uvloop
from bare_workflows import TASK_QUEUE, BenchBareWorkflow, BenchOneShotWorkflow
from temporalio.worker import Worker


async def main() -> None:
    from api.settings import get_settings
    from api.temporal import connect
    from tempodesk.worker import workflow_runner

    settings = get_settings()
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    worker = Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[BenchBareWorkflow, BenchOneShotWorkflow],
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_task_polls=settings.worker_workflow_task_pollers,
        max_concurrent_activity_task_polls=settings.worker_activity_task_pollers,
        workflow_runner=workflow_runner(settings),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print("bare worker polling", TASK_QUEUE, flush=True)
        await stop.wait()


if __name__ == "__main__":
    uvloop.run(main())  # the loop `tempodesk worker` runs on
