"""RQ job functions, one per step: they carry a cycle id and a run number, never objects."""

from __future__ import annotations

import logging
from typing import Any

import redis
from rq import get_current_job
from rq.job import Job

from workers.runner import describe_error, execute_step, record_failure
from workers.runtime import Runtime, for_job

logger = logging.getLogger(__name__)


def _run(step: str, cycle_id: str, run: int) -> dict[str, Any]:
    job = get_current_job()
    if job is None:
        raise RuntimeError(f"{step} must run inside an RQ job")
    runtime: Runtime = for_job(job.connection)
    try:
        event = execute_step(runtime, cycle_id, run, step)
    finally:
        runtime.connections.board.close()
    return {"step": step, "status": event.status.value, "seconds": event.seconds}


def catalog_sync(cycle_id: str, run: int) -> dict[str, Any]:
    return _run("catalog_sync", cycle_id, run)


def research_scan(cycle_id: str, run: int) -> dict[str, Any]:
    return _run("research_scan", cycle_id, run)


def benchmark_pre(cycle_id: str, run: int) -> dict[str, Any]:
    return _run("benchmark_pre", cycle_id, run)


def plan(cycle_id: str, run: int) -> dict[str, Any]:
    return _run("plan", cycle_id, run)


def upgrade(cycle_id: str, run: int) -> dict[str, Any]:
    return _run("upgrade", cycle_id, run)


def verify(cycle_id: str, run: int) -> dict[str, Any]:
    return _run("verify", cycle_id, run)


def report(cycle_id: str, run: int) -> dict[str, Any]:
    return _run("report", cycle_id, run)


def bench_shard(run_id: str) -> dict[str, Any]:
    """Helps a benchmark step: claims and runs chunks of its run until none is left (finding none is fine)."""
    from workers.bench import work

    job = get_current_job()
    if job is None:
        raise RuntimeError("bench_shard must run inside an RQ job")
    runtime: Runtime = for_job(job.connection)
    try:
        return {"run_id": run_id, "chunks": work(runtime, run_id)}
    finally:
        runtime.connections.board.close()


JOB_FUNCTIONS = {
    "catalog_sync": catalog_sync, "research_scan": research_scan, "benchmark_pre": benchmark_pre, "plan": plan,
    "upgrade": upgrade, "verify": verify, "report": report,
}


def on_step_failure(job: Job, connection: redis.Redis, exc_type: type, value: BaseException, tb: Any) -> None:
    """RQ's failure callback: also fires for a job abandoned by a dead worker, which recorded nothing itself."""
    step, (cycle_id, run) = job.meta.get("step"), job.args
    runtime = for_job(connection)
    try:
        if exc_type.__name__ == "AbandonedJobError":
            reason = "the worker running it died (job abandoned)"
        else:
            reason = describe_error(runtime, value)
        record_failure(runtime, str(cycle_id), int(run), str(step), reason)
    except Exception as exc:
        logger.warning("could not record the failure of %s: %s", job.id, exc)
    finally:
        runtime.connections.board.close()
