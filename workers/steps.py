"""What each step does. Steps whose agent has not landed yet say so instead of faking output."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from blackboard.cycles import CycleRecord
from blackboard.entries import SkipReason, StepStatus
from reports.render import write_report
from reports.weekly import WeeklyReport, build_report
from workers.dag import step_named, steps_for
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


def cycle_report(runtime: Runtime, record: CycleRecord, pending: tuple[str, ...] = ()) -> WeeklyReport:
    entries = runtime.board.read_cycle(record.cycle_id)
    steps = [step.name for step in steps_for(record.kind)]
    return build_report(record, entries, steps, runtime.clock.now(), pending=pending)


def write_cycle_report(runtime: Runtime, record: CycleRecord, pending: tuple[str, ...] = ()) -> tuple[Path, bool]:
    report = cycle_report(runtime, record, pending)
    return write_report(report, runtime.settings.report_dir), report.safe


def report_step(context: StepContext) -> StepResult:
    runtime = context.runtime
    path, safe = write_cycle_report(runtime, context.record, pending=(context.step,))
    trimmed = runtime.board.trim(timedelta(days=runtime.settings.retention_days), now=runtime.clock.now())
    return StepResult(summary={"report_path": str(path), "safe": safe, "trimmed": sum(trimmed.removed.values()),
                               "trim_held_back": {kind: groups for kind, groups in trimmed.held_back.items()}})


BUILTIN: dict[str, StepFunction] = {"report": report_step}
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
