"""The GitHub issue flow and the Slack webhook, against local HTTP servers that behave like the real APIs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from reports.publishers.github import GitHubIssues, publish_issue
from reports.publishers.slack import post_status
from workers.github_fake import FakeGitHub, rate_limited, server_error
from workers.sandbox import LoopbackServer, Request, Response

REPO = "acme/llm-router"


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub(token="ghp_test_token_123")
    with LoopbackServer({}, fake.handle) as server:
        yield fake, server.url


def client(url: str, naps: list[float] | None = None, **overrides: object) -> GitHubIssues:
    values: dict[str, object] = {"api_url": url, "token": "ghp_test_token_123", "repository": REPO, "max_wait": 5.0,
                                 "sleep": (naps.append if naps is not None else (lambda _: None))}
    values.update(overrides)
    return GitHubIssues(**values)  # type: ignore[arg-type]


def test_open_update_comment_and_close(github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    issues = client(url)
    first = publish_issue(issues, "2026-W46", False, "report of W46", "step plan failed")
    assert (first.action, first.number) == ("created", 1)
    assert fake.issues[1]["labels"] == [{"name": "improve-unsafe"}]
    assert "improve-cycle:2026-W46" in fake.issues[1]["body"]
    again = publish_issue(issues, "2026-W46", False, "report of W46", "step plan failed")
    assert again.action == "unchanged" and fake.comments[1] == []  # same cycle, same body: nothing to do
    changed = publish_issue(issues, "2026-W46", False, "report of W46, re-rendered", "step plan failed")
    assert changed.action == "updated" and fake.comments[1] == []
    next_week = publish_issue(issues, "2026-W47", False, "report of W47", "@team please look <b>now</b>")
    assert next_week.action == "commented" and len(fake.comments[1]) == 1
    comment = fake.comments[1][0]["body"]
    assert "2026-W47" in comment and "@team" not in comment and "<b>" not in comment
    assert "report of W47" in fake.issues[1]["body"]
    assert publish_issue(issues, "2026-W47", False, "report of W47", "x").action == "unchanged"  # no 2nd comment
    safe = publish_issue(issues, "2026-W48", True, "report of W48")
    assert safe.action == "closed" and fake.issues[1]["state"] == "closed"
    assert "SAFE again" in fake.comments[1][-1]["body"]
    assert publish_issue(issues, "2026-W49", True, "report of W49").action == "none"
    assert publish_issue(issues, "2026-W50", False, "report of W50").action == "created"  # a new problem, new issue
    assert len(fake.open_issues()) == 1


def test_duplicates_are_closed_and_other_issues_left_alone(github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    issues = client(url)
    for title, labels in ((issues.title, [issues.label]), (issues.title, [issues.label]),
                          (issues.title, []), ("Another bug", [issues.label])):
        issues.request("POST", f"/repos/{REPO}/issues", json={"title": title, "body": "x", "labels": labels})
    result = publish_issue(issues, "2026-W47", False, "report", "reason")
    assert result.number == 1 and "closed duplicate #2" in result.actions
    assert {n for n, i in fake.issues.items() if i["state"] == "open"} == {1, 3, 4}


def test_rate_limit_waits_for_the_reset_when_it_is_short(github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    naps: list[float] = []
    fake.faults.append(rate_limited(reset_in=2))
    result = publish_issue(client(url, naps), "2026-W47", False, "report", "reason")
    assert result.action == "created" and len(naps) == 1 and 1 <= naps[0] <= 4


def test_rate_limit_with_a_far_reset_is_reported_not_raised(github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    fake.faults.append(rate_limited(reset_in=3600))
    result = publish_issue(client(url), "2026-W47", False, "report", "reason")
    assert result.action == "rate_limited" and "resets at" in (result.error or "")
    assert fake.issues == {}
    fake.faults.append(Response.json({"message": "secondary rate limit"}, 429, {"retry-after": "7200"}))
    assert publish_issue(client(url), "2026-W47", False, "report", "r").action == "rate_limited"


def test_server_errors_are_retried_then_reported(github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    naps: list[float] = []
    fake.faults.append(server_error())
    assert publish_issue(client(url, naps), "2026-W47", False, "report", "r").action == "created"
    assert naps == [0.5]
    fake.faults.extend([server_error()] * 3)
    failed = publish_issue(client(url), "2026-W48", False, "report", "r")
    assert failed.action == "error" and "HTTP 500" in (failed.error or "")


def test_bad_token_is_an_error_without_the_token(github: tuple[FakeGitHub, str]) -> None:
    _, url = github
    result = publish_issue(client(url, token="ghp_wrong_secret_999"), "2026-W47", False, "report", "r")
    assert result.action == "error" and "401" in (result.error or "") and "ghp_wrong" not in (result.error or "")


def test_unreachable_github_is_an_error_not_a_crash() -> None:
    result = publish_issue(client("http://127.0.0.1:9"), "2026-W47", False, "report", "r")
    assert result.action == "error" and "gave up" in (result.error or "")


def test_many_open_issues_are_paged_through(github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    issues = client(url)
    for index in range(130):
        issues.request("POST", f"/repos/{REPO}/issues", json={"title": f"noise {index}", "labels": [issues.label]})
    issues.request("POST", f"/repos/{REPO}/issues", json={"title": issues.title, "labels": [issues.label]})
    assert [i["number"] for i in issues.open_issues()] == [131]


def test_racing_publishers_open_one_issue(github: tuple[FakeGitHub, str]) -> None:
    fake, url = github
    lock = threading.Lock()
    start = threading.Barrier(4)

    @contextmanager
    def shared_lock() -> Iterator[None]:
        with lock:
            yield

    def race(_: int) -> str:
        start.wait()
        return publish_issue(client(url), "2026-W47", False, "report", "r", lock=shared_lock()).action

    threads = [threading.Thread(target=race, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.open_issues()) == 1 and len(fake.issues) == 1


def test_slack_status_line_is_escaped() -> None:
    received: list[dict[str, str]] = []

    def hook(request: Request) -> Response:
        received.append(json.loads(request.body))
        return Response(200, b"ok")

    with LoopbackServer({("POST", "/hooks/T1"): hook}) as server:
        result = post_status(f"{server.url}/hooks/T1", "2026-W47", False, "<!channel> step plan failed", "r.md")
        broken = post_status(f"{server.url}/missing", "2026-W47", True, "", "r.md")
    assert result.action == "posted" and broken.action == "error"
    text = received[0]["text"]
    assert text.startswith("improve 2026-W47: SAFE=false") and "<!channel>" not in text and "&lt;!channel&gt;" in text
