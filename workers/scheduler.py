"""`improve scheduler`: RQ's cron (UTC) with the built-in schedules, a catch-up of missed periods, and the jobs.

Nothing runs twice in one period: a scheduler claims a period before it enqueues it (so two schedulers, or a
catch-up and the cron tick, enqueue it once), and the scheduled job takes the period's lock before it acts.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

import click
from rq import get_current_job
from rq.cron import CronJob, CronScheduler
from rq.exceptions import StopRequested
from rq.utils import now as rq_now

from blackboard.clock import parse_instant, quick_cycle_id, weekly_cycle_id
from blackboard.cycles import CycleKind
from workers.conductor import live_queues
from workers.console import err, handles_errors, load_settings, setup_logging
from workers.dag import steps_for
from workers.runner import describe_error
from workers.runtime import Runtime, connect, for_job
from workers.schedules import Schedule, ScheduleError, hold_for, make, missed, next_run, period_label, period_of, table
from workers.settings import Settings
from workers.trigger import FAILURE_TTL, RESULT_TTL, cycle_id_for, trigger, wanted_cycle

logger = logging.getLogger(__name__)
STARTED, RESUMED, RAN = "started", "resumed", "ran"
RUNNING, FINISHED, SKIPPED, FAILED = "already_running", "already_finished", "skipped_by_lock", "failed"
TRIGGER_TIMEOUT = 300  # seconds: a weekly or quick job only enqueues its cycle
HISTORY = 20


def configured(settings: Settings) -> tuple[Schedule, ...]:
    return table(settings.schedule_weekly, settings.schedule_quick, settings.schedule_research)


@dataclass
class ScheduledRun:
    name: str
    period: str
    action: str
    detail: str


class ScheduleBook:
    """Each schedule's last run and recent outcomes, its period locks and enqueue claims, in Redis."""

    def __init__(self, runtime: Runtime) -> None:
        self.client, self.keys, self.clock = runtime.connections.board, runtime.keys, runtime.clock

    def last(self, name: str) -> dict[str, str]:
        return cast(dict[str, str], self.client.hgetall(self.keys.schedule_state(name)))

    def note_seen(self, name: str) -> None:
        """Remember when a scheduler first ran this schedule: a period missed after that is caught up."""
        self.client.hsetnx(self.keys.schedule_state(name), "first_seen", self.clock.now().isoformat())

    def since(self, name: str) -> datetime | None:
        """What a catch-up counts from: the last period run, else when a scheduler first saw the schedule."""
        state = self.last(name)
        found = state.get("last_period") or state.get("first_seen")
        return parse_instant(found) if found else None

    def claim_enqueue(self, schedule: Schedule, tick: datetime) -> bool:
        key = self.keys.schedule_enqueued(schedule.name, period_label(tick))
        return bool(self.client.set(key, self.clock.now().isoformat(), nx=True, px=hold_for(schedule, tick)))

    def enqueued(self, schedule: Schedule, tick: datetime) -> bool:
        return bool(self.client.exists(self.keys.schedule_enqueued(schedule.name, period_label(tick))))

    def take_lock(self, schedule: Schedule, tick: datetime, holder: str) -> str | None:
        """None when this holder got the period's lock, else who holds it."""
        key = self.keys.schedule_lock(schedule.name, period_label(tick))
        if self.client.set(key, holder, nx=True, px=hold_for(schedule, tick)):
            return None
        return str(self.client.get(key) or "an expired holder")

    def record(self, outcome: ScheduledRun, holder: str) -> None:
        """Every outcome goes to the history; the newest period's, unless a skip (the lock holder speaks), is last."""
        at = self.clock.now().isoformat()
        newest = outcome.period >= self.last(outcome.name).get("last_period", "")  # labels sort by time
        with self.client.pipeline(transaction=True) as pipe:
            pipe.lpush(self.keys.schedule_history(outcome.name), json.dumps({**asdict(outcome), "at": at,
                                                                              "holder": holder}))
            pipe.ltrim(self.keys.schedule_history(outcome.name), 0, HISTORY - 1)
            if outcome.action != SKIPPED and newest:
                pipe.hset(self.keys.schedule_state(outcome.name), mapping={
                    "last_period": outcome.period, "last_run": at, "last_action": outcome.action,
                    "last_detail": outcome.detail})
            pipe.execute()

    def recent(self, name: str, count: int = 5) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.client.lrange(self.keys.schedule_history(name), 0, count - 1)]


