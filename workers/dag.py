"""The cycles as DAGs of steps: which queue runs each step and what it waits for."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

QUEUES = ("catalog", "research", "benchmark", "planning", "upgrade", "report")


@dataclass(frozen=True)
class Step:
    name: str
    queue: str
    needs: tuple[str, ...]
    title: str
    benchmark: bool = False  # skipped on purpose with --no-benchmarks


WEEKLY: tuple[Step, ...] = (
    Step("catalog_sync", "catalog", (), "catalog sync (full)"),
    Step("research_scan", "research", (), "research scan"),
    Step("benchmark_pre", "benchmark", (), "benchmark (pre)", benchmark=True),
    Step("plan", "planning", ("catalog_sync", "research_scan", "benchmark_pre"), "plan"),
    Step("upgrade", "upgrade", ("plan",), "upgrade"),
    Step("verify", "benchmark", ("upgrade",), "verify", benchmark=True),
    Step("report", "report", ("verify",), "report"),
)
QUICK: tuple[Step, ...] = (
    Step("catalog_sync", "catalog", (), "catalog sync (quick)"),
    Step("plan", "planning", ("catalog_sync",), "plan"),
    Step("upgrade", "upgrade", ("plan",), "upgrade (LOW only)"),
)


def steps_for(kind: str) -> tuple[Step, ...]:
    return WEEKLY if kind == "weekly" else QUICK


def step_named(kind: str, name: str) -> Step:
    for step in steps_for(kind):
        if step.name == name:
            return step
    raise KeyError(f"no step {name!r} in the {kind} cycle")


def final_step(kind: str) -> str:
    return steps_for(kind)[-1].name


def with_downstream(kind: str, names: Iterable[str]) -> list[str]:
    """The named steps and every step after them, in DAG order."""
    chosen = set(names)
    for step in steps_for(kind):  # steps are listed in topological order
        if chosen.intersection(step.needs):
            chosen.add(step.name)
    return [step.name for step in steps_for(kind) if step.name in chosen]
