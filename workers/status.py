"""What `improve status` shows: recent cycles, what runs now, queues, workers, schedules, approvals."""

from __future__ import annotations

from typing import Any

from rq import Queue, Worker

from blackboard.entries import ProposalStatus
from workers.dag import QUEUES
from workers.runtime import Runtime
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
    return {"redis": runtime.connections.description, "cycles": cycles, "running": running, "queues": queues,
            "workers": workers, "schedules": [], "pending_approvals": pending}