def _cycle_action(kind: CycleKind) -> Callable[[Runtime, datetime], tuple[str, str]]:
    def act(runtime: Runtime, tick: datetime) -> tuple[str, str]:
        cycle_id = weekly_cycle_id(tick) if kind == "weekly" else quick_cycle_id(tick)
        existing = runtime.cycles.get(cycle_id)
        if existing is not None and existing.finished_at is not None:  # also one that ended unsafe: never again
            return FINISHED, f"cycle {cycle_id} had finished; nothing ran again"
        wanted = wanted_cycle(runtime, kind).model_copy(update={"cycle_id": cycle_id})
        started = trigger(runtime, wanted, "workers")
        if started.action in ("running", "finished"):
            return (RUNNING if started.action == "running" else FINISHED), f"cycle {cycle_id} was {started.action}"
        unserved = sorted({step.queue for step in steps_for(kind)} - set(live_queues(runtime)))
        note = f" (no worker listens on {', '.join(unserved)} yet)" if unserved else ""
        return (STARTED if started.action == "started" else RESUMED), (
            f"cycle {cycle_id} {started.action} on workers: {', '.join(started.steps)}{note}")
    return act


def _research_action(runtime: Runtime, tick: datetime) -> tuple[str, str]:
    from workers.research_scan import scan_and_summarise  # numpy and the sources: only where a scan runs

    cycle_id = cycle_id_for(runtime, "weekly", dry_run=False)
    outcome, path = scan_and_summarise(runtime, cycle_id, "research", f"{runtime.clock.now():%Y-%m-%d}")
    return RAN, (f"for cycle {cycle_id}: {outcome.new} new, {outcome.updated} updated, {outcome.proposals} "
                 f"proposals, {len(outcome.errors)} source errors; summary {path}")


ACTIONS = {"weekly": _cycle_action("weekly"), "quick": _cycle_action("quick"), "research": _research_action}


def run_schedule(runtime: Runtime, name: str, cron: str, period: str | None = None,
                 holder: str | None = None) -> ScheduledRun:
    """One scheduled run: its period (given, or the latest tick of ``cron``), the period's lock, the action."""
    schedule = make(name, cron)
    tick = parse_instant(period) if period else period_of(schedule, runtime.clock.now())
    if tick is None:
        raise ScheduleError(f"the {name} schedule is off and no period was given")
    book, label = ScheduleBook(runtime), period_label(tick)
    holder = holder or f"{socket.gethostname()}:{os.getpid()}"
    other = book.take_lock(schedule, tick, holder)
    if other is not None:
        outcome = ScheduledRun(name, label, SKIPPED, f"{other} holds the {label} period")
    else:
        try:
            action, detail = ACTIONS[name](runtime, tick)
        except Exception as exc:
            book.record(ScheduledRun(name, label, FAILED, describe_error(runtime, exc)), holder)
            raise
        outcome = ScheduledRun(name, label, action, detail)
    book.record(outcome, holder)
    logger.info("schedule %s, period %s: %s (%s)", name, label, outcome.action, outcome.detail)
    return outcome


def _in_job(name: str, cron: str, period: str | None) -> dict[str, str]:
    job = get_current_job()
    if job is None:
        raise RuntimeError(f"the {name} schedule's job must run inside an RQ job")
    runtime = for_job(job.connection)
    try:
        return asdict(run_schedule(runtime, name, cron, period, holder=f"job {job.id}"))
    finally:
        runtime.connections.board.close()


def scheduled_weekly(cron: str, period: str | None = None) -> dict[str, str]:
    return _in_job("weekly", cron, period)


def scheduled_quick(cron: str, period: str | None = None) -> dict[str, str]:
    return _in_job("quick", cron, period)


def scheduled_research(cron: str, period: str | None = None) -> dict[str, str]:
    return _in_job("research", cron, period)


JOBS = {"weekly": scheduled_weekly, "quick": scheduled_quick, "research": scheduled_research}


