"""The planner's judgement: a cycle's entries and the live config become a prioritised plan of config patches.

Pure (no Redis, no clock of its own): the same entries, config and inputs give the same plan, ids included. Each
change's id is its subject plus a hash of its patch, so proposing the same change again gives the same id and a
changed change a new one. A change already in the config is not proposed; one whose patch no longer applies is
left out with a note.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agents import grouping, rerouting
from agents.drafts import PRIORITY, Draft, Gate, Situation, listed
from agents.patches import apply_patch, touched, validate_patch
from agents.risk import CHANGE_KINDS, ChangeFacts
from blackboard.entries import CatalogChange, EntryBase, Proposal, Regression, canonical_json
from blackboard.live_config import LiveConfig

__all__ = ["Gate", "Plan", "Planned", "plan", "proposal_id"]

LIFECYCLE = ("added", "returned", "removed", "purged", "inactive")  # the latest of these is a model's state
_OBSERVED = ("upgrade_candidate", "health_changed", "drift")  # handled here or noted, never counted as skipped
_IMPLIED_KINDS = (("set_prompt", "prompt_change"), ("set_strategy", "strategy_change"),
                  ("set_route", "routing_change"))
_AT_LEAST = {"prompt_change": {"prompt_change"}, "strategy_change": {"prompt_change", "strategy_change"},
             "routing_change": {"prompt_change", "strategy_change", "routing_change", "fallback_update"}}


@dataclass(frozen=True)
class Planned:
    subject: str  # what it is about, stable across cycles: "catalog-add:qwen/qwen3.5", "route:coding"
    proposal_id: str  # subject + ":" + a short hash of the patch
    title: str  # for people, built from model ids and categories (a carried proposal keeps its own)
    target: str  # "catalog", "routing.coding", "categories.coding", ...
    facts: ChangeFacts  # what the risk rules see
    patch: tuple[dict[str, Any], ...]
    reason: str  # why, with the evidence's numbers
    evidence: tuple[str, ...]  # entry ids it rests on
    priority: int  # lower first
    models: tuple[str, ...]  # models newly routed (verification benchmarks these)
    verify: tuple[dict[str, str], ...]  # {"category", "before", "after"} per route whose primary changes
    waiting_for: tuple[str, ...] = ()  # promotion gate checks not met yet


@dataclass(frozen=True)
class Plan:
    changes: list[Planned]
    notes: list[str]  # what was looked at and not proposed, and why


def proposal_id(subject: str, patch: Sequence[Mapping[str, Any]]) -> str:
    return f"{subject}:{hashlib.sha256(canonical_json(list(patch)).encode()).hexdigest()[:12]}"


def _latest(changes: Sequence[CatalogChange]) -> list[CatalogChange]:
    """One change per (model, change, field), the newest; and per model only its newest lifecycle change."""
    newest: dict[tuple[str, str, str | None], CatalogChange] = {}
    for change in sorted(changes, key=lambda c: (c.created_at, c.id)):
        newest[(change.model_id, change.change, change.field)] = change
    state: dict[str, CatalogChange] = {}
    for change in sorted(newest.values(), key=lambda c: (c.created_at, c.id)):
        if change.change in LIFECYCLE:
            state[change.model_id] = change
    return sorted((c for c in newest.values() if c.change not in LIFECYCLE or state[c.model_id] is c),
                  key=lambda c: (c.model_id, c.change, c.field or ""))


def _observations(changes: Sequence[CatalogChange], routed: frozenset[str]) -> list[str]:
    notes = []
    for c in changes:
        if c.change == "health_changed" and c.model_id in routed:
            old, new = (c.old if isinstance(c.old, dict) else {}), (c.new if isinstance(c.new, dict) else {})
            notes.append(f"health of routed {c.model_id}: endpoints {old.get('endpoints')} -> {new.get('endpoints')}, "
                         f"uptime {old.get('uptime_last_1d')} -> {new.get('uptime_last_1d')}")
        elif c.change == "drift" and c.field == "routed_missing":
            notes.append(f"{c.model_id} is routed but missing from the {c.source} catalog")
        elif c.change == "drift" and isinstance(c.new, list):
            notes.append(f"no ranking for {', '.join(map(str, c.new))}")
    return notes


def _carried(proposal: Proposal, s: Situation) -> Draft | str:
    """Another agent's (or a person's) proposal: a concrete patch with its kind, or advice to evaluate (research).
    Its title and reason stay text; the facts come from its origin and its ops, never from its words."""
    change, by = proposal.change, f"proposal {proposal.proposal_id} from {proposal.agent}"
    from_research = proposal.agent == "research"
    patch: tuple[dict[str, Any], ...] = ()
    kind = "research"
    if "patch" in change or "kind" in change:
        stated, data = change.get("kind"), change.get("patch")
        if not isinstance(stated, str) or stated not in CHANGE_KINDS:
            return f"{by} not carried: unknown change kind {stated!r}"
        try:
            validate_patch(data)  # type: ignore[arg-type]
        except ValueError as exc:
            return f"{by} not carried: {exc}"
        patch = tuple(json.loads(json.dumps(op)) for op in data)  # type: ignore[union-attr]
        ops = {op["op"] for op in patch}
        implied = next((k for op, k in _IMPLIED_KINDS if op in ops), None)
        kind = implied if implied and stated not in _AT_LEAST[implied] else stated
    named = {op.get("model") for op in patch} | set(touched(patch)["routed_models"])
    routed = bool(named & s.routed) or any(op["op"] == "set_route" for op in patch)
    facts = ChangeFacts(kind=kind, routed=routed, from_research=from_research, reason=f"proposed by {proposal.agent}")
    return Draft(proposal.proposal_id, proposal.title[:300], proposal.target, facts, patch, proposal.reason[:2000],
                 tuple(dict.fromkeys((*proposal.evidence, proposal.id))),
                 PRIORITY["submitted" if patch else "research"])


def _verify(patch: Sequence[Mapping[str, Any]]) -> tuple[dict[str, str], ...]:
    checks = []
    for op in patch:
        before = (op["expect"] or {}).get("primary", "") if op["op"] == "set_route" else None
        if before is not None and before != op["route"]["primary"]:
            checks.append({"category": op["category"], "before": before, "after": op["route"]["primary"]})
    return tuple(checks)


def _finish(draft: Draft, config: LiveConfig) -> Planned | str | None:
    """The planned change, a note when its patch does not apply, or None when the config already holds it."""
    if draft.patch:
        try:
            if apply_patch(config, draft.patch).as_json() == config.as_json():
                return None
        except ValueError as exc:
            return f"{draft.subject} not proposed: {exc}"
    return Planned(draft.subject, proposal_id(draft.subject, draft.patch), draft.title, draft.target, draft.facts,
                   draft.patch, draft.reason, draft.evidence, draft.priority,
                   tuple(touched(draft.patch)["routed_models"]), _verify(draft.patch), draft.waiting_for)


def plan(entries: Sequence[EntryBase], config: LiveConfig, *, now: datetime, gate: Gate,
         scores: Mapping[str, Mapping[str, float]] | None = None,
         catalog: Mapping[str, Mapping[str, Any]] | None = None) -> Plan:
    """The changes a cycle's entries call for, most urgent first (then by subject), and notes on what was not
    proposed. ``scores``: model -> category -> our benchmark score ("overall" included); ``catalog``: model id ->
    its last good OpenRouter record."""
    unique = sorted({e.id: e for e in entries}.values(), key=lambda e: e.id)
    changes = _latest([e for e in unique if isinstance(e, CatalogChange)])
    regressions = [e for e in unique if isinstance(e, Regression)]
    posted = {p.proposal_id: p for p in sorted((e for e in unique if isinstance(e, Proposal) and e.agent != "planner"),
                                                key=lambda p: (p.created_at, p.id))}
    by_kind: dict[str, list[CatalogChange]] = defaultdict(list)
    for change in changes:
        by_kind[change.change].append(change)
    seen_at: dict[str, datetime] = {}
    for change in [*by_kind["added"], *by_kind["returned"], *by_kind["upgrade_candidate"]]:
        model = change.model_id if change.change != "upgrade_candidate" else str(change.new)
        seen_at[model] = min(seen_at.get(model, change.created_at), change.created_at)
    s = Situation(config, now, gate, scores or {}, catalog or {}, seen_at)
    going_changes = [c for kind in grouping.GOING for c in by_kind[kind]]
    going: dict[str, list[CatalogChange]] = defaultdict(list)
    for change in going_changes:
        going[change.model_id].append(change)
    upgrades, notes = rerouting.upgrades(by_kind["upgrade_candidate"], s, set(going))
    swaps, swap_notes = rerouting.regression_swaps(regressions, s, set(going))
    drafts = [*swaps, *upgrades, *rerouting.replacements(going, s), *grouping.retirements(going_changes, s),
              *grouping.additions([c for k in grouping.ADDED for c in by_kind[k] if c.model_id not in going], s),
              *grouping.reprices(by_kind["repriced"], s),
              *grouping.resizes([*by_kind["context_changed"], *by_kind["max_tokens_changed"]], s),
              *grouping.capability_reviews([c for k in grouping.CAPABILITIES for c in by_kind[k]], s),
              *grouping.rankings(by_kind["ranking_changed"], s)]
    notes += swap_notes + _observations(changes, s.routed)
    for proposal in posted.values():
        carried = _carried(proposal, s)
        if isinstance(carried, Draft):
            drafts.append(carried)
        else:
            notes.append(carried)
    used = {evidence for draft in drafts for evidence in draft.evidence}
    skipped = grouping.skipped_note([c for c in changes if c.id not in used and c.change not in _OBSERVED])
    notes += [skipped] if skipped else []
    planned: dict[str, Planned] = {}
    done = []
    for draft in sorted(drafts, key=lambda d: (d.priority, d.subject)):
        if draft.subject in planned:
            notes.append(f"{draft.subject}: a second change about the same subject was left out")
            continue
        finished = _finish(draft, config)
        if isinstance(finished, Planned):
            planned[draft.subject] = finished
        elif finished is None:
            done.append(draft.subject)
        else:
            notes.append(finished)
    if done:
        notes.append(f"{len(done)} change(s) already in the live config: {listed(done, 8)}")
    return Plan(list(planned.values()), sorted(set(notes)))
