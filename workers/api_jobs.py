"""RQ jobs the HTTP API enqueues outside a cycle (a catalog sync, a research scan), and how it finds them again.

They do what `improve sync` and `improve research` do, inside a worker. At most one of each task waits or runs at a
time: asking again while one does returns that job. Jobs carry plain values only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Literal

from rq import Queue, get_current_job
from rq.job import Job
from rq.registry import StartedJobRegistry

from workers.runtime import Runtime, for_job
from workers.trigger import ACTIVE, FAILURE_TTL, RESULT_TTL, cycle_id_for

Task = Literal["catalog-sync-quick", "catalog-sync-full", "research-scan"]
QUEUE_OF: dict[Task, str] = {"catalog-sync-quick": "catalog", "catalog-sync-full": "catalog",
                             "research-scan": "research"}
TASK_TIMEOUT = 3600  # seconds; a scan that pauses between arXiv pages takes minutes


def _job_runtime(what: str) -> Runtime:
    job = get_current_job()
    if job is None:
        raise RuntimeError(f"{what} must run inside an RQ job")
    return for_job(job.connection)


def catalog_sync_job(full: bool) -> dict[str, Any]:
    """The catalog sync of `improve sync` (full) or `improve sync --quick`, counted towards the period's cycle."""
    from workers.catalog_sync import full_sync, quick_sync

    runtime = _job_runtime("catalog_sync_job")
    try:
        cycle_id = cycle_id_for(runtime, "weekly" if full else "quick", dry_run=False)
        outcome = (full_sync if full else quick_sync)(runtime, cycle_id, "sync")
        return {"cycle_id": cycle_id, **outcome.to_json()}
    finally:
        runtime.connections.board.close()


def research_scan_job() -> dict[str, Any]:
    """The scan of `improve research`: findings count towards this week's cycle, the summary is written."""
    from workers.research_scan import scan_and_summarise

    runtime = _job_runtime("research_scan_job")
    try:
        cycle_id = cycle_id_for(runtime, "weekly", dry_run=False)
        outcome, path = scan_and_summarise(runtime, cycle_id, "research", f"{runtime.clock.now():%Y-%m-%d}")
        return {"cycle_id": cycle_id, **outcome.to_json(), "summary_path": str(path)}
    finally:
        runtime.connections.board.close()


def active_job(runtime: Runtime, task: Task) -> Job | None:
    """The job of this task that waits or runs now, if any."""
    queue = Queue(QUEUE_OF[task], connection=runtime.connections.rq)
    ids = queue.get_job_ids() + StartedJobRegistry(queue=queue).get_job_ids()
    for job in Job.fetch_many(ids, connection=runtime.connections.rq):
        if job is not None and job.meta.get("api_task") == task and job.get_status(refresh=False) in ACTIVE:
            return job
    return None


def enqueue_task(runtime: Runtime, task: Task) -> tuple[Job, bool]:
    """Enqueue the task unless one waits or runs already; returns the job and whether it is new."""
    existing = active_job(runtime, task)
    if existing is not None:
        return existing, False
    queue = Queue(QUEUE_OF[task], connection=runtime.connections.rq)
    stamp = f"{runtime.clock.now():%Y%m%dT%H%M%S}"
    function: Callable[..., dict[str, Any]] = research_scan_job if task == "research-scan" else catalog_sync_job
    args: tuple[bool, ...] = () if task == "research-scan" else (task == "catalog-sync-full",)
    job = queue.enqueue_call(function, args=args, job_id=f"improve-api-{task}-{stamp}-{uuid.uuid4().hex[:8]}",
                             timeout=max(TASK_TIMEOUT, runtime.settings.step_timeout), result_ttl=RESULT_TTL,
                             failure_ttl=FAILURE_TTL, meta={"api_task": task},
                             description=f"improve API: {task.replace('-', ' ')}")
    return job, True


def describe_job(job: Job) -> dict[str, Any]:
    """What the API shows of one of its jobs: status, times and, once it finished, its result."""
    status = job.get_status(refresh=True)
    found: dict[str, Any] = {
        "job_id": job.id, "task": job.meta.get("api_task"), "queue": job.origin,
        "status": status.value if status is not None else "unknown",
        "enqueued_at": job.enqueued_at.isoformat() if job.enqueued_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "ended_at": job.ended_at.isoformat() if job.ended_at else None, "result": None, "error": None}
    if status is not None and status.value == "finished":
        found["result"] = job.return_value(refresh=True)
    elif status is not None and status.value == "failed":
        latest = job.latest_result()
        text = (latest.exc_string if latest is not None else None) or ""
        found["error"] = text.strip().splitlines()[-1][:500] if text.strip() else "failed"
    return found
