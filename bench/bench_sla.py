"""How late SLA breach escalations fire with many open tickets, and what the stack holds in memory.

    python bench/bench_sla.py [--tickets 10000] [--target 420] [--warnings 50,75,90]

One run starts the embedded stack of bench/bench_tickets.py (pgserver
PostgreSQL, the Temporal dev server on SQLite with the pragmas `tempodesk up`
uses, the real `tempodesk worker` and `tempodesk api` processes) in a temporary
data folder, then through the JSON API:

1. creates a 24x7 calendar and a default SLA policy whose resolution target is
   `--target` seconds for every priority, with one escalation level at the
   breach that notifies a named user (so each breach also writes a
   notification row), and warnings as `--warnings` says (none by default);
2. opens `--tickets` tickets at concurrency 10: each is a running workflow
   with a running resolution clock waiting on a durable timer;
3. waits until every ticket has breached, sampling the memory of the worker,
   the Temporal server and PostgreSQL every few seconds;
4. reads the lateness of each breach from the database:
   - decided: the breach event's time (the workflow's clock when the timer
     fired and the workflow task ran) minus the due instant;
   - written: the escalation notification's `created_at` (PostgreSQL's clock
     when the projection transaction that records it began) minus the due
     instant: what a person waiting for the notification sees.

The target must be longer than opening all tickets takes, so that the breaches
come after the load of opening: they then arrive at the rate tickets were
opened, which is the burst this measures. The run says so when it is not.

It prints a Markdown table and appends the raw figures to
bench/results/sla-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import bench_tickets as bt  # noqa: E402

TARGET_P99_SECONDS = 2.0
ALWAYS = [[{"start": 0, "end": 1440}]] * 7


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- memory


def tree_memory(pid: int) -> dict[str, float]:
    """RSS and PSS (MiB) of a process and its children; PSS shares shared memory fairly."""
    rss = pss = 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {"rss_mib": 0.0, "pss_mib": 0.0}
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            info = proc.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
    return {"rss_mib": round(rss / 2**20, 1), "pss_mib": round(pss / 2**20, 1)}


class MemoryWatch:
    """Peak and last memory per process tree, sampled in the background."""

    def __init__(self, stack: bt.Stack, names: list[str], every: float = 5.0) -> None:
        self.stack, self.names, self.every = stack, names, every
        self.peak: dict[str, dict[str, float]] = {}
        self.last: dict[str, dict[str, float]] = {}
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        for name, pid in self.stack.roots(self.names).items():
            now = tree_memory(pid)
            self.last[name] = now
            peak = self.peak.setdefault(name, dict(now))
            for key, value in now.items():
                peak[key] = max(peak[key], value)

    async def _run(self) -> None:
        while True:
            await asyncio.to_thread(self.sample)
            await asyncio.sleep(self.every)

    def __enter__(self) -> MemoryWatch:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


# ---------------------------------------------------------------- the run


class Desk:
    def __init__(self, stack: bt.Stack) -> None:
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{stack.api_port}/api/v1",
            headers={"Authorization": f"Bearer {stack.token}"},
            timeout=120,
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
        )

    async def ok(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code != status:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    async def configure(self, user_id: int, target: float, warnings: list[int]) -> None:
        calendar = await self.ok(
            "POST", "/calendars", 201, json={"name": "24x7", "timezone": "UTC", "week": ALWAYS}
        )
        await self.ok(
            "POST",
            "/sla-policies",
            201,
            json={
                "name": "Bench",
                "calendar_id": calendar["id"],
                "is_default": True,
                "targets": {str(p): {"resolution": target} for p in range(1, 6)},
                "warnings": warnings,
                "escalations": [
                    {"after": 0, "actions": [{"kind": "notify_user", "user_id": user_id}]}
                ],
            },
        )

    async def open(self, i: int) -> None:
        await self.ok(
            "POST",
            "/tickets",
            201,
            json={"subject": f"SLA bench {i}", "description": "The printer is on fire."},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )


def make_admin(stack: bt.Stack) -> None:
    """Process owners are admins; the bench caller configures the SLA."""
    with psycopg.connect(dsn(stack), autocommit=True) as conn:
        conn.execute("UPDATE users SET role = 'admin' WHERE id = %s", (stack.user_id,))


def dsn(stack: bt.Stack) -> str:
    return stack.database_url.replace("postgresql+psycopg://", "postgresql://")


def breach_counts(stack: bt.Stack) -> tuple[int, int]:
    with psycopg.connect(dsn(stack), autocommit=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM ticket_events WHERE kind = 'sla_breached'),"
            " (SELECT count(*) FROM notifications WHERE kind = 'sla_escalated')"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def lateness(stack: bt.Stack) -> dict[str, Any]:
    with psycopg.connect(dsn(stack), autocommit=True) as conn:
        decided = [
            float(r[0])
            for r in conn.execute(
                "SELECT extract(epoch FROM at - (data->>'at')::timestamptz)"
                " FROM ticket_events WHERE kind = 'sla_breached'"
            )
        ]
        written = [
            float(r[0])
            for r in conn.execute(
                "SELECT extract(epoch FROM n.created_at - (e.data->>'at')::timestamptz)"
                " FROM notifications n JOIN ticket_events e"
                " ON e.ticket_id = n.ticket_id AND e.seq = n.seq"
                " WHERE n.kind = 'sla_escalated'"
            )
        ]
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT ticket_id FROM ticket_events"
            " WHERE kind = 'sla_breached' GROUP BY ticket_id HAVING count(*) > 1) t"
        ).fetchone()
        open_rows = conn.execute(
            "SELECT count(*) FROM tickets WHERE status NOT IN ('resolved', 'closed')"
        ).fetchone()
    assert twice is not None and open_rows is not None
    return {
        "decided": summary(decided),
        "written": summary(written),
        "tickets_breached_twice": int(twice[0]),
        "open_tickets": int(open_rows[0]),
    }


def summary(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_s": round(bt.percentile(ordered, 0.50), 3),
        "p90_s": round(bt.percentile(ordered, 0.90), 3),
        "p99_s": round(bt.percentile(ordered, 0.99), 3),
        "max_s": round(ordered[-1], 3) if ordered else None,
        "mean_s": round(statistics.fmean(ordered), 3) if ordered else None,
    }


async def run(stack: bt.Stack, args: argparse.Namespace) -> dict[str, Any]:
    make_admin(stack)
    desk = Desk(stack)
    results: dict[str, Any] = {}
    try:
        await desk.configure(stack.user_id, args.target, args.warnings)
        with MemoryWatch(stack, ["worker", "temporal", "postgres", "api"]) as memory:
            log(f"opening {args.tickets} tickets at concurrency 10")
            opened = await bt.load(
                desk.open, concurrency=10, seconds=args.target * 10, max_ops=args.tickets
            )
            if opened["errors"]:
                raise SystemExit(f"opening failed: {opened['first_error']}")
            results["open"] = opened
            results["opening_longer_than_target"] = opened["seconds"] > args.target
            if results["opening_longer_than_target"]:
                log("opening took longer than the target: breaches overlap the opening load")
            await asyncio.to_thread(memory.sample)
            results["memory_all_open"] = dict(memory.last)
            log(f"opened in {opened['seconds']:.0f} s; waiting for every breach")
            deadline = time.monotonic() + args.target + args.grace
            breached = written = 0
            while time.monotonic() < deadline:
                breached, written = await asyncio.to_thread(breach_counts, stack)
                if breached >= args.tickets and written >= args.tickets:
                    break
                await asyncio.sleep(2)
            results["breached"] = breached
            results["escalations_written"] = written
            results["memory_peak"] = memory.peak
    finally:
        await desk.http.aclose()
    results["lateness"] = await asyncio.to_thread(lateness, stack)
    return results


def markdown(report: dict[str, Any]) -> str:
    r = report["results"]
    late = r["lateness"]
    lines = [
        f"SLA breach lateness, {report['tickets']} open tickets, target {report['target_s']} s, "
        f"warnings {report['warnings'] or 'none'}",
        "",
        "| measure | n | p50 | p90 | p99 | max |",
        "|---|---|---|---|---|---|",
    ]
    for key in ("decided", "written"):
        s = late[key]
        lines.append(
            f"| {key} | {s['n']} | {s['p50_s']} s | {s['p90_s']} s | {s['p99_s']} s "
            f"| {s['max_s']} s |"
        )
    lines += [
        "",
        f"opened at {r['open']['rate']:.1f} tickets/s ({r['open']['seconds']:.0f} s); "
        f"breaches seen {r['breached']}, escalations written {r['escalations_written']}, "
        f"tickets breached twice {late['tickets_breached_twice']}",
        "",
        "| process tree | RSS all open | PSS all open | peak RSS | peak PSS |",
        "|---|---|---|---|---|",
    ]
    for name, peak in r["memory_peak"].items():
        now = r["memory_all_open"].get(name, {})
        lines.append(
            f"| {name} | {now.get('rss_mib')} MiB | {now.get('pss_mib')} MiB "
            f"| {peak['rss_mib']} MiB | {peak['pss_mib']} MiB |"
        )
    verdict = late["written"]["p99_s"] < TARGET_P99_SECONDS
    lines += ["", f"target p99 written < {TARGET_P99_SECONDS} s: {'met' if verdict else 'MISSED'}"]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tickets", type=int, default=10_000, help="open tickets (default 10000)")
    p.add_argument(
        "--target", type=float, default=420.0, help="resolution target in seconds (24x7)"
    )
    p.add_argument(
        "--warnings", default="", help="warning percents, comma separated (default none)"
    )
    p.add_argument("--grace", type=float, default=300.0, help="seconds to wait after the target")
    p.add_argument("--label", default="", help="name of this run in the JSON file")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default bench/results/)")
    p.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = p.parse_args(argv)
    args.warnings = [int(w) for w in args.warnings.split(",") if w.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The stack exactly as bench_tickets.py (and so `tempodesk up`) runs it.
    stack_args = bt.parse_args([])
    home = Path(tempfile.mkdtemp(prefix="tempodesk-bench-sla-"))
    stack = bt.Stack(home, stack_args)
    started = datetime.now(UTC)
    busy_before = bt.machine_busy()
    clock_before = time.monotonic()
    try:
        log(f"data folder {home}")
        stack.start_infra()
        stack.start_app()
        log("stack up")
        results = asyncio.run(run(stack, args))
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    report = {
        "label": args.label,
        "started": started.isoformat(timespec="seconds"),
        "command": bt.command_line("bench/bench_sla.py", argv),
        "machine": bt.machine(),
        "tickets": args.tickets,
        "target_s": args.target,
        "warnings": args.warnings,
        # Cores busy on average over the whole run, from every process on the
        # machine: a run beside other heavy work is slower than the stack alone.
        "machine_busy_cores": round(
            (bt.machine_busy() - busy_before) / (time.monotonic() - clock_before), 2
        ),
        "results": results,
    }
    table = markdown(report)
    print(table)
    out = args.out or BENCH_DIR / "results" / f"sla-{started.strftime('%Y-%m-%d')}.json"
    bt.append_run(out, report)
    log(f"raw figures appended to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
