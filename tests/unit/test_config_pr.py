"""Routing pull requests for gated changes, against the fake GitHub on loopback and a fakeredis runtime."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from pydantic import SecretStr

from blackboard.entries import CatalogChange, Proposal, ProposalStatus, Risk
from blackboard.live_config import LiveConfig, ModelSpec, Route
from reports.publishers.config_pr import branch_for, routing_file
from tests.conftest import make_settings
from workers.config_pr import open_config_prs
from workers.configuration import store_of
from workers.connection import Connections
from workers.github_fake import FakeGitHub, server_error
from workers.planning import plan_cycle
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer, Request, Response

REPO = "acme/router-config"
TOKEN = "ghp_config_token_789"
OLD, NEW, SPARE = "lab/old-1", "lab/new-2", "lab/spare-3"
CYCLE = "2026-W47"
HOSTILE = "@everyone <img src=x onerror=alert(1)> [click](javascript:x)"


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, LoopbackServer]]:
    fake = FakeGitHub(token=TOKEN)
    with LoopbackServer({}, fake.handle) as server:
        yield fake, server


def runtime_for(tmp_path: Path, url: str, **overrides: Any) -> Runtime:
    values: dict[str, Any] = {"now": "2026-11-22T03:00:00Z", "github_api_url": url,
                              "github_token": SecretStr(TOKEN), "github_config_repository": REPO}
    values.update(overrides)
    server = fakeredis.FakeServer()
    connections = Connections(rq=fakeredis.FakeRedis(server=server),
                              board=fakeredis.FakeRedis(server=server, decode_responses=True), description="fake")
    runtime = Runtime(make_settings(tmp_path, **values), connections)
    store_of(runtime).seed(LiveConfig(models={m: ModelSpec() for m in (OLD, NEW, SPARE)},
                                      routing={"coding": Route(primary=OLD, fallbacks=(NEW,)),
                                               "math": Route(primary=SPARE)}), by="test")
    return runtime


def remove(runtime: Runtime, *models: str) -> None:
    for model in models:
        runtime.board.post(CatalogChange(cycle_id=CYCLE, agent="catalog", created_at=runtime.clock.now(),
                                         source="openrouter", model_id=model, change="removed"))


def proposal(title: str = "Route coding to lab/new-2", risk: Risk = Risk.MEDIUM,
             patch: list[dict[str, Any]] | None = None, pid: str = "route:coding:0123abcd") -> Proposal:
    ops = patch if patch is not None else [{"op": "set_route", "category": "coding",
                                            "expect": {"primary": OLD, "fallbacks": [NEW]},
                                            "route": {"primary": NEW, "fallbacks": [OLD]}}]
    return Proposal(cycle_id=CYCLE, agent="planner", created_at=datetime(2026, 11, 22, 3, tzinfo=UTC),
                    proposal_id=pid, title=title, risk=risk,
                    risk_reason="routing changes wait for a person", target="routing.coding",
                    change={"patch": ops}, reason="a <b>better</b> model", evidence=("finding-1",))


def posts(fake: FakeGitHub, what: str) -> int:
    return sum(1 for method, path in fake.calls if method == "POST" and path.endswith(what))


def test_a_gated_routing_change_opens_one_pull_request_and_planning_again_opens_none(
        tmp_path: Path, github: tuple[FakeGitHub, LoopbackServer]) -> None:
    fake, server = github
    fake.repos.write(REPO, "main", "routing.json", '{"coding": {"primary": "lab/old-1"}}\n')
    runtime = runtime_for(tmp_path, server.url)
    remove(runtime, OLD, "lab/unrouted-9")
    outcome = plan_cycle(runtime, CYCLE)
    [gated] = outcome.gated
    [result] = outcome.to_json()["config_prs"]
    assert (result["proposal_id"], result["action"], result["error"]) == (gated, "created", None)
    [pull] = fake.repos.pulls.values()
    assert pull["number"] == result["number"] and pull["head"]["ref"] == branch_for(gated)
    assert branch_for(gated).startswith("improve/replace-lab-old-1-")
    written = json.loads(fake.repos.read(REPO, branch_for(gated), "routing.json") or "")
    assert written == {"coding": {"primary": NEW, "fallbacks": []}, "math": {"primary": SPARE, "fallbacks": []}}
    assert fake.repos.read(REPO, "main", "routing.json") == '{"coding": {"primary": "lab/old-1"}}\n'  # untouched
    assert f"improve approve {gated} --by YOUR_NAME" in pull["body"]
    assert f'improve reject {gated} --by YOUR_NAME --reason "..."' in pull["body"]
    assert "MEDIUM" in pull["body"] and "routing.coding.primary" in pull["body"]
    record = json.loads(str(runtime.connections.board.hget(runtime.keys.config_pulls(), gated)))
    assert (record["repository"], record["number"]) == (REPO, pull["number"])
    calls = len(fake.calls)
    again = plan_cycle(runtime, CYCLE)
    assert [(r["action"], r["number"]) for r in again.config_prs] == [("exists", pull["number"])]
    assert len(fake.repos.pulls) == 1 and len(fake.calls) == calls  # the record answers: no call at all


def test_an_open_pull_request_for_the_branch_is_found_not_duplicated(
        tmp_path: Path, github: tuple[FakeGitHub, LoopbackServer]) -> None:
    fake, server = github
    runtime = runtime_for(tmp_path, server.url)
    remove(runtime, OLD)
    first = plan_cycle(runtime, CYCLE).config_prs
    runtime.connections.board.delete(runtime.keys.config_pulls())  # the record is lost: GitHub still knows
    second = plan_cycle(runtime, CYCLE).config_prs
    assert [r["action"] for r in first + second] == ["created", "exists"]
    assert first[0]["number"] == second[0]["number"] and posts(fake, "/pulls") == 1


def test_a_hostile_title_is_inert_in_the_pull_request(tmp_path: Path,
                                                      github: tuple[FakeGitHub, LoopbackServer]) -> None:
    fake, server = github
    runtime = runtime_for(tmp_path, server.url)
    hostile = proposal(HOSTILE)
    [result] = open_config_prs(runtime, [hostile], [hostile.proposal_id])
    assert result["action"] == "created"
    pull = fake.repos.pulls[result["number"]]
    body = pull["body"]
    assert "@everyone" not in body and "<img" not in body and "<b>" not in body and "[click](javascript" not in body
    assert "&lt;img" in body and "everyone" in body
    assert "@everyone" not in pull["title"] and "everyone <img" in pull["title"]  # titles are plain text on GitHub
    assert f"improve approve {hostile.proposal_id} --by YOUR_NAME" in pull["body"]


def test_low_and_non_routing_proposals_open_nothing(tmp_path: Path,
                                                    github: tuple[FakeGitHub, LoopbackServer]) -> None:
    fake, server = github
    runtime = runtime_for(tmp_path, server.url)
    low = proposal("low", Risk.LOW, pid="low:1")
    prices = proposal("prices", Risk.HIGH, [{"op": "update_model", "model": OLD, "set": {"context_length": 9}}],
                      pid="prices:2")
    ungated = proposal("not gated this time", pid="ungated:3")
    assert open_config_prs(runtime, [low, prices, ungated], [low.proposal_id, prices.proposal_id]) == []
    remove(runtime, SPARE)  # routed in math, but with nothing to replace it: no routing patch
    plan_cycle(runtime, CYCLE)
    assert fake.calls == [] and fake.repos.pulls == {}


def test_a_server_error_is_retried(tmp_path: Path, github: tuple[FakeGitHub, LoopbackServer]) -> None:
    fake, server = github
    fake.faults.append(server_error())
    runtime = runtime_for(tmp_path, server.url)
    change = proposal()
    [result] = open_config_prs(runtime, [change], [change.proposal_id])
    assert result["action"] == "created" and len(fake.repos.pulls) == 1


def test_bad_credentials_are_reported_without_the_token(tmp_path: Path, github: tuple[FakeGitHub, LoopbackServer],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    fake, server = github
    wrong = "ghp_wrong_secret_456"
    runtime = runtime_for(tmp_path, server.url, github_token=SecretStr(wrong))
    remove(runtime, OLD)
    with caplog.at_level(logging.WARNING):
        outcome = plan_cycle(runtime, CYCLE)
    [result] = outcome.config_prs
    assert result["action"] == "error" and "401" in result["error"] and wrong not in result["error"]
    assert wrong not in caplog.text and "401" in caplog.text
    assert outcome.gated and runtime.connections.board.hlen(runtime.keys.config_pulls()) == 0


def test_no_token_or_no_repository_is_skipped_quietly(tmp_path: Path, github: tuple[FakeGitHub, LoopbackServer],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    fake, server = github
    for overrides in ({"github_token": None}, {"github_config_repository": None}):
        runtime = runtime_for(tmp_path, server.url, **overrides)
        remove(runtime, OLD)
        with caplog.at_level(logging.WARNING):
            [result] = plan_cycle(runtime, CYCLE).config_prs
        assert result["action"] == "skipped" and "GITHUB_CONFIG_REPOSITORY" in result["error"]
    assert fake.calls == [] and caplog.text == ""


def test_a_file_that_moved_after_it_was_read_is_read_again(tmp_path: Path) -> None:
    fake = FakeGitHub(token=TOKEN)
    fake.repos.write(REPO, "main", "routing.json", "{}\n")
    conflicts: list[str] = []

    def racing(request: Request) -> Response:
        if request.method == "PUT" and not conflicts:  # someone commits between our read and our write
            fake.repos.write(REPO, branch_for(change.proposal_id), "routing.json", "{ }\n")
            conflicts.append(request.path)
        return fake.handle(request)

    change = proposal()
    with LoopbackServer({}, racing) as server:
        runtime = runtime_for(tmp_path, server.url)
        [result] = open_config_prs(runtime, [change], [change.proposal_id])
    assert result["action"] == "created" and conflicts
    assert [method for method, _ in fake.calls].count("PUT") == 2  # a 409, then the write with the fresh sha
    routing = store_of(runtime).current().config.routing  # type: ignore[union-attr]
    assert fake.repos.read(REPO, branch_for(change.proposal_id), "routing.json") == routing_file(
        {**routing, "coding": Route(primary=NEW, fallbacks=(OLD,))})


def test_a_decided_proposal_has_its_pull_request_closed(tmp_path: Path,
                                                        github: tuple[FakeGitHub, LoopbackServer]) -> None:
    fake, server = github
    runtime = runtime_for(tmp_path, server.url)
    remove(runtime, OLD)
    [created] = plan_cycle(runtime, CYCLE).config_prs
    runtime.proposals.move(created["proposal_id"], ProposalStatus.REJECTED, "alice", runtime.clock.now())
    closed = plan_cycle(runtime, CYCLE).config_prs
    assert [(r["action"], r["number"]) for r in closed] == [("closed", created["number"])]
    pull = fake.repos.pulls[created["number"]]
    assert pull["state"] == "closed" and "rejected" in fake.comments[pull["number"]][0]["body"]
    assert plan_cycle(runtime, CYCLE).config_prs == []  # closed once; the rejected change is not proposed again


def test_the_fake_checks_shas_branches_and_duplicates(github: tuple[FakeGitHub, LoopbackServer]) -> None:
    import httpx

    fake, server = github
    fake.repos.write(REPO, "main", "routing.json", "{}\n")
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"})
    base = api.get(f"/repos/{REPO}/git/ref/heads/main").json()["object"]["sha"]
    assert api.post(f"/repos/{REPO}/git/refs", json={"ref": "refs/heads/b", "sha": base}).status_code == 201
    assert api.post(f"/repos/{REPO}/git/refs", json={"ref": "refs/heads/b", "sha": base}).status_code == 422
    blob = api.get(f"/repos/{REPO}/contents/routing.json", params={"ref": "b"}).json()["sha"]
    put = {"message": "m", "branch": "b", "content": "e30K"}
    assert api.put(f"/repos/{REPO}/contents/routing.json", json=put).status_code == 422  # no sha
    assert api.put(f"/repos/{REPO}/contents/routing.json", json=put | {"sha": "0" * 40}).status_code == 409
    pull = {"title": "t", "head": "acme:b", "base": "main"}
    assert api.post(f"/repos/{REPO}/pulls", json=pull).status_code == 422  # no commits between main and b
    assert api.put(f"/repos/{REPO}/contents/routing.json", json=put | {"sha": blob, "content": "W10K"}).is_success
    assert api.post(f"/repos/{REPO}/pulls", json=pull).status_code == 201
    assert api.post(f"/repos/{REPO}/pulls", json=pull).status_code == 422  # one open pull request per branch
    assert len(api.get(f"/repos/{REPO}/pulls", params={"head": "acme:b"}).json()) == 1
    assert api.get(f"/repos/{REPO}/pulls", params={"head": "acme:other"}).json() == []
    assert api.get(f"/repos/{REPO}/pulls", params={"state": "closed"}).json() == []
    assert httpx.get(f"{server.url}/repos/{REPO}/pulls").status_code == 401
    api.close()
