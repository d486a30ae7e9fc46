"""A pull request per gated routing change, on the repository holding the routing file.

One branch per proposal (``improve/<safe id>``, from the base branch's head), one commit setting the file to the
routing the change would leave, one pull request; an open pull request for the branch means there is nothing to do.
Every call goes through the issue publisher's client (rate-limit waits, retries) and nothing here raises for GitHub
trouble: it says what happened in a PullRequestResult, with the token masked.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from blackboard.live_config import ConfigChange, Route
from blackboard.redaction import redact
from reports.markdown import inert
from reports.publishers.github import GitHubClient, GitHubError

MAX_DIFF_LINES = 60
MAX_EVIDENCE = 30
_ZWSP = "\u200b"


@dataclass(frozen=True)
class RoutingChange:
    """What one gated proposal would change, as its pull request shows it."""

    proposal_id: str
    title: str
    risk: str
    risk_reason: str
    reason: str
    evidence: tuple[str, ...]
    diff: tuple[ConfigChange, ...]
    routing: Mapping[str, Route]  # the whole routing table once the change is applied


@dataclass
class PullRequestResult:
    proposal_id: str
    action: str  # created, exists, skipped, error; closed when a decided proposal's pull request is closed
    number: int | None = None
    url: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"proposal_id": self.proposal_id, "action": self.action, "number": self.number, "url": self.url,
                "error": self.error}


def branch_for(proposal_id: str) -> str:
    """A git branch name from a proposal id: ``replace:lab/old-1:ab12`` becomes ``improve/replace-lab-old-1-ab12``."""
    safe = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "-", proposal_id))[:100].strip("-.")
    return "improve/" + (safe.removesuffix(".lock") or "proposal")


def command_id(proposal_id: str) -> str:
    """The id as the `improve approve` command takes it, fit for a code span (planner ids always are)."""
    return re.sub(r"[^A-Za-z0-9._:/+=-]", "_", proposal_id)[:200]


def routing_file(routing: Mapping[str, Route]) -> str:
    """The routing file's text: category -> {primary, fallbacks}, pretty JSON."""
    table = {category: {"primary": route.primary, "fallbacks": list(route.fallbacks)}
             for category, route in routing.items()}
    return json.dumps(table, indent=2, sort_keys=True) + "\n"


def pull_title(title: str, proposal_id: str) -> str:
    """The proposal's title on one line, no longer than GitHub shows, with @mentions broken."""
    line = re.sub(r"\s+", " ", title).strip()[:250] or f"Routing change {proposal_id}"
    return line.replace("@", "@" + _ZWSP)


def pull_body(change: RoutingChange, path: str) -> str:
    """Risk, reasons, the diff, the evidence and the exact commands; every string from outside made inert."""
    pid = command_id(change.proposal_id)
    lines = [f"<!-- improve-proposal:{pid} -->", f"**{inert(change.title, 300)}**", "",
             f"Risk: **{inert(change.risk, 20)}**: {inert(change.risk_reason, 500)}", ""]
    if change.reason:
        lines += [f"Why: {inert(change.reason, 1500)}", ""]
    lines += ["### The change", ""]
    for item in change.diff[:MAX_DIFF_LINES]:
        lines.append(f"- {inert(item.path, 200)}: {inert(json.dumps(item.old), 300)} → "
                     f"{inert(json.dumps(item.new), 300)}")
    if len(change.diff) > MAX_DIFF_LINES:
        lines.append(f"- … and {len(change.diff) - MAX_DIFF_LINES} more")
    lines += ["", f"This branch sets {inert(path, 200)} to the routing the change leaves (category → primary and "
              "fallbacks).", "", "### Evidence", ""]
    lines += [f"- {inert(entry, 120)}" for entry in change.evidence[:MAX_EVIDENCE]] or ["- none recorded"]
    if len(change.evidence) > MAX_EVIDENCE:
        lines.append(f"- … and {len(change.evidence) - MAX_EVIDENCE} more")
    lines += ["", "### Decide", "",
              "The live configuration changes when a person decides with `improve`:", "",
              f"- approve: `improve approve {pid} --by YOUR_NAME`",
              f"- reject: `improve reject {pid} --by YOUR_NAME --reason \"...\"`", "",
              "This pull request is closed when the proposal is rejected, superseded or rolled back."]
    return "\n".join(lines) + "\n"


