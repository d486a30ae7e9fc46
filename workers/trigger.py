"""Triggering a cycle: once per cycle id, resuming what did not finish, never starting anything twice."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from rq import Callback, Queue, Retry
from rq.job import Dependency, Job, JobStatus

from blackboard.clock import quick_cycle_id, weekly_cycle_id
from blackboard.cycles import CycleKind, CycleRecord
from blackboard.entries import CycleEvent, StepStatus
from blackboard.lease import Lease
from reports.safety import step_outcomes
from workers.dag import QUEUES, final_step, steps_for, with_downstream
from workers.jobs import JOB_FUNCTIONS, on_step_failure
from workers.runner import finish_if_final
from workers.runtime import Runtime

logger = logging.getLogger(__name__)
Mode = Literal["workers", "in-process"]
ACTIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
RESULT_TTL = int(timedelta(days=7).total_seconds())
FAILURE_TTL = int(timedelta(days=30).total_seconds())


@dataclass
class Activity:
    in_process: bool = False
    active_jobs: dict[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.in_process or bool(self.active_jobs)


@dataclass
class Trigger:
    record: CycleRecord
    action: Literal["started", "resumed", "running", "finished"]
    steps: list[str] = field(default_factory=list)
    lease: Lease | None = None  # held for an in-process run; release it when the run ends


def job_id(cycle_id: str, run: int, step: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"improve-{cycle_id}-r{run}-{step}")


def cycle_id_for(runtime: Runtime, kind: CycleKind, dry_run: bool) -> str:
    now = runtime.clock.now()
    base = weekly_cycle_id(now) if kind == "weekly" else quick_cycle_id(now)
    return f"{base}-dry-{now:%Y%m%dT%H%M%S}" if dry_run else base


def activity(runtime: Runtime, record: CycleRecord) -> Activity:
    found = Activity(in_process=bool(runtime.connections.board.exists(runtime.keys.cycle_lease(record.cycle_id))))
    if record.run_steps:
        ids = [job_id(record.cycle_id, record.run, step) for step in record.run_steps]
        for step, job in zip(record.run_steps, Job.fetch_many(ids, connection=runtime.connections.rq), strict=True):
            if job is not None and job.get_status(refresh=False) in ACTIVE:
                found.active_jobs[step] = job.id
    return found


def steps_to_run(runtime: Runtime, record: CycleRecord) -> list[str]:
    """Steps without a successful outcome yet, and everything downstream of them."""
    outcomes = step_outcomes(runtime.board.read_cycle(record.cycle_id, kinds=["cycle_event"]))
    unfinished = [step.name for step in steps_for(record.kind)
                  if (event := outcomes.get(step.name)) is None or event.status == StepStatus.FAILED]
    return with_downstream(record.kind, unfinished)


def wanted_cycle(runtime: Runtime, kind: CycleKind, dry_run: bool = False, benchmarks: bool = True) -> CycleRecord:
    """The record a trigger asks for now (the first trigger of a cycle id decides its options)."""
    return CycleRecord(cycle_id=cycle_id_for(runtime, kind, dry_run), kind=kind, dry_run=dry_run,
                       benchmarks=benchmarks, created_at=runtime.clock.now())


def trigger(runtime: Runtime, wanted: CycleRecord, mode: Mode, wait_seconds: float = 30.0) -> Trigger:
    """Start a cycle, resume what it left unfinished, or report that it runs or has finished."""
    cycle_id = wanted.cycle_id
    record, created = runtime.cycles.open(wanted)
    if not created and record.benchmarks != wanted.benchmarks:
        logger.warning("cycle %s was first triggered with benchmarks=%s; keeping that", cycle_id, record.benchmarks)
    lock = Lease(runtime.connections.board, runtime.keys.trigger_lock(cycle_id), 30_000, holder="trigger")
    deadline = time.monotonic() + wait_seconds
    while not lock.acquire():
        if time.monotonic() > deadline:
            raise TimeoutError(f"another trigger of {cycle_id} holds its lock")
        time.sleep(0.05)
    try:
        record = runtime.cycles.get(cycle_id) or record
        if activity(runtime, record).running:
            return Trigger(record, "running")
        needed = steps_to_run(runtime, record)
        if not needed:
            if record.finished_at is None and record.run:
                finish_if_final(runtime, cycle_id, record.run, final_step(record.kind))
            return Trigger(runtime.cycles.get(cycle_id) or record, "finished")
        action: Literal["started", "resumed"] = "started" if record.run == 0 else "resumed"
        record = runtime.cycles.start_run(cycle_id, needed)
        if mode == "workers":
            enqueue(runtime, record, needed)
            return Trigger(record, action, needed)
        lease = Lease(runtime.connections.board, runtime.keys.cycle_lease(cycle_id),
                      int(runtime.settings.lease_seconds * 1000), holder="in-process")
        lease.force()
        lease.keep_alive()
        return Trigger(record, action, needed, lease)
    finally:
        lock.release()


def enqueue(runtime: Runtime, record: CycleRecord, steps: list[str]) -> dict[str, str]:
    """Enqueue a run's steps as RQ jobs wired like the DAG; a failed parent never strands its dependents."""
    queues = {name: Queue(name, connection=runtime.connections.rq) for name in QUEUES}
    settings = runtime.settings
    ids: dict[str, str] = {}
    for step in steps_for(record.kind):
        if step.name not in steps:
            continue
        parents = [ids[name] for name in step.needs if name in ids]
        ids[step.name] = job_id(record.cycle_id, record.run, step.name)
        queues[step.queue].enqueue_call(
            JOB_FUNCTIONS[step.name],
            args=(record.cycle_id, record.run),
            job_id=ids[step.name],
            depends_on=Dependency(jobs=parents, allow_failure=True) if parents else None,
            timeout=settings.step_timeout,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            retry=Retry(max=settings.step_retries) if settings.step_retries else None,
            on_failure=Callback(on_step_failure),
            meta={"step": step.name, "cycle_id": record.cycle_id, "run": record.run},
            description=f"{record.cycle_id} run {record.run}: {step.title}",
        )
    return ids


def run_events(runtime: Runtime, record: CycleRecord) -> list[CycleEvent]:
    return [entry for entry in runtime.board.read_cycle(record.cycle_id, kinds=["cycle_event"])
            if isinstance(entry, CycleEvent) and entry.run == record.run]
