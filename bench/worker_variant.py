"""`tempodesk worker` with a changed `Worker` construction, for tuning experiments only.

    python bench/bench_tickets.py --worker-cmd "python bench/worker_variant.py"

BENCH_WORKER_PASSTHROUGH (comma-separated module names, default the pure
workflow modules) are imported once and passed through the workflow sandbox
instead of being re-imported (and re-compiled when no .pyc is cached) for every
new workflow run. BENCH_WORKER_PASSTHROUGH=none keeps the product's worker as
it is. BENCH_WORKER_RUNNER=passthrough-all passes every module through (the
workflow module is imported once); BENCH_WORKER_RUNNER=unsandboxed runs
workflows without the sandbox. Everything else is `tempodesk.worker.run_worker`
unchanged.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import tempodesk.worker as product
from api.settings import Settings

PURE_MODULES = (
    "workflows.choices",
    "workflows.ids",
    "workflows.priority",
    "workflows.ticket.messages",
    "workflows.ticket.rules",
    "workflows.ticket.actions",
)


def build_worker(client: Client, settings: Settings, activities: Sequence[Any]) -> Worker:
    raw = os.environ.get("BENCH_WORKER_PASSTHROUGH", ",".join(PURE_MODULES))
    modules = [m for m in raw.split(",") if m and m != "none"]
    runner = os.environ.get("BENCH_WORKER_RUNNER", "sandbox")
    extra: dict[str, Any] = {}
    if runner == "unsandboxed":
        extra["workflow_runner"] = UnsandboxedWorkflowRunner()
    elif runner == "passthrough-all":
        extra["workflow_runner"] = SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
        )
    elif modules:
        extra["workflow_runner"] = SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*modules)
        )
    print(f"worker variant: {runner}, passthrough {modules}", file=sys.stderr, flush=True)
    return Worker(
        client,
        task_queue=product.ids.TASK_QUEUE,
        workflows=list(product.WORKFLOWS),
        activities=list(activities),
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_task_polls=settings.worker_workflow_task_pollers,
        max_concurrent_activity_task_polls=settings.worker_activity_task_pollers,
        **extra,
    )


if __name__ == "__main__":
    product.build_worker = build_worker  # run_worker looks it up at call time
    from tempodesk.cli import main

    sys.argv = ["tempodesk", "worker"]
    main()