def _ref(client: GitHubClient, branch: str) -> str | None:
    try:
        found = client.request("GET", f"/repos/{client.repository}/git/ref/heads/{quote(branch)}").json()
    except GitHubError as exc:
        if exc.status == 404:
            return None
        raise
    return str(found["object"]["sha"])


def _file(client: GitHubClient, path: str, branch: str) -> tuple[str | None, str | None]:
    """The file's text and blob sha on a branch, or (None, None) when it is not there."""
    try:
        found = client.request("GET", f"/repos/{client.repository}/contents/{quote(path)}",
                               params={"ref": branch}).json()
    except GitHubError as exc:
        if exc.status == 404:
            return None, None
        raise
    if not isinstance(found, dict) or found.get("type") != "file":
        raise GitHubError(f"{path} is not a file in {client.repository}")
    return base64.b64decode(str(found.get("content") or "")).decode("utf-8", "replace"), str(found["sha"])


def _existing(client: GitHubClient, branch: str) -> dict[str, Any] | None:
    owner = client.repository.split("/")[0]
    found = client.request("GET", f"/repos/{client.repository}/pulls",
                           params={"head": f"{owner}:{branch}", "state": "open", "per_page": 100}).json()
    return found[0] if isinstance(found, list) and found else None


def _open(client: GitHubClient, change: RoutingChange, path: str, base: str) -> PullRequestResult:
    repo, pid, branch = client.repository, change.proposal_id, branch_for(change.proposal_id)
    if (pull := _existing(client, branch)) is not None:
        return PullRequestResult(pid, "exists", int(pull["number"]), pull.get("html_url"))
    base_sha = _ref(client, base)
    if base_sha is None:
        return PullRequestResult(pid, "error", error=f"{repo} has no branch {base}")
    head_sha = _ref(client, branch)
    if head_sha is None:
        try:
            client.request("POST", f"/repos/{repo}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": base_sha})
        except GitHubError as exc:
            if exc.status != 422:  # 422: someone made the branch since; use it
                raise
        head_sha = base_sha
    content = routing_file(change.routing)
    for attempt in range(2):
        text, sha = _file(client, path, branch)
        if text == content:
            if head_sha == base_sha:
                return PullRequestResult(pid, "skipped", error=f"{path} on {base} already holds this routing")
            break
        put = {"message": f"improve: routing for proposal {command_id(pid)}", "branch": branch,
               "content": base64.b64encode(content.encode()).decode()} | ({"sha": sha} if sha else {})
        try:
            client.request("PUT", f"/repos/{repo}/contents/{quote(path)}", json=put)
            break
        except GitHubError as exc:
            if exc.status != 409 or attempt:  # 409: the file moved since we read its sha; read it again
                raise
    try:
        created = client.request("POST", f"/repos/{repo}/pulls", json={
            "title": pull_title(change.title, pid), "head": branch, "base": base,
            "body": pull_body(change, path)}).json()
    except GitHubError as exc:
        if exc.status == 422 and (pull := _existing(client, branch)) is not None:  # opened meanwhile
            return PullRequestResult(pid, "exists", int(pull["number"]), pull.get("html_url"))
        raise
    return PullRequestResult(pid, "created", int(created["number"]), created.get("html_url"))


def open_pull(client: GitHubClient, change: RoutingChange, path: str, base: str) -> PullRequestResult:
    """Open the change's pull request unless one is open for its branch. Never raises for GitHub trouble."""
    try:
        return _open(client, change, path.lstrip("/"), base)
    except (GitHubError, ValueError, KeyError, TypeError) as exc:
        return PullRequestResult(change.proposal_id, "error", error=redact(str(exc), [client.token]))


def close_pull(client: GitHubClient, proposal_id: str, number: int, why: str) -> PullRequestResult:
    """Close a proposal's pull request with a comment saying why. Never raises for GitHub trouble."""
    repo = client.repository
    try:
        client.request("POST", f"/repos/{repo}/issues/{number}/comments", json={"body": inert(why, 500)})
        closed = client.request("PATCH", f"/repos/{repo}/pulls/{number}", json={"state": "closed"}).json()
    except (GitHubError, ValueError, KeyError, TypeError) as exc:
        return PullRequestResult(proposal_id, "error", number, error=redact(str(exc), [client.token]))
    return PullRequestResult(proposal_id, "closed", number, closed.get("html_url"))
