"""The planner and the upgrade agent on a real Redis: a catalog change is proposed, applied automatically under a
user's rule, verified by a benchmark and rolled back; approvals from the command line; racing and killed
upgraders; the same cycle planned twice."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.risk import DEFAULT_RULE_DATA
from blackboard.entries import Applied, Proposal, ProposalStatus, Regression, RolledBack
from blackboard.live_config import LiveConfig, ModelSpec, Route
from tests.conftest import make_settings
from workers.conductor import Conductor
from workers.configuration import store_of, upgrade_results
from workers.connection import from_url
from workers.model_fake import FakeModels, Profile
from workers.planning import plan_cycle
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer
from workers.trigger import wanted_cycle
from workers.upgrade import upgrade

from .conftest import Cluster, last_json

pytestmark = pytest.mark.integration
OLD, NEW, SPARE = "lab/old-1", "lab/new-2", "lab/spare-3"
LOW_REPLACEMENTS = [{"when": {"kind": "model_removed"}, "risk": "LOW",
                     "reason": "our policy: replace a removed model automatically"}, *DEFAULT_RULE_DATA]


@pytest.fixture
def models() -> Iterator[str]:
    fake = FakeModels({OLD: Profile(default_accuracy=0.9, latency=0.0, flaky=0.0),
                       NEW: Profile(default_accuracy=0.9, accuracy={"coding": 0.3}, latency=0.0, flaky=0.0)})
    with LoopbackServer({}, fake.handle) as server:
        yield server.url + "/v1"


def runtime_for(redis_url: str, tmp_path: Path, prefix: str, **overrides: Any) -> Runtime:
    settings = make_settings(tmp_path, redis_url=redis_url, key_prefix=prefix, now="2026-11-22T03:00:00Z",
                             **overrides)
    return Runtime(settings, from_url(redis_url))


def test_a_removed_model_is_replaced_automatically_then_rolled_back_when_verification_fails(
        real_redis: Any, redis_url: str, tmp_path: Path, models: str) -> None:
    runtime = runtime_for(redis_url, tmp_path, "itest:path:", routing={"coding": [OLD, NEW]}, bench_base_url=models,
                          bench_categories=["coding", "math"], risk_rules=LOW_REPLACEMENTS, bench_attempts=1,
                          step_overrides={"catalog_sync": "tests.fixture_steps:removal",
                                          "research_scan": "tests.fixture_steps:sleeper"})
    os.environ.update(FIXTURE_REMOVED=OLD, FIXTURE_SLEEP="0")
    try:
        outcome = Conductor(runtime, poll=0.02).drive(wanted_cycle(runtime, "weekly"), "in-process", timeout=120)
    finally:
        for name in ("FIXTURE_REMOVED", "FIXTURE_SLEEP"):
            os.environ.pop(name, None)
    record = outcome.record
    steps = {e.step: e for e in outcome.events if e.status.value != "started"}
    assert all(e.status.value == "succeeded" for e in steps.values()), {s: e.reason for s, e in steps.items()}
    entries = runtime.board.read_cycle(record.cycle_id)
    [proposal] = [e for e in entries if isinstance(e, Proposal) and e.change["subject"] == f"replace:{OLD}"]
    assert proposal.risk.value == "LOW" and "our policy" in proposal.risk_reason
    [applied] = [e for e in entries if isinstance(e, Applied)]
    assert applied.proposal_id == proposal.proposal_id and applied.parent_version == 1
    verdicts = [e for e in entries if isinstance(e, Regression) and e.phase == "verify"]
    assert verdicts and verdicts[0].model == NEW and verdicts[0].category == "coding"
    assert verdicts[0].severity.value == "critical" and verdicts[0].details["before_model"] == OLD
    [rolled] = [e for e in entries if isinstance(e, RolledBack)]
    assert rolled.proposal_id == proposal.proposal_id and verdicts[0].id in rolled.evidence
    store = store_of(runtime)
    versions = store.history()
    assert [v.version for v in versions] == [3, 2, 1]
    assert versions[0].config.routing == versions[2].config.routing  # the route is back
    assert versions[1].config.routing["coding"].primary == NEW
    assert runtime.proposals.get(proposal.proposal_id).status == ProposalStatus.ROLLED_BACK  # type: ignore[union-attr]
    assert record.safe is False and any("rolled back" in reason for reason in record.safety_reasons)
    exported = json.loads(runtime.settings.export_path.read_text())
    assert exported["version"] == 3 and exported["config"]["routing"]["coding"]["primary"] == OLD
    assert steps["verify"].summary["rolled_back"] == [proposal.proposal_id]
    [result] = upgrade_results(runtime, versions[1])  # the history shows the upgrade with its benchmark results
    assert (result["category"], result["before"], result["after"]) == ("coding", OLD, NEW)
    assert result["before_score"] > 0.7 > 0.5 > result["after_score"]
    runtime.close()


def seeded(runtime: Runtime) -> None:
    config = LiveConfig(models={m: ModelSpec() for m in (OLD, NEW, SPARE)},
                        routing={"coding": Route(primary=OLD, fallbacks=(NEW,))})
    store_of(runtime).seed(config, by="test")


def post_removal(runtime: Runtime, cycle_id: str, model: str) -> None:
    from blackboard.entries import CatalogChange

    runtime.board.post(CatalogChange(cycle_id=cycle_id, agent="catalog", created_at=runtime.clock.now(),
                                     source="openrouter", model_id=model, change="removed"))


def test_the_same_cycle_planned_twice_proposes_nothing_twice(real_redis: Any, redis_url: str,
                                                             tmp_path: Path) -> None:
    runtime = runtime_for(redis_url, tmp_path, "itest:twice:")
    seeded(runtime)
    post_removal(runtime, "2026-W47", OLD)
    post_removal(runtime, "2026-W47", SPARE)
    first = plan_cycle(runtime, "2026-W47")
    second = plan_cycle(runtime, "2026-W47")
    assert [p.proposal_id for p in first.proposals] == [p.proposal_id for p in second.proposals]
    assert sorted(second.unchanged) == sorted(p.proposal_id for p in first.proposals)
    assert runtime.board.count("proposal") == len(first.proposals)
    gated = runtime.proposals.with_status(ProposalStatus.PENDING)
    assert {s.proposal_id for s in gated} == set(first.gated)  # the routed removal waits for a person
    assert len(runtime.board.read_cycle("2026-W47", kinds=["decision"])) == len(first.gated) + len(
        first.auto_approved)
    runtime.close()


def test_approve_and_reject_from_the_command_line(cluster: Cluster, redis_url: str, tmp_path: Path) -> None:
    runtime = runtime_for(redis_url, tmp_path, cluster.prefix)
    seeded(runtime)
    post_removal(runtime, "2026-W47", OLD)
    planned = plan_cycle(runtime, "2026-W47")
    [gated] = planned.gated
    listed = last_json(cluster.improve("proposals", "--status", "pending", "--json").stdout)["proposals"]
    assert [p["id"] for p in listed] == [gated] and listed[0]["risk"] == "MEDIUM" and listed[0]["evidence"]
    approved = cluster.improve("approve", gated, "--by", "alice", "--note", "ok", "--apply-now", "--json")
    data = last_json(approved.stdout)
    assert data == {"id": gated, "status": "applied", "by": "alice", "config_version": 2}, approved.stderr
    again = cluster.improve("approve", gated, "--by", "bob", "--json")
    assert again.returncode == 2 and "applied" in again.stderr
    history = last_json(cluster.improve("config", "history", "--json").stdout)["versions"]
    assert history[0]["by"] == "alice" and history[0]["proposal_id"] == gated and history[0]["parent"] == 1
    diff = last_json(cluster.improve("config", "diff", "1", "2", "--json").stdout)["changes"]
    assert any(c["path"].startswith("routing.coding") for c in diff)
    post_removal(runtime, "2026-W48", NEW)
    later = plan_cycle(runtime, "2026-W48")
    rejected = cluster.improve("reject", later.gated[0], "--by", "carol", "--reason", "not now", "--json")
    assert last_json(rejected.stdout)["status"] == "rejected"
    replanned = plan_cycle(runtime, "2026-W48")
    assert runtime.proposals.get(later.gated[0]).status == ProposalStatus.REJECTED  # type: ignore[union-attr]
    assert later.gated[0] not in replanned.gated  # a rejected change stays rejected
    back = last_json(cluster.improve("rollback", "--to", "1", "--by", "alice", "--json").stdout)
    assert back["config_version"] == 3 and back["version"] == 1
    shown = last_json(cluster.improve("config", "show", "--json").stdout)
    assert shown["version"] == 3 and shown["config"]["routing"]["coding"]["primary"] == OLD
    runtime.close()


def _upgrade_in_process(redis_url: str, prefix: str, tmp: str, started: Any, ready: Any = None) -> None:
    runtime = runtime_for(redis_url, Path(tmp), prefix)
    started.wait()
    if ready is not None:
        ready.set()  # imports and connections are done: what follows is the apply itself
    upgrade(runtime, "2026-W47")
    runtime.close()


def test_two_upgraders_racing_for_one_proposal_apply_it_once(real_redis: Any, redis_url: str,
                                                             tmp_path: Path) -> None:
    runtime = runtime_for(redis_url, tmp_path, "itest:race:")
    seeded(runtime)
    post_removal(runtime, "2026-W47", OLD)
    [gated] = plan_cycle(runtime, "2026-W47").gated
    runtime.proposals.move(gated, ProposalStatus.APPROVED, "alice", runtime.clock.now())
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    racers = [context.Process(target=_upgrade_in_process, args=(redis_url, "itest:race:", str(tmp_path), go))
              for _ in range(2)]
    for racer in racers:
        racer.start()
    go.set()
    for racer in racers:
        racer.join(60)
        assert racer.exitcode == 0
    applied = [e for e in runtime.board.read_cycle("2026-W47") if isinstance(e, Applied)]
    assert len(applied) == 1 and [v.version for v in store_of(runtime).history()] == [2, 1]
    assert runtime.proposals.get(gated).status == ProposalStatus.APPLIED  # type: ignore[union-attr]
    runtime.close()


def test_an_upgrader_killed_mid_apply_leaves_the_config_old_or_new(real_redis: Any, redis_url: str,
                                                                   tmp_path: Path) -> None:
    """Kill an upgrader at many moments of its apply (each time on a fresh store): the configuration is the old
    version or the new one, never half; the next upgrade finishes the job and applies it exactly once."""
    context = multiprocessing.get_context("fork")
    seen: dict[tuple[int, str], int] = {}
    for attempt in range(16):
        prefix = f"itest:kill{attempt}:"
        runtime = runtime_for(redis_url, tmp_path, prefix)
        seeded(runtime)
        post_removal(runtime, "2026-W47", OLD)
        [gated] = plan_cycle(runtime, "2026-W47").gated
        runtime.proposals.move(gated, ProposalStatus.APPROVED, "alice", runtime.clock.now())
        go, ready = context.Event(), context.Event()
        victim = context.Process(target=_upgrade_in_process, args=(redis_url, prefix, str(tmp_path), go, ready))
        victim.start()
        go.set()
        assert ready.wait(30)
        time.sleep(attempt * 0.0008)
        if victim.pid is not None and victim.is_alive():
            os.kill(victim.pid, signal.SIGKILL)
        victim.join(30)
        store = store_of(runtime)
        current = store.current()
        state = runtime.proposals.get(gated)
        assert current is not None and state is not None and current.version in (1, 2)  # old or new, never half
        if current.version == 2:
            assert current.config.routing["coding"].primary == NEW and current.parent == 1
        else:
            assert current.config.routing["coding"].primary == OLD and state.status == ProposalStatus.APPROVED
        seen[(current.version, state.status.value)] = seen.get((current.version, state.status.value), 0) + 1
        runtime.connections.board.delete(runtime.keys.upgrade_lock())  # a killed holder's lock would expire anyway
        upgrade(runtime, "2026-W47")  # the next upgrade finishes what a killed one left
        assert runtime.proposals.get(gated).status == ProposalStatus.APPLIED  # type: ignore[union-attr]
        assert [v.version for v in store.history()] == [2, 1]
        assert len([e for e in runtime.board.read_cycle("2026-W47") if isinstance(e, Applied)]) == 1
        runtime.close()
    print("states after the kills (version, status): count", seen)
