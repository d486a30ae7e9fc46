"""The plan step's routing pull requests: one per newly gated routing change on GITHUB_CONFIG_REPOSITORY.

A gated (MEDIUM/HIGH) proposal whose patch has a ``set_route`` op gets a pull request setting the repository's
routing file to the routing the change would leave. Each pull request opened is recorded on its proposal (a Redis
hash), so planning a cycle again opens nothing again; one whose proposal was since rejected, superseded or rolled
back is closed with a comment (an applied one stays open: merging it brings the file in line with the live
routing). Nothing here raises: every outcome, errors included, is in the returned list.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from typing import Any

from agents.patches import PatchConflict, apply_patch
from blackboard.entries import Proposal, ProposalStatus, Risk
from blackboard.live_config import LiveConfig, diff
from blackboard.redaction import redact
from reports.publishers.config_pr import PullRequestResult, RoutingChange, close_pull, open_pull
from reports.publishers.github import GitHubClient
from workers.configuration import store_of
from workers.publication import publish_lock
from workers.runtime import Runtime

logger = logging.getLogger(__name__)
S = ProposalStatus
CLOSE_WHEN = (S.REJECTED, S.SUPERSEDED, S.ROLLED_BACK)


def routing_patch(proposal: Proposal) -> list[dict[str, Any]]:
    """The proposal's patch if it alters routing (it has a ``set_route`` op), else nothing."""
    patch = proposal.change.get("patch")
    ops = [dict(op) for op in patch if isinstance(op, dict)] if isinstance(patch, list) else []
    return ops if any(op.get("op") == "set_route" for op in ops) else []


def _records(runtime: Runtime, repository: str) -> dict[str, dict[str, Any]]:
    """Pull requests opened on this repository, by proposal id."""
    found = {}
    for pid, raw in runtime.connections.board.hgetall(runtime.keys.config_pulls()).items():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("repository") == repository:
            found[str(pid)] = record
    return found


def _record(runtime: Runtime, pid: str, record: dict[str, Any]) -> None:
    runtime.connections.board.hset(runtime.keys.config_pulls(), pid, json.dumps(record, sort_keys=True))


def _change(proposal: Proposal, config: LiveConfig, ops: list[dict[str, Any]]) -> RoutingChange | str:
    """What the pull request shows, or why there is none (the patch no longer applies, or moves no route)."""
    try:
        changed = apply_patch(config, ops)
    except (PatchConflict, ValueError) as exc:
        return f"the change does not apply to the live configuration: {exc}"
    if changed.routing == config.routing:
        return "the live routing holds this change already"
    return RoutingChange(proposal.proposal_id, proposal.title, proposal.risk.value, proposal.risk_reason,
                         proposal.reason, tuple(proposal.evidence), tuple(diff(config, changed)), changed.routing)


def _sync(runtime: Runtime, client: GitHubClient, candidates: list[Proposal]) -> list[PullRequestResult]:
    settings, repo, now = runtime.settings, client.repository, runtime.clock.now().isoformat()
    records, results = _records(runtime, repo), []
    current = store_of(runtime).current()
    for proposal in candidates:
        pid = proposal.proposal_id
        if pid in records:
            results.append(PullRequestResult(pid, "exists", records[pid].get("number"), records[pid].get("url")))
            continue
        change = _change(proposal, current.config, routing_patch(proposal)) if current else "no live configuration"
        if isinstance(change, str):
            results.append(PullRequestResult(pid, "skipped", error=change))
            continue
        result = open_pull(client, change, settings.config_repository_path, settings.config_repository_base)
        if result.action in ("created", "exists") and result.number is not None:
            records[pid] = {"repository": repo, "number": result.number, "url": result.url, "opened_at": now}
            _record(runtime, pid, records[pid])
        results.append(result)
    for pid, record in sorted(records.items()):
        state = runtime.proposals.get(pid)
        if record.get("closed") or state is None or state.status not in CLOSE_WHEN:
            continue
        why = f"Proposal {pid} is {state.status.value} (by {state.updated_by}); closing this pull request."
        result = close_pull(client, pid, int(record["number"]), why)
        if result.action == "closed":
            _record(runtime, pid, {**record, "closed": True, "closed_at": now})
        results.append(result)
    return results


def open_config_prs(runtime: Runtime, proposals: Sequence[Proposal], gated: Collection[str]) -> list[dict[str, Any]]:
    """Open (or find) the pull request of each newly gated routing proposal, close those of decided ones."""
    settings = runtime.settings
    candidates = [p for p in proposals if p.proposal_id in gated and p.risk != Risk.LOW and routing_patch(p)]
    repo, token = settings.github_config_repository, settings.github_token
    if not repo or token is None:
        reason = "not configured (GITHUB_CONFIG_REPOSITORY and GITHUB_TOKEN)"
        return [PullRequestResult(p.proposal_id, "skipped", error=reason).to_dict() for p in candidates]
    if not candidates and not any(not r.get("closed") for r in _records(runtime, repo).values()):
        return []
    client = GitHubClient(settings.github_api_url, token.get_secret_value(), repo, max_wait=settings.publish_max_wait)
    try:
        with publish_lock(runtime, f"config-pr:{repo}"):  # two plan jobs never open two pull requests
            results = _sync(runtime, client, candidates)
    except Exception as exc:  # a lock held too long, Redis trouble: reported, never raised into the plan step
        error = redact(f"{type(exc).__name__}: {exc}", settings.secrets())
        results = [PullRequestResult(p.proposal_id, "error", error=error) for p in candidates]
        if not candidates:
            results = [PullRequestResult("", "error", error=error)]
    finally:
        client.close()
    for result in results:
        if result.action == "error":
            logger.warning("routing pull request for %s on %s: %s", result.proposal_id or "(none)", repo,
                           result.error)
    return [result.to_dict() for result in results]
