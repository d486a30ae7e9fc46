"""The no-op RQ job of the raw-RQ baseline in bench_cycle.py (imported by the worker subprocesses)."""

from __future__ import annotations


def noop(step: str) -> str:
    return step
