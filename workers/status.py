"""What `improve status` shows: recent cycles, what runs now, queues, workers, schedules, approvals."""

from __future__ import annotations

from typing import Any

from rq import Queue, Worker
from rq.cron import CronScheduler

from blackboard.entries import ProposalStatus
from workers.dag import QUEUES
from workers.runtime import Runtime
from workers.scheduler import ScheduleBook
from workers.schedules import DEFAULTS, ScheduleError, make, next_run, period_label, period_of
from workers.trigger import activity, run_events


def gather(runtime: Runtime, limit: int = 10) -> dict[str, Any]:
    cycles, running = [], []
    for record in runtime.cycles.recent(limit):
        cycles.append({
            "cycle_id": record.cycle_id, "kind": record.kind, "dry_run": record.dry_run, "run": record.run,
            "safe": record.safe, "finished_at": record.finished_at.isoformat() if record.finished_at else None,
            "report_path": record.report_path, "safety_reasons": record.safety_reasons,
        })
        state = activity(runtime, record)
        if state.running:
            steps = {event.step: event.status.value for event in run_events(runtime, record)}
            running.append({"cycle_id": record.cycle_id, "run": record.run,
                            "where": "in-process" if state.in_process else "workers",
                            "steps": {step: steps.get(step, "waiting") for step in record.run_steps}})
    queues = {name: Queue(name, connection=runtime.connections.rq).count for name in QUEUES}
    workers = [{"name": w.name, "queues": w.queue_names(), "state": str(w.get_state())}
               for w in Worker.all(connection=runtime.connections.rq)]
    pending = [{"id": p.proposal_id, "title": p.title, "risk": p.risk.value, "cycle_id": p.cycle_id}
               for p in runtime.proposals.with_status(ProposalStatus.PENDING)]
    from workers.configuration import store_of

    current = store_of(runtime).current()
    config = None if current is None else {
        "version": current.version, "created_at": current.created_at.isoformat(), "by": current.by,
        "reason": current.reason, "routes": len(current.config.routing), "export_path": str(
            runtime.settings.export_path)}
    return {"redis": runtime.connections.description, "cycles": cycles, "running": running, "queues": queues,
            "workers": workers, "schedules": schedule_rows(runtime), "schedulers": live_schedulers(runtime),
            "pending_approvals": pending, "config": config}


def schedule_rows(runtime: Runtime) -> list[dict[str, Any]]:
    """What `improve status` shows of each schedule: its cron string, last run and next run."""
    rows, book, now = [], ScheduleBook(runtime), runtime.clock.now()
    for name, default in DEFAULTS.items():
        state = book.last(name)
        row: dict[str, Any] = {
            "name": name, "title": default.title, "setting": default.setting, "queue": default.queue,
            "cron": getattr(runtime.settings, f"schedule_{name}"), "enabled": False, "error": None,
            "last_run": state.get("last_run"), "last_period": state.get("last_period"),
            "last_action": state.get("last_action"), "last_detail": state.get("last_detail"),
            "next_run": None, "pending_period": None, "recent": book.recent(name)}
        try:
            schedule = make(name, row["cron"])
        except ScheduleError as exc:
            row["error"] = str(exc)
        else:
            upcoming, current = next_run(schedule, now), period_of(schedule, now)
            row.update(cron=schedule.cron, enabled=schedule.enabled,
                       next_run=upcoming.isoformat() if upcoming else None)
            if current is not None and state.get("last_period") != period_label(current) \
                    and book.enqueued(schedule, current):
                row["pending_period"] = period_label(current)
        rows.append(row)
    return rows


def live_schedulers(runtime: Runtime) -> list[dict[str, Any]]:
    """RQ cron schedulers alive on this Redis (ours, or a plain `rq cron`)."""
    found = []
    for cron in CronScheduler.all(runtime.connections.rq):
        beat = cron.last_heartbeat
        found.append({"name": cron.name, "hostname": cron.hostname, "pid": cron.pid,
                      "jobs": [job.name for job in cron.get_jobs()],
                      "last_heartbeat": beat.isoformat() if beat else None})
    return found
