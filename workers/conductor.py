"""Drives a cycle to its end: triggers it, runs it here or follows the workers, reaps and resumes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rq import Queue, Worker

from blackboard.cycles import CycleRecord
from blackboard.entries import CycleEvent
from workers.dag import QUEUES, steps_for
from workers.inprocess import RedisLost, run_in_process
from workers.reaper import reap
from workers.runtime import Runtime
from workers.trigger import Mode, Trigger, activity, run_events, trigger

logger = logging.getLogger(__name__)
MAX_AUTOMATIC_RESUMES = 3


@dataclass
class Outcome:
    record: CycleRecord
    action: str
    mode: Mode
    events: list[CycleEvent] = field(default_factory=list)

    @property
    def published(self) -> dict[str, Any]:
        """What the report step published (GitHub, Slack), from its latest successful event."""
        for event in reversed(self.events):
            if event.step == "report" and event.status.value == "succeeded":
                found: dict[str, Any] = event.summary.get("published") or {}  # type: ignore[assignment]
                return found
        return {}


def live_queues(runtime: Runtime) -> dict[str, list[str]]:
    """Queue name -> names of the live workers listening on it."""
    listening: dict[str, list[str]] = {}
    for worker in Worker.all(connection=runtime.connections.rq):
        for name in worker.queue_names():
            listening.setdefault(name, []).append(worker.name)
    return listening


def choose_mode(runtime: Runtime, requested: str, kind: str) -> tuple[Mode, str]:
    """Where the steps run, and why."""
    if not runtime.uses_workers:
        return "in-process", "the embedded default runs steps in this process"
    if requested in ("workers", "in-process"):
        return requested, f"--mode {requested}"  # type: ignore[return-value]
    needed = {step.queue for step in steps_for(kind)}
    missing = sorted(needed - set(live_queues(runtime)))
    if missing:
        return "in-process", f"no worker listens on {', '.join(missing)}"
    return "workers", "workers listen on every queue"


class Conductor:
    def __init__(self, runtime: Runtime, on_event: Callable[[CycleEvent], None] | None = None,
                 on_warning: Callable[[str], None] | None = None, poll: float = 0.1) -> None:
        self.runtime = runtime
        self.on_event = on_event or (lambda event: None)
        self.on_warning = on_warning or (lambda text: logger.warning("%s", text))
        self.poll = poll
        self._seen: set[str] = set()
        self._events: list[CycleEvent] = []

    def drive(self, wanted: CycleRecord, mode: Mode, timeout: float | None = None) -> Outcome:
        deadline = time.monotonic() + timeout if timeout else None
        started = trigger(self.runtime, wanted, mode)
        first_action = started.action
        for _ in range(MAX_AUTOMATIC_RESUMES + 1):
            record = self._run_or_follow(started, mode, deadline)
            if record.finished_at is not None:
                return Outcome(record, first_action, mode, self._events)
            self.on_warning(f"cycle {record.cycle_id} stopped before it finished; resuming it")
            started = trigger(self.runtime, record, mode)
            if started.action == "finished":
                break
        record = self.runtime.cycles.get(wanted.cycle_id) or wanted
        return Outcome(record, first_action, mode, self._events)

    def _run_or_follow(self, started: Trigger, mode: Mode, deadline: float | None) -> CycleRecord:
        failure: list[BaseException] = []
        runner = None
        if started.lease is not None:
            lease = started.lease

            def run() -> None:
                try:
                    run_in_process(self.runtime, started.record, started.steps)
                except BaseException as exc:  # handed to the following thread
                    failure.append(exc)
                finally:
                    lease.release()

            runner = threading.Thread(target=run, name=f"cycle:{started.record.cycle_id}", daemon=True)
            runner.start()
        return self._follow(started.record.cycle_id, deadline, runner, failure)

    def _follow(self, cycle_id: str, deadline: float | None, runner: threading.Thread | None,
                failure: list[BaseException]) -> CycleRecord:
        last_warning = 0.0
        while True:
            record = self.runtime.cycles.get(cycle_id)
            assert record is not None
            self._report(record)
            if failure:
                raise RedisLost(str(failure[0])) from failure[0]
            if runner is None or not runner.is_alive():
                reap(self.runtime, record)
                state = activity(self.runtime, record)
                if not state.running:
                    self._report(self.runtime.cycles.get(cycle_id) or record)
                    return self.runtime.cycles.get(cycle_id) or record
                if state.active_jobs and time.monotonic() - last_warning > 30:
                    last_warning = time.monotonic()
                    self._warn_unserved()
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"cycle {cycle_id} did not finish in time; it goes on (see `improve status`)")
            time.sleep(self.poll)

    def _report(self, record: CycleRecord) -> None:
        for event in run_events(self.runtime, record):
            if event.id not in self._seen:
                self._seen.add(event.id)
                self._events.append(event)
                self.on_event(event)

    def _warn_unserved(self) -> None:
        listening = live_queues(self.runtime)
        for name in QUEUES:
            queue = Queue(name, connection=self.runtime.connections.rq)
            if queue.count and name not in listening:
                self.on_warning(f"{queue.count} job(s) wait on queue {name!r} and no worker listens on it "
                                f"(start one: improve worker --queues {name})")
