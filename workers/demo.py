"""`improve demo`: the sandbox world, six weekly cycles a simulated week apart, on the embedded default."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from blackboard.entries import ProposalStatus
from workers.conductor import Conductor
from workers.console import err, show_event, warn
from workers.runtime import Runtime, opened
from workers.sandbox import UPSTREAMS, sandbox
from workers.settings import Settings
from workers.status import gather
from workers.trigger import wanted_cycle

DEMO_WEEKS = 6  # three build the benchmark baseline; in the fourth a model slips; then an approval, its rollback
APPROVAL_WEEK = 4  # after this week's cycle the demo's operator approves the planner's re-route of coding
OPERATOR = "demo-operator"


def demo_weeks(now: datetime) -> list[datetime]:
    """Sunday 03:00 UTC of the last six weeks, this one last."""
    sunday = (now - timedelta(days=(now.weekday() + 1) % 7)).replace(hour=3, minute=0, second=0, microsecond=0)
    return [sunday - timedelta(days=7 * back) for back in range(DEMO_WEEKS - 1, -1, -1)]


def approve_reroute(runtime: Runtime) -> str | None:
    """The operator approves the planner's proposal to re-route coding (the next upgrade step applies it)."""
    from workers.decisions import decide

    for state in runtime.proposals.with_status(ProposalStatus.PENDING):
        if state.proposal_id.startswith("route:coding:"):
            decide(runtime, state.proposal_id, OPERATOR, "the demo approves the planner's re-route", approve=True)
            err.print(f"  {OPERATOR} approves {state.proposal_id}: {state.title}", markup=False)
            return state.proposal_id
    return None


def run_demo(settings: Settings) -> tuple[dict[str, Any], str]:
    now = settings.now or datetime.now(UTC)
    state_dir, report_dir = settings.state_dir / "demo", settings.report_dir / "demo"
    cycles: list[dict[str, Any]] = []
    with sandbox() as world:
        overrides = world.settings
        err.print(f"sandbox: {len(UPSTREAMS)} stand-in upstreams on loopback"
                  + "".join(f"\n  {name} -> {url}" for name, url in overrides.items() if name.endswith("_url")),
                  markup=False)
        for index, week in enumerate(demo_weeks(now)):
            if index:
                world.next_week()
            week_settings = settings.model_copy(update={
                "redis_url": None, "state_dir": state_dir, "report_dir": report_dir, "now": week,
                "research_dir": settings.research_dir / "demo", **overrides})
            with opened(week_settings) as runtime:
                wanted = wanted_cycle(runtime, "weekly")
                err.print(f"\nweek of {week:%Y-%m-%d}: cycle {wanted.cycle_id}", markup=False)
                outcome = Conductor(runtime, on_event=show_event, on_warning=warn).drive(wanted, "in-process")
                record = outcome.record
                cycles.append({"cycle_id": record.cycle_id, "action": outcome.action, "safe": record.safe,
                               "report_path": record.report_path, "reasons": record.safety_reasons,
                               "published": outcome.published})
                if index + 1 == APPROVAL_WEEK:
                    approved = approve_reroute(runtime)
                    if approved:
                        cycles[-1]["approved"] = approved
                status = gather(runtime)
    lines = [f"{c['cycle_id']}: SAFE={'true' if c['safe'] else 'false'}  {c['report_path']}"
             + ("  (already done earlier)" if c["action"] == "finished" else "")
             + "".join(f"; GitHub issue #{g['number']} {g['action']} (sandbox)"
                       for g in [c["published"].get("github", {})] if g.get("number"))
             + (f"; then {OPERATOR} approved {c['approved']}" if c.get("approved") else "")
             for c in cycles]
    lines.append(f"Cycles on record in {state_dir}: " + ", ".join(c["cycle_id"] for c in status["cycles"]))
    command = sys.argv[0] if Path(sys.argv[0]).name == "improve" else "improve"
    lines.append(f"Look around: IMPROVE_STATE_DIR={state_dir} {command} status")
    data = {"cycles": cycles, "state_dir": str(state_dir), "report_dir": str(report_dir),
            "status": {"cycles": status["cycles"]}}
    return data, "\n".join(lines)
