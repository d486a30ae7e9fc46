"""The SAFE rule, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from blackboard.entries import CycleEvent, EntryBase, Regression, RolledBack, SkipReason, StepStatus
from reports.safety import assess

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
STEPS = ["catalog_sync", "benchmark_pre", "report"]


def event(step: str, status: str, run: int = 1, skip: SkipReason | None = None, reason: str = "") -> CycleEvent:
    return CycleEvent(cycle_id="c", agent="cycle", created_at=NOW, step=step, status=StepStatus(status), run=run,
                      skip_reason=skip, reason=reason)


ALL_OK = [event("catalog_sync", "succeeded"), event("benchmark_pre", "succeeded"), event("report", "succeeded")]
REGRESSION = Regression(cycle_id="c", agent="benchmark", created_at=NOW, model="m", category="coding",
                        severity="critical", drop=0.2)
ALERT = REGRESSION.model_copy(update={"severity": "alert"})
ROLLBACK = RolledBack(cycle_id="c", agent="upgrade", created_at=NOW, from_version=3, to_version=2, by="upgrade",
                      reason="coding dropped 7%")

CASES: list[tuple[str, list[EntryBase], bool, str]] = [
    ("every step ran", ALL_OK, True, ""),
    ("benchmarks disabled on purpose", [*ALL_OK[:1], event("benchmark_pre", "skipped", skip=SkipReason.DISABLED),
                                        ALL_OK[2]], True, ""),
    ("a step not implemented", [*ALL_OK[:1], event("benchmark_pre", "skipped", skip=SkipReason.NOT_IMPLEMENTED,
                                                    reason="not implemented yet"), ALL_OK[2]], False,
     "benchmark_pre did not run"),
    ("a failed step", [event("catalog_sync", "failed", reason="boom"), *ALL_OK[1:]], False, "catalog_sync failed"),
    ("a step that never finished", [event("catalog_sync", "started"), *ALL_OK[1:]], False, "did not finish"),
    ("a failure resumed successfully", [event("catalog_sync", "failed"), *ALL_OK[1:],
                                        event("catalog_sync", "succeeded", run=2)], True, ""),
    ("a critical regression", [*ALL_OK, REGRESSION], False, "critical regression of m"),
    ("an alert is not critical", [*ALL_OK, ALERT], True, ""),
    ("a rollback", [*ALL_OK, ROLLBACK], False, "rolled back"),
]


@pytest.mark.parametrize(("name", "entries", "safe", "reason"), CASES, ids=[c[0] for c in CASES])
def test_safe_rule(name: str, entries: list[EntryBase], safe: bool, reason: str) -> None:
    result = assess(entries, STEPS)
    assert result.safe is safe
    if reason:
        assert any(reason in r for r in result.reasons), result.reasons


def test_pending_step_is_not_judged() -> None:
    assert assess(ALL_OK[:2], STEPS, pending=["report"]).safe
