"""Publishing from real cycles on a real Redis: the issue opened, commented, left alone on a re-run; racing jobs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.conftest import NO_ARXIV, NO_FEED, NO_HUB, NO_UPSTREAM
from workers.conductor import Conductor
from workers.connection import Connections, from_url
from workers.github_fake import FakeGitHub
from workers.publication import publish
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer
from workers.settings import Settings
from workers.steps import cycle_report
from workers.trigger import wanted_cycle

from .conftest import Cluster, last_json

pytestmark = pytest.mark.integration
UNSAFE = {"research_scan": "tests.fixture_steps:broken"}  # a failed step makes every week SAFE=false


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub(token="ghp_integration_token")
    with LoopbackServer({}, fake.handle) as server:
        yield fake, server.url


def runtime_for(redis_url: str, tmp_path: Path, url: str, now: str, prefix: str) -> Runtime:
    settings = Settings(redis_url=SecretStr(redis_url), key_prefix=prefix, state_dir=tmp_path / "state",  # type: ignore[arg-type]
                        report_dir=tmp_path / "reports", now=now, github_api_url=url,
                        github_token=SecretStr("ghp_integration_token"), github_repository="acme/router",
                        openrouter_base_url=NO_UPSTREAM, hf_endpoint=NO_HUB, arxiv_api_url=NO_ARXIV,
                        research_feeds=[NO_FEED], arxiv_delay=0.0, research_dir=tmp_path / "research", http_attempts=1,
                        step_overrides=UNSAFE)
    return Runtime(settings, from_url(redis_url))


def test_weekly_cycles_open_then_comment_on_one_issue(real_redis: Connections, redis_url: str, tmp_path: Path,
                                                       github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    for now in ("2026-11-15T03:00:00Z", "2026-11-22T03:00:00Z", "2026-11-22T03:00:00Z"):
        runtime = runtime_for(redis_url, tmp_path, url, now, "itest-publish:")
        Conductor(runtime, poll=0.02).drive(wanted_cycle(runtime, "weekly"), "in-process", timeout=60)
        runtime.connections.close()
    assert len(fake.issues) == 1 and fake.issues[1]["state"] == "open"
    assert [c["body"].splitlines()[0] for c in fake.comments[1]] == ["<!-- improve-cycle:2026-W47 -->"]
    assert "improve-cycle:2026-W47" in fake.issues[1]["body"] and "SAFE=false" in fake.issues[1]["body"]
    twin = (tmp_path / "reports" / "2026-11-22.json").read_text()
    assert '"action": "unchanged"' in twin  # the third run resumed the failed week: republished, nothing added


def test_racing_report_jobs_open_one_issue(real_redis: Connections, redis_url: str, tmp_path: Path,
                                           github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    first = runtime_for(redis_url, tmp_path, url, "2026-11-22T03:00:00Z", "itest-race:")
    Conductor(first, poll=0.02).drive(wanted_cycle(first, "weekly"), "in-process", timeout=60)
    fake.issues.clear()
    fake.comments.clear()
    record = first.cycles.get("2026-W47")
    assert record is not None
    start = threading.Barrier(4)
    actions: list[str] = []

    def report_job() -> None:
        runtime = runtime_for(redis_url, tmp_path, url, "2026-11-22T03:00:00Z", "itest-race:")
        report = cycle_report(runtime, record)
        start.wait()
        published = publish(runtime, record, report, "body", tmp_path / "reports" / "2026-11-22.md")
        actions.append(published["github"]["action"])
        runtime.connections.close()

    jobs = [threading.Thread(target=report_job) for _ in range(4)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    assert sorted(actions) == ["created", "unchanged", "unchanged", "unchanged"]
    assert len(fake.issues) == 1
    first.connections.close()


def test_report_publish_command(tmp_path: Path, redis_url: str, real_redis: Connections,
                                github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    cluster = Cluster(redis_url, tmp_path)
    cluster.override_steps(research_scan="broken")  # an unsafe week
    assert cluster.improve("run", "--mode", "in-process").returncode == 0  # no token: not published, no error
    env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": "ghp_integration_token", "GITHUB_REPOSITORY": "acme/router"}
    result = cluster.improve("report", "--publish", "--json", **env)
    assert result.returncode == 0, result.stderr
    data = last_json(result.stdout)
    assert data["published"]["github"]["action"] == "created" and data["published"]["github"]["number"] == 1
    assert "ghp_integration_token" not in result.stdout + result.stderr
    unconfigured = last_json(cluster.improve("report", "--publish", "--json").stdout)
    assert unconfigured["published"]["github"]["action"] == "skipped"
    assert len(fake.issues) == 1
