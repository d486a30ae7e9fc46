"""The no-op RQ job of the raw-RQ baseline in bench_cycle.py (imported by the worker subprocesses)."""

from __future__ import annotations


def noop(step: str) -> str:
    return step


def noop_step(context: object) -> object:
    """A step that does nothing (IMPROVE_STEP_OVERRIDES), so the benchmark measures the cycle's own overhead."""
    from workers.steps import StepResult

    return StepResult()
