"""Routing pull requests on a real Redis: a routed model's removal opens one pull request on the fake GitHub, and
planning the cycle again, or twice at once, opens no second one."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from blackboard.entries import CatalogChange
from blackboard.live_config import LiveConfig, ModelSpec, Route
from reports.publishers.config_pr import branch_for
from tests.conftest import make_settings
from workers.configuration import store_of
from workers.connection import from_url
from workers.github_fake import FakeGitHub
from workers.planning import PlanOutcome, plan_cycle
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer

pytestmark = pytest.mark.integration
REPO, TOKEN = "acme/router-config", "ghp_itest_token_321"
OLD, NEW = "lab/old-1", "lab/new-2"
CYCLE = "2026-W47"


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub(token=TOKEN)
    fake.repos.write(REPO, "main", "config/routing.json", json.dumps({"coding": {"primary": OLD}}) + "\n")
    with LoopbackServer({}, fake.handle) as server:
        yield fake, server.url


def runtime_for(redis_url: str, tmp_path: Path, url: str) -> Runtime:
    settings = make_settings(tmp_path, redis_url=redis_url, key_prefix="itest:config-pr:", now="2026-11-22T03:00:00Z",
                             github_api_url=url, github_token=SecretStr(TOKEN), github_config_repository=REPO,
                             config_repository_path="config/routing.json")
    return Runtime(settings, from_url(redis_url))


def seed_and_remove(runtime: Runtime) -> None:
    store_of(runtime).seed(LiveConfig(models={m: ModelSpec() for m in (OLD, NEW)},
                                      routing={"coding": Route(primary=OLD, fallbacks=(NEW,))}), by="test")
    runtime.board.post(CatalogChange(cycle_id=CYCLE, agent="catalog", created_at=runtime.clock.now(),
                                     source="openrouter", model_id=OLD, change="removed"))


def test_a_routed_removal_opens_one_pull_request_even_when_planned_twice(
        real_redis: Any, redis_url: str, tmp_path: Path, github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    runtime = runtime_for(redis_url, tmp_path, url)
    seed_and_remove(runtime)
    first = plan_cycle(runtime, CYCLE)
    [gated] = first.gated
    assert [(r["proposal_id"], r["action"]) for r in first.config_prs] == [(gated, "created")]
    [pull] = fake.repos.pulls.values()
    assert pull["head"]["ref"] == branch_for(gated) and pull["base"]["ref"] == "main"
    assert json.loads(fake.repos.read(REPO, branch_for(gated), "config/routing.json") or "") == {
        "coding": {"primary": NEW, "fallbacks": []}}
    second = plan_cycle(runtime, CYCLE)
    assert [(r["action"], r["number"]) for r in second.config_prs] == [("exists", pull["number"])]
    assert len(fake.repos.pulls) == 1
    stored = real_redis.board.hget(runtime.keys.config_pulls(), gated)
    assert json.loads(stored)["number"] == pull["number"]
    runtime.close()


def test_two_planners_at_once_open_one_pull_request(real_redis: Any, redis_url: str, tmp_path: Path,
                                                    github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    runtimes = [runtime_for(redis_url, tmp_path / str(n), url) for n in range(2)]
    seed_and_remove(runtimes[0])
    outcomes: list[PlanOutcome] = []
    threads = [threading.Thread(target=lambda r=runtime: outcomes.append(plan_cycle(r, CYCLE))) for runtime in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 2
    actions = sorted(r["action"] for outcome in outcomes for r in outcome.config_prs)
    assert actions == ["created", "exists"] and len(fake.repos.pulls) == 1
    for runtime in runtimes:
        runtime.close()
