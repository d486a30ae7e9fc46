"""Runs one step of one cycle run: records it on the blackboard, holds its lease, finishes the cycle."""

from __future__ import annotations

import logging
import time
from typing import Any

from blackboard.entries import CycleEvent, StepStatus
from blackboard.lease import Lease
from blackboard.redaction import redact
from reports.safety import assess, step_outcomes
from workers.dag import final_step, steps_for
from workers.runtime import Runtime
from workers.steps import StepContext, StepResult, perform

logger = logging.getLogger(__name__)
DONE = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)


def _event(runtime: Runtime, cycle_id: str, run: int, step: str, status: StepStatus, **fields: Any) -> CycleEvent:
    return CycleEvent(cycle_id=cycle_id, agent="cycle", created_at=runtime.clock.now(), step=step,
                      status=status, run=run, **fields)


def outcome_of(runtime: Runtime, cycle_id: str, run: int, step: str) -> CycleEvent | None:
    """This run's successful outcome of a step, if it already has one."""
    for entry in runtime.board.read_cycle(cycle_id, kinds=["cycle_event"]):
        if isinstance(entry, CycleEvent) and entry.run == run and entry.step == step and entry.status in DONE:
            return entry
    return None


def describe_error(runtime: Runtime, exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}", runtime.settings.secrets())[:2000]


def execute_step(runtime: Runtime, cycle_id: str, run: int, step: str) -> CycleEvent:
    """Run a step once per run: a retry after success returns the recorded outcome and does nothing."""
    done = outcome_of(runtime, cycle_id, run, step)
    if done is not None:
        logger.info("step %s of %s run %d already done (%s)", step, cycle_id, run, done.status)
        return done
    record = runtime.cycles.get(cycle_id)
    if record is None:
        raise LookupError(f"no cycle {cycle_id}")
    lease = Lease(runtime.connections.board, runtime.keys.step_lease(cycle_id, step),
                  int(runtime.settings.lease_seconds * 1000), holder=step)
    lease.force()
    lease.keep_alive()
    started = time.monotonic()
    try:
        runtime.board.post(_event(runtime, cycle_id, run, step, StepStatus.STARTED))
        result: StepResult = perform(StepContext(runtime, record, run, step))
    except Exception as exc:
        logger.exception("step %s of %s failed", step, cycle_id)
        try:
            record_failure(runtime, cycle_id, run, step, describe_error(runtime, exc), time.monotonic() - started)
        except Exception as recording:  # the store may be what failed; the job's own failure still counts
            logger.warning("could not record the failure of %s: %s", step, recording)
        raise
    finally:
        lease.release()
    event = _event(runtime, cycle_id, run, step, result.status, seconds=round(time.monotonic() - started, 3),
                   reason=result.reason, skip_reason=result.skip_reason, summary=result.summary)
    runtime.board.post(event)
    logger.info("step %s of %s: %s in %.2fs", step, cycle_id, result.status, event.seconds)
    finish_if_final(runtime, cycle_id, run, step)
    return event


def record_failure(runtime: Runtime, cycle_id: str, run: int, step: str, reason: str,
                   seconds: float | None = None) -> None:
    """Record a failed step (raised, timed out, or abandoned by a dead worker) and finish the cycle if last.

    A late failure report never overrides a success of the same run (RQ can call a finished job abandoned).
    """
    done = outcome_of(runtime, cycle_id, run, step)
    if done is not None:
        logger.warning("ignoring a failure report for step %s of %s run %d: it already %s", step, cycle_id, run,
                       done.status.value)
        return
    runtime.board.post(_event(runtime, cycle_id, run, step, StepStatus.FAILED, reason=reason,
                              seconds=round(seconds, 3) if seconds is not None else None))
    finish_if_final(runtime, cycle_id, run, step)


def finish_if_final(runtime: Runtime, cycle_id: str, run: int, step: str) -> None:
    record = runtime.cycles.get(cycle_id)
    if record is None or record.run != run or step != final_step(record.kind):
        return
    entries = runtime.board.read_cycle(cycle_id)
    safety = assess(entries, [s.name for s in steps_for(record.kind)])
    report = step_outcomes(entries).get("report")
    report_path = None
    if report is not None and report.status == StepStatus.SUCCEEDED:
        report_path = str(report.summary.get("report_path") or "") or None
    runtime.cycles.finish(cycle_id, runtime.clock.now(), safety.safe, safety.reasons, report_path)

