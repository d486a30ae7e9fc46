"""A dry run previews the week without taking anything from it: against the sandbox's upstreams, a dry run and then
the real cycle of the same week see the same catalog changes, and the real cycle alone posts findings, records
proposals, applies changes and joins the benchmark baseline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from blackboard.entries import Applied, CatalogChange, Finding, Proposal
from blackboard.runs import BenchRuns
from workers.conductor import Conductor
from workers.configuration import store_of
from workers.runtime import Runtime
from workers.sandbox import SANDBOX_ROUTING, sandbox
from workers.trigger import wanted_cycle


def at(runtime: Runtime, weeks: int, overrides: dict[str, Any]) -> Runtime:
    settings = runtime.settings.model_copy(update={**overrides, "bench_categories": ["math"],
                                                   "now": runtime.settings.now + timedelta(days=7 * weeks)})
    return Runtime(settings, runtime.connections)


def run(runtime: Runtime, dry_run: bool = False) -> str:
    outcome = Conductor(runtime, poll=0.01).drive(wanted_cycle(runtime, "weekly", dry_run=dry_run), "in-process",
                                                  timeout=120)
    assert outcome.record.finished_at is not None
    return outcome.record.cycle_id


def of(runtime: Runtime, cycle_id: str, kind: type) -> list[Any]:
    return [e for e in runtime.board.read_cycle(cycle_id) if isinstance(e, kind)]


def test_a_dry_run_takes_nothing_from_the_real_cycle(fake_runtime: Runtime) -> None:
    with sandbox() as world:
        run(at(fake_runtime, -2, world.settings))  # week 1: the baseline catalog
        world.next_week()
        world.next_week()  # week 3: additions, removals, reprices of routed models
        week = at(fake_runtime, 0, world.settings)
        version_before = store_of(week).current().version  # type: ignore[union-attr]
        dry = run(week, dry_run=True)
        assert "-dry-" in dry
        real = run(at(fake_runtime, 0, world.settings))
    dry_changes = {(c.model_id, c.change, c.field) for c in of(week, dry, CatalogChange)}
    real_changes = {(c.model_id, c.change, c.field) for c in of(week, real, CatalogChange)}
    assert dry_changes and dry_changes == real_changes  # the preview left the snapshot for the real cycle
    assert of(week, dry, Finding) == [] and of(week, real, Finding)  # findings are the real cycle's to post
    assert of(week, dry, Proposal) and of(week, dry, Applied) == []
    assert {p.proposal_id for p in of(week, dry, Proposal)} <= {p.proposal_id for p in of(week, real, Proposal)}
    assert all(week.proposals.get(p.proposal_id) is not None for p in of(week, real, Proposal))
    assert of(week, real, Applied) and store_of(week).current().version > version_before  # type: ignore[union-attr]
    runs = BenchRuns(week.connections.board, week.keys)
    model = SANDBOX_ROUTING["math"][0]
    key = runs.meta(f"{real}:pre")["baseline_key"]  # type: ignore[index]
    assert f"{dry}:pre" not in runs.history(model, key, 10) and f"{real}:pre" in runs.history(model, key, 10)
