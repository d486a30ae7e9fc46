"""The SAFE rule: one pure function over a cycle's entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from blackboard.entries import CycleEvent, EntryBase, Regression, RolledBack, Severity, SkipReason, StepStatus

TERMINAL = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED)


@dataclass(frozen=True)
class Safety:
    safe: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def step_outcomes(entries: Sequence[EntryBase]) -> dict[str, CycleEvent]:
    """The latest terminal event of each step (a later run's outcome replaces an earlier one's)."""
    latest: dict[str, CycleEvent] = {}
    for entry in entries:
        if isinstance(entry, CycleEvent) and entry.status in TERMINAL:
            previous = latest.get(entry.step)
            if previous is None or entry.run >= previous.run:
                latest[entry.step] = entry
    return latest


def assess(entries: Sequence[EntryBase], steps: Sequence[str], pending: Sequence[str] = ()) -> Safety:
    """SAFE only when every step ran (or was deliberately disabled), none failed, no critical regression
    stands and nothing was rolled back. ``pending`` names steps still running (the report rendering itself)."""
    reasons: list[str] = []
    notes: list[str] = []
    outcomes = step_outcomes(entries)
    for step in steps:
        if step in pending:
            continue
        event = outcomes.get(step)
        if event is None:
            reasons.append(f"step {step} did not finish")
        elif event.status == StepStatus.FAILED:
            reasons.append(f"step {step} failed: {event.reason or 'no reason recorded'}")
        elif event.status == StepStatus.SKIPPED and event.skip_reason == SkipReason.DISABLED:
            notes.append(f"step {step} was skipped on purpose: {event.reason}")
        elif event.status == StepStatus.SKIPPED and event.skip_reason == SkipReason.NOTHING_TO_DO:
            notes.append(f"step {step} had nothing to do: {event.reason}")
        elif event.summary.get("unverified"):
            reasons.append(f"step {step} could not verify what changed: {event.reason or 'invalid run'}")
        elif event.status == StepStatus.SKIPPED:
            reasons.append(f"step {step} did not run: {event.reason or 'skipped'}")
    for entry in entries:
        if isinstance(entry, Regression) and entry.severity == Severity.CRITICAL:
            reasons.append(f"critical regression of {entry.model} on {entry.category} ({entry.drop:.1%} drop)")
        elif isinstance(entry, RolledBack):
            reasons.append(f"an applied change was rolled back (v{entry.from_version} -> v{entry.to_version}): "
                           f"{entry.reason}")
    return Safety(safe=not reasons, reasons=reasons, notes=notes)
