"""The GitHub issue for unsafe weeks (one open issue, found by exact title and label), and the REST client it uses."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from blackboard.redaction import redact
from reports.markdown import inert
from reports.publishers import Publication

logger = logging.getLogger(__name__)
DEFAULT_TITLE = "improve: the weekly cycle is not SAFE"
DEFAULT_LABEL = "improve-unsafe"
MAX_PAGES = 10


class GitHubError(Exception):
    """GitHub answered with an error (after retries), or not at all; ``status`` is the HTTP status of a 4xx."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(GitHubError):
    def __init__(self, reset: datetime | None) -> None:
        super().__init__(f"GitHub rate limit reached; it resets at {reset.isoformat() if reset else 'an unknown time'}")
        self.reset = reset


def cycle_marker(cycle_id: str) -> str:
    return f"<!-- improve-cycle:{cycle_id} -->"


@dataclass
class GitHubClient:
    """A tiny client for the REST API of one repository: rate-limit waits, retries of 5xx and timeouts."""

    api_url: str
    token: str
    repository: str
    max_wait: float = 60.0
    attempts: int = 3
    timeout: float = 15.0
    sleep: Callable[[float], None] = time.sleep
    transport: httpx.BaseTransport | None = None

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            base_url=self.api_url.rstrip("/"), timeout=self.timeout, transport=self.transport,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "improve-weekly-report"})

    def close(self) -> None:
        self.client.close()

    # -- HTTP with retries --------------------------------------------------------------------------------------

    def _wait_for(self, response: httpx.Response) -> float | None:
        """Seconds to wait before retrying a rate-limited response, or None if it is not rate-limited."""
        if response.status_code not in (403, 429):
            return None
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            with contextlib.suppress(ValueError):
                return max(0.0, float(retry_after))
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = float(response.headers.get("x-ratelimit-reset", "0") or 0)
            return max(0.0, reset - time.time()) + 1.0
        return None if response.status_code == 403 else 60.0

    def _backoff(self, attempt: int) -> None:
        if attempt < self.attempts - 1:
            self.sleep(min(8.0, 0.5 * 2.0**attempt))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        last: str = ""
        for attempt in range(self.attempts):
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
                self._backoff(attempt)
                continue
            wait = self._wait_for(response)
            if wait is not None:
                reset = datetime.fromtimestamp(time.time() + wait, UTC)
                if wait > self.max_wait or attempt == self.attempts - 1:
                    raise RateLimited(reset)
                self.sleep(wait)
                continue
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                self._backoff(attempt)
                continue
            if response.status_code >= 400:
                message = response.json().get("message", "") if _is_json(response) else response.text[:200]
                raise GitHubError(f"{method} {path}: HTTP {response.status_code} {message}", response.status_code)
            return response
        raise GitHubError(f"{method} {path}: gave up after {self.attempts} attempts ({last})")

    def pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        url: str | None = path
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = self.request("GET", url, params=params if url == path else None)
            page = response.json()
            if not isinstance(page, list):
                raise GitHubError(f"GET {path}: expected a list, got {type(page).__name__}")
            items += page
            url = response.links.get("next", {}).get("url")
        return items


@dataclass
class GitHubIssues(GitHubClient):
    """The issues REST API of one repository: the bot's issue, found by exact title and label."""

    title: str = DEFAULT_TITLE
    label: str = DEFAULT_LABEL

    def open_issues(self) -> list[dict[str, Any]]:
        found = self.pages(f"/repos/{self.repository}/issues",
                           {"state": "open", "labels": self.label, "per_page": 100})
        return sorted((i for i in found if i.get("title") == self.title and "pull_request" not in i),
                      key=lambda issue: int(issue["number"]))

    def comment(self, number: int, body: str) -> None:
        self.request("POST", f"/repos/{self.repository}/issues/{number}/comments", json={"body": body})

    def close_issue(self, number: int, comment: str) -> None:
        self.comment(number, comment)
        self.request("PATCH", f"/repos/{self.repository}/issues/{number}",
                     json={"state": "closed", "state_reason": "completed"})

    def has_comment(self, number: int, marker: str) -> bool:
        comments = self.pages(f"/repos/{self.repository}/issues/{number}/comments", {"per_page": 100})
        return any(marker in str(c.get("body", "")) for c in comments)


def _is_json(response: httpx.Response) -> bool:
    return str(response.headers.get("content-type", "")).startswith("application/json")


def publish_issue(
    issues: GitHubIssues,
    cycle_id: str,
    safe: bool,
    body: str,
    first_reason: str = "",
    lock: AbstractContextManager[Any] | None = None,
) -> Publication:
    """Open, update, comment on or close the one issue for unsafe weeks. Never raises for GitHub trouble."""
    marker = cycle_marker(cycle_id)
    try:
        with lock if lock is not None else contextlib.nullcontext():
            return _publish(issues, cycle_id, safe, f"{marker}\n{body}", marker, first_reason)
    except RateLimited as exc:
        return Publication("github", "rate_limited", error=str(exc))
    except GitHubError as exc:
        return Publication("github", "error", error=redact(str(exc), [issues.token]))


def _publish(issues: GitHubIssues, cycle_id: str, safe: bool, body: str, marker: str,
             first_reason: str) -> Publication:
    open_now = issues.open_issues()
    if safe:
        for issue in open_now:
            issues.close_issue(int(issue["number"]), f"{marker}\nCycle {cycle_id} is SAFE again; closing this issue.")
        if not open_now:
            return Publication("github", "none")
        first = open_now[0]
        return Publication("github", "closed", int(first["number"]), first.get("html_url"),
                           actions=[f"closed #{i['number']}" for i in open_now])
    if not open_now:
        created = issues.request("POST", f"/repos/{issues.repository}/issues",
                                 json={"title": issues.title, "body": body, "labels": [issues.label]}).json()
        return Publication("github", "created", int(created["number"]), created.get("html_url"),
                           actions=[f"created #{created['number']}"])
    issue, duplicates = open_now[0], open_now[1:]
    number = int(issue["number"])
    actions = []
    for duplicate in duplicates:
        issues.close_issue(int(duplicate["number"]), f"Duplicate of #{number}; closing.")
        actions.append(f"closed duplicate #{duplicate['number']}")
    new_cycle = marker not in str(issue.get("body") or "") and not issues.has_comment(number, marker)
    if new_cycle:
        issues.comment(number, f"{marker}\nCycle {cycle_id} is not SAFE either: {inert(first_reason, 300)}")
        actions.append("commented")
    if issue.get("body") != body:
        issues.request("PATCH", f"/repos/{issues.repository}/issues/{number}", json={"body": body})
        actions.append("updated")
    action = "commented" if new_cycle else ("updated" if "updated" in actions else "unchanged")
    return Publication("github", action, number, issue.get("html_url"), actions=actions)
