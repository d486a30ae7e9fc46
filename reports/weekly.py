"""The weekly report model: what a cycle did, collected from its entries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from blackboard.cycles import CycleRecord
from blackboard.entries import CycleEvent, EntryBase, SourceError, StepStatus
from reports.safety import assess, step_outcomes

SECTION_OWNERS = {
    "catalog": ("catalog_sync", "Model catalog changes"),
    "benchmark": ("benchmark_pre", "Benchmark results"),
    "research": ("research_scan", "Research highlights"),
    "planner": ("plan", "Waiting for you"),
    "upgrade": ("upgrade", "Upgrades applied and rolled back"),
}


class StepLine(BaseModel):
    name: str
    status: str
    seconds: float | None = None
    reason: str = ""
    run: int | None = None


class SourceProblem(BaseModel):
    step: str
    source: str
    error_type: str
    message: str


class Section(BaseModel):
    title: str
    step: str
    ran: bool
    note: str = ""


class WeeklyReport(BaseModel):
    cycle_id: str
    kind: str
    dry_run: bool
    benchmarks: bool
    started_at: datetime
    generated_at: datetime
    safe: bool
    safety_reasons: list[str]
    safety_notes: list[str]
    steps: list[StepLine]
    entry_counts: dict[str, int]
    source_errors: list[SourceProblem] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    total_seconds: float = 0.0


def build_report(
    record: CycleRecord,
    entries: Sequence[EntryBase],
    steps: Sequence[str],
    generated_at: datetime,
    pending: Sequence[str] = (),
) -> WeeklyReport:
    safety = assess(entries, steps, pending=pending)
    outcomes = step_outcomes(entries)
    lines = []
    for step in steps:
        event = outcomes.get(step)
        if step in pending:
            lines.append(StepLine(name=step, status="running", reason="rendering this report"))
        elif event is None:
            lines.append(StepLine(name=step, status="did not finish"))
        else:
            lines.append(StepLine(name=step, status=event.status.value, seconds=event.seconds,
                                  reason=event.reason, run=event.run))
    sections = []
    for _owner, (step, title) in SECTION_OWNERS.items():
        if step not in steps:
            continue
        event = outcomes.get(step)
        ran = event is not None and event.status == StepStatus.SUCCEEDED
        note = "" if ran else (event.reason if event is not None else "did not finish")
        sections.append(Section(title=title, step=step, ran=ran, note=note))
    counts = Counter(entry.kind for entry in entries if not isinstance(entry, CycleEvent))
    errors = [SourceProblem(step=e.step, source=e.source, error_type=e.error_type, message=e.message)
              for e in entries if isinstance(e, SourceError)]
    return WeeklyReport(
        cycle_id=record.cycle_id, kind=record.kind, dry_run=record.dry_run, benchmarks=record.benchmarks,
        started_at=record.created_at, generated_at=generated_at, safe=safety.safe,
        safety_reasons=safety.reasons, safety_notes=safety.notes, steps=lines,
        entry_counts=dict(sorted(counts.items())), source_errors=errors, sections=sections,
        total_seconds=round(sum(line.seconds or 0.0 for line in lines), 3),
    )
