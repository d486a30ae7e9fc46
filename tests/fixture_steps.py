"""Step implementations for tests (wired in with IMPROVE_STEP_OVERRIDES). They post real entries.

Behaviour comes from environment variables, so worker subprocesses can be steered:
FIXTURE_FINDINGS (how many findings to post), FIXTURE_DELAY (seconds between posts), FIXTURE_SLEEP (seconds
a step sleeps), FIXTURE_MARK_DIR (a folder where steps drop a file when they start).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from blackboard.entries import Finding
from workers.steps import StepContext, StepResult


def _mark(context: StepContext, what: str) -> None:
    folder = os.environ.get("FIXTURE_MARK_DIR")
    if folder:
        path = Path(folder) / f"{context.step}.{what}"
        path.write_text(f"{time.time()}\n")


def findings(context: StepContext) -> StepResult:
    """Posts FIXTURE_FINDINGS findings one by one, FIXTURE_DELAY apart (slow enough to be killed midway)."""
    _mark(context, "started")
    count, delay = int(os.environ.get("FIXTURE_FINDINGS", "10")), float(os.environ.get("FIXTURE_DELAY", "0"))
    created = 0
    for index in range(count):
        entry = Finding(cycle_id=context.record.cycle_id, agent="research", created_at=context.runtime.clock.now(),
                        source="fixture", source_id=f"{context.record.cycle_id}-{index}", title=f"Finding {index}")
        created += context.runtime.board.post(entry).created
        time.sleep(delay)
    return StepResult(summary={"posted": count, "new": created})


def sleeper(context: StepContext) -> StepResult:
    """Sleeps FIXTURE_SLEEP seconds, recording when it ran (to see steps overlap)."""
    started = time.time()
    _mark(context, "started")
    time.sleep(float(os.environ.get("FIXTURE_SLEEP", "1")))
    return StepResult(summary={"started": started, "ended": time.time()})


def broken(context: StepContext) -> StepResult:
    raise ValueError("the fixture step broke on purpose (token=sk-test-secret-123456)")


def removal(context: StepContext) -> StepResult:
    """The catalog reports the models in FIXTURE_REMOVED (comma-separated) removed, as the catalog agent would."""
    from blackboard.entries import CatalogChange

    removed = [m for m in os.environ.get("FIXTURE_REMOVED", "").split(",") if m]
    changes = [CatalogChange(cycle_id=context.record.cycle_id, agent="catalog", created_at=context.runtime.clock.now(),
                             source="openrouter", model_id=model, change="removed", old={"id": model})
               for model in removed]
    context.runtime.board.post_many(changes)
    return StepResult(summary={"removed": removed})