class ProjectScheduler(CronScheduler):
    """RQ's CronScheduler, enqueueing each period once (across schedulers) and catching up a missed one."""

    def __init__(self, runtime: Runtime, schedules: tuple[Schedule, ...], name: str = "") -> None:
        super().__init__(runtime.connections.rq, name=name)
        self.runtime, self.book = runtime, ScheduleBook(runtime)
        self.by_job = {f"improve-{s.name}": s for s in schedules if s.enabled}
        self._busy, self._stop = 0, False
        for job_name, schedule in self.by_job.items():
            timeout = runtime.settings.step_timeout if schedule.name == "research" else TRIGGER_TIMEOUT
            self.register(JOBS[schedule.name], queue_name=schedule.queue, args=(schedule.cron,), cron=schedule.cron,
                          name=job_name, job_timeout=timeout, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL)
            self.book.note_seen(schedule.name)

    def enqueue_jobs(self) -> list[CronJob]:
        """One pass: every due tick, then for each other schedule the latest missed period, once."""
        with self._guarded():
            fired: list[CronJob] = []
            for cron_job in self._cron_jobs:
                schedule = self.by_job[cron_job.name]
                if cron_job.should_run():
                    tick = period_of(schedule, rq_now())  # the latest tick (RQ's is the first due, if late)
                    assert tick is not None  # only enabled schedules are registered
                    self._enqueue(cron_job, schedule, tick, "cron tick")
                    cron_job.set_enqueue_time(rq_now())
                    fired.append(cron_job)
                elif (late := missed(schedule, self.book.since(schedule.name), self.runtime.clock.now())) is not None:
                    self._enqueue(cron_job, schedule, late, "catch-up of a missed period")
            return fired

    def _enqueue(self, cron_job: CronJob, schedule: Schedule, tick: datetime, why: str) -> None:
        label = period_label(tick)
        if not self.book.claim_enqueue(schedule, tick):
            logger.debug("schedule %s, period %s: already enqueued", schedule.name, label)
            return
        cron_job.args = (schedule.cron, label)
        job = cron_job.enqueue(self.connection)
        err.print(f"enqueued {schedule.name} for period {label} ({why}) on queue {schedule.queue}: job {job.id}",
                  markup=False)

    def heartbeat(self) -> None:
        with self._guarded():
            super().heartbeat()

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """A stop signal during a pass lets the pass finish, then stops."""
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1
        if self._stop and not self._busy:
            raise StopRequested()

    def _request_stop(self, signum: int, frame: Any) -> None:
        err.print(f"scheduler {self.name}: signal {signum}, stopping", markup=False)
        if self._busy:
            self._stop = True
        else:
            raise StopRequested()


def describe_schedules(rows: list[dict[str, Any]], schedulers: list[dict[str, Any]]) -> list[str]:
    """The `improve status` lines for the schedules."""
    running = (f"{len(schedulers)} scheduler(s) running: {', '.join(s['name'] for s in schedulers)}" if schedulers
               else "no scheduler running, start one: improve scheduler")
    lines = [f"Schedules (UTC; {running}):"]
    for row in rows:
        if row["error"]:
            lines.append(f"  {row['name']:<9} INVALID: {row['error']}")
            continue
        if not row["enabled"]:
            lines.append(f"  {row['name']:<9} off ({row['setting']})")
            continue
        last = (f"last {row['last_period']} {row['last_action']} ({row['last_detail']})" if row["last_action"]
                else "never run")
        pending = f"; {row['pending_period']} waits for a worker on {row['queue']}" if row["pending_period"] else ""
        lines.append(f"  {row['name']:<9} {row['cron']:<13} next {row['next_run']}  {last}{pending}")
    return lines


@click.command()
@click.option("--name", default=None, help="Scheduler name (default: host:pid:random).")
@click.option("-v", "--verbose", is_flag=True, help="Log what RQ's cron does (on stderr).")
@handles_errors
def scheduler(name: str | None, verbose: bool) -> None:
    """Run the schedules (weekly cycle, quick sync, research scan) with RQ's cron, in UTC (needs REDIS_URL)."""
    settings = load_settings()
    setup_logging(verbose, settings.secrets())
    if settings.redis_url is None:
        raise click.UsageError("improve scheduler needs REDIS_URL: it enqueues jobs for RQ workers on a shared Redis "
                               "(without one, schedule `improve run` with cron instead)")
    try:
        schedules = configured(settings)
    except ScheduleError as exc:
        raise click.UsageError(str(exc)) from exc
    if not any(s.enabled for s in schedules):
        raise click.UsageError(f"every schedule is off ({', '.join(s.setting for s in schedules)}): nothing to run")
    runtime = connect(settings)
    try:
        cron = ProjectScheduler(runtime, schedules, name=name or "")
        now = runtime.clock.now()
        err.print(f"scheduler {cron.name} on {runtime.connections.description} (UTC, now {now:%Y-%m-%d %H:%M}):",
                  markup=False)
        for s in schedules:
            when = f"{s.cron!r} on queue {s.queue}, next {next_run(s, now):%Y-%m-%d %H:%M}" if s.enabled else "off"
            err.print(f"  {s.name:<9} {s.title}: {when}", markup=False)
        try:
            cron.start()  # type: ignore[no-untyped-call]
        except StopRequested:  # a signal before RQ's loop began
            cron.register_death()
    finally:
        runtime.close()
    err.print("scheduler stopped", markup=False)

