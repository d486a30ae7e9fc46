"""What each step does. Steps whose agent has not landed yet say so instead of faking output."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from blackboard.cycles import CycleRecord
from blackboard.entries import Proposal, ProposalStatus, SkipReason, StepStatus
from reports.model import WeeklyReport
from reports.render import write_report
from reports.weekly import CycleHistory, build_report
from workers.bench_run import benchmark_step, verify_step
from workers.catalog_sync import full_sync, hub_sync, quick_sync, rank_and_score
from workers.dag import step_named, steps_for
from workers.publication import publish
from workers.research_scan import scan_and_summarise
from workers.runtime import Runtime


@dataclass
class StepContext:
    runtime: Runtime
    record: CycleRecord
    run: int
    step: str

    @property
    def agent(self) -> str:
        return step_named(self.record.kind, self.step).queue


@dataclass
class StepResult:
    status: StepStatus = StepStatus.SUCCEEDED
    reason: str = ""
    skip_reason: SkipReason | None = None
    summary: dict[str, Any] = field(default_factory=dict)


StepFunction = Callable[[StepContext], StepResult]


HISTORY_CYCLES = 8
HISTORY_KINDS = ("measurement", "applied", "rolled_back")


def cycle_report(runtime: Runtime, record: CycleRecord, pending: tuple[str, ...] = ()) -> WeeklyReport:
    """Build a cycle's report from the blackboard, with recent cycles of the same kind for trends and rates."""
    entries = runtime.board.read_cycle(record.cycle_id)
    steps = [step.name for step in steps_for(record.kind)]
    earlier = [past for past in runtime.cycles.recent(HISTORY_CYCLES * 3)
               if past.kind == record.kind and not past.dry_run and past.created_at < record.created_at]
    history = [CycleHistory(past, runtime.board.read_cycle(past.cycle_id, kinds=HISTORY_KINDS))
               for past in earlier[:HISTORY_CYCLES]]
    proposals = runtime.proposals.with_status(ProposalStatus.PENDING)
    waiting = {state.proposal_id for state in proposals}
    own = {e.proposal_id for e in entries if isinstance(e, Proposal)} - waiting  # how this cycle's others stand now
    proposals += [state for pid in sorted(own) if (state := runtime.proposals.get(pid)) is not None]
    from workers.configuration import proposal_entry

    latest = {state.proposal_id: found for state in proposals if state.status == ProposalStatus.PENDING
              and (found := proposal_entry(runtime, state.proposal_id)) is not None}
    return build_report(record, entries, steps, runtime.clock.now(), pending=pending, history=history,
                        proposals=proposals, latest=latest)


def write_cycle_report(runtime: Runtime, record: CycleRecord, pending: tuple[str, ...] = (),
                       publish_it: bool = False) -> tuple[Path, bool, dict[str, Any]]:
    """Render a cycle's report to the report folder and, if asked, publish it; returns path, SAFE, publications."""
    report = cycle_report(runtime, record, pending)
    path, markdown = write_report(report, runtime.settings.report_dir)
    published = publish(runtime, record, report, markdown, path) if publish_it else {}
    return path, report.safe, published


def report_step(context: StepContext) -> StepResult:
    runtime = context.runtime
    path, safe, published = write_cycle_report(runtime, context.record, pending=(context.step,), publish_it=True)
    trimmed = runtime.board.trim(timedelta(days=runtime.settings.retention_days), now=runtime.clock.now())
    return StepResult(summary={"report_path": str(path), "safe": safe, "published": published,
                               "trimmed": sum(trimmed.removed.values()),
                               "trim_held_back": {kind: groups for kind, groups in trimmed.held_back.items()}})


def catalog_step(context: StepContext) -> StepResult:
    runtime, cycle_id = context.runtime, context.record.cycle_id
    preview = context.record.dry_run  # a dry run diffs and reports, and leaves every last good snapshot as it was
    if context.record.kind == "quick":
        outcome = quick_sync(runtime, cycle_id, context.step, preview)
        summary = outcome.to_json()
    else:
        outcome = full_sync(runtime, cycle_id, context.step, preview)
        hub = hub_sync(runtime, cycle_id, context.step, preview)
        ranked = rank_and_score(runtime, cycle_id, context.step, preview)
        summary = {**outcome.to_json(), "huggingface": hub.to_json(), "rankings": ranked.to_json()}
        outcome.errors += hub.errors + ranked.errors
    note = "catalog rejected: last good snapshot kept" if outcome.rejected else (
        "source errors: see the report" if outcome.errors else "")
    return StepResult(reason=note, summary=summary)


def research_step(context: StepContext) -> StepResult:
    outcome, path = scan_and_summarise(context.runtime, context.record.cycle_id, context.step,
                                       f"{context.record.created_at:%Y-%m-%d}", persist=not context.record.dry_run)
    return StepResult(reason="source errors: see the report" if outcome.errors else "",
                      summary={**outcome.to_json(), "summary_path": str(path)})


def plan_step(context: StepContext) -> StepResult:
    from workers.planning import plan_cycle

    outcome = plan_cycle(context.runtime, context.record.cycle_id, dry_run=context.record.dry_run)
    waiting = f"; {len(outcome.gated)} wait for a person" if outcome.gated else ""
    return StepResult(reason=(f"{len(outcome.proposals)} proposal(s), {len(outcome.auto_approved)} approved "
                              f"automatically{waiting}" + ("; dry run" if outcome.dry_run else ""))[:500],
                      summary=outcome.to_json())


def upgrade_step(context: StepContext) -> StepResult:
    from workers.upgrade import upgrade

    record = context.record
    outcome = upgrade(context.runtime, record.cycle_id, low_only=record.kind == "quick", dry_run=record.dry_run)
    applied = outcome.to_json()["applied"]
    note = "dry run: nothing applied" if record.dry_run else f"{len(applied)} change(s) applied"
    return StepResult(reason=note, summary=outcome.to_json())


BUILTIN: dict[str, StepFunction] = {"report": report_step, "catalog_sync": catalog_step,
                                    "research_scan": research_step, "benchmark_pre": benchmark_step,
                                    "plan": plan_step, "upgrade": upgrade_step, "verify": verify_step}
NOT_IMPLEMENTED = "not implemented yet"


def _load(target: str) -> StepFunction:
    module_name, _, attribute = target.partition(":")
    function: StepFunction = getattr(importlib.import_module(module_name), attribute)
    return function


def implementation(context: StepContext) -> StepFunction | None:
    """The override configured for a step (IMPROVE_STEP_OVERRIDES), else the built-in one, else none."""
    override = context.runtime.settings.step_overrides.get(context.step)
    if override:
        return _load(override)
    return BUILTIN.get(context.step)


def perform(context: StepContext) -> StepResult:
    step = step_named(context.record.kind, context.step)
    if step.benchmark and not context.record.benchmarks:
        return StepResult(StepStatus.SKIPPED, "disabled by --no-benchmarks", SkipReason.DISABLED)
    function = implementation(context)
    if function is None:
        return StepResult(StepStatus.SKIPPED, f"{step.title}: {NOT_IMPLEMENTED}", SkipReason.NOT_IMPLEMENTED)
    return function(context)
