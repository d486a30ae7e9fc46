"""Recovers steps whose worker died: a started job whose step lease expired is handed back to RQ."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from blackboard.cycles import CycleRecord
from workers.runtime import Runtime
from workers.trigger import job_id

logger = logging.getLogger(__name__)


def reap(runtime: Runtime, record: CycleRecord) -> list[str]:
    """Hand abandoned jobs of the current run back to RQ, which retries them (or fails them and moves on).

    RQ alone notices a dead worker only after its heartbeat expires and a maintenance pass runs (minutes);
    the step lease (``IMPROVE_LEASE_SECONDS``) tells within seconds.
    """
    recovered = []
    grace = runtime.settings.lease_seconds
    ids = [job_id(record.cycle_id, record.run, step) for step in record.run_steps]
    for step, job in zip(record.run_steps, Job.fetch_many(ids, connection=runtime.connections.rq), strict=True):
        if job is not None and job.get_status(refresh=False) == JobStatus.FINISHED:
            _forget_executions(runtime, job)
        if job is None or job.get_status(refresh=False) != JobStatus.STARTED:
            continue
        if runtime.connections.board.exists(runtime.keys.step_lease(record.cycle_id, step)):
            continue
        started_at = job.started_at.replace(tzinfo=UTC) if job.started_at else None
        if started_at is None or (datetime.now(UTC) - started_at).total_seconds() < grace:
            continue
        registry = StartedJobRegistry(job.origin, connection=runtime.connections.rq)
        executions = [execution.composite_key for execution in job.get_executions()]
        if not executions:
            continue
        logger.warning("step %s of %s lost its worker; handing job %s back to RQ", step, record.cycle_id, job.id)
        runtime.connections.rq.zadd(registry.key, dict.fromkeys(executions, 0), xx=True)
        registry.cleanup()  # RQ retries it if retries are left, else fails it and releases its dependents
        recovered.append(job.id)
    return recovered


def _forget_executions(runtime: Runtime, job: Job) -> None:
    """Drop a finished job's executions left in the started registry.

    rq 2.12 loses the deletion when ``handle_job_success`` retries after a WatchError (it clears
    ``worker.execution`` before the pipeline runs); left there, RQ would later call the finished job abandoned.
    """
    stale = [execution.composite_key for execution in job.get_executions()]
    if stale:
        registry = StartedJobRegistry(job.origin, connection=runtime.connections.rq)
        if runtime.connections.rq.zrem(registry.key, *stale):
            logger.info("removed stale started-registry entries of finished job %s", job.id)
