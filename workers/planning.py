"""The plan step: a cycle's entries become classified proposals, each with a deterministic id, and decisions.

The same change proposed again is the same proposal (its id hashes the change); a newer change about the same
subject supersedes a pending older one; a rejected proposal stays rejected until the change itself differs.
LOW changes are approved automatically within the noise budget; MEDIUM and HIGH wait for a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.planner import Gate, Planned, plan
from agents.risk import classify, load_rules, noise_budget
from blackboard.entries import Decision, Proposal, ProposalStatus, Risk
from blackboard.errors import TransitionError
from blackboard.live_config import LiveConfig
from workers.catalog_sync import snapshots
from workers.configuration import current_config, proposal_entry, scores, seed_config
from workers.runtime import Runtime

S = ProposalStatus
SOURCE = "openrouter"


@dataclass
class PlanOutcome:
    proposals: list[Proposal] = field(default_factory=list)
    auto_approved: list[str] = field(default_factory=list)
    gated: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # proposed before and still open, applied or rejected
    waiting: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    config_version: int | None = None
    dry_run: bool = False
    config_prs: list[dict[str, Any]] = field(default_factory=list)  # routing pull requests (workers.config_pr)

    def to_json(self) -> dict[str, Any]:
        by_risk = {risk.value: sum(p.risk == risk for p in self.proposals) for risk in Risk}
        return {"proposals": len(self.proposals), "by_risk": by_risk, "auto_approved": self.auto_approved,
                "gated": self.gated, "deferred": self.deferred, "unchanged": self.unchanged,
                "waiting": self.waiting, "notes": self.notes, "config_version": self.config_version,
                "dry_run": self.dry_run, "config_prs": self.config_prs}


def _proposal(runtime: Runtime, cycle_id: str, change: Planned, base_version: int | None) -> Proposal:
    classified = classify(change.facts, load_rules(runtime.settings.risk_rules))
    return Proposal(
        cycle_id=cycle_id, agent="planner", created_at=runtime.clock.now(), proposal_id=change.proposal_id,
        title=change.title[:300], risk=classified.risk, risk_reason=classified.reason, target=change.target,
        change={"kind": change.facts.kind, "subject": change.subject, "patch": list(change.patch),
                "models": list(change.models), "verify": [dict(v) for v in change.verify],
                "waiting_for": list(change.waiting_for), "priority": change.priority, "base_version": base_version,
                "rule": classified.rule_index},
        reason=change.reason[:2000], evidence=change.evidence)


def _register(runtime: Runtime, proposal: Proposal, outcome: PlanOutcome) -> ProposalStatus | None:
    """Record a proposal (or find its record); supersede a pending older proposal about the same subject."""
    book, client, keys, now = runtime.proposals, runtime.connections.board, runtime.keys, runtime.clock.now()
    pid, subject = proposal.proposal_id, str(proposal.change["subject"])
    created = book.open(pid, proposal.risk, proposal.title, proposal.cycle_id, "planner", now)
    state = book.get(pid)
    if state is None:
        return None
    if state.status in (S.PENDING, S.AUTO_APPROVED, S.APPROVED):
        client.hset(keys.planner_entries(), pid, proposal.id)  # the latest evidence and gate checks
    previous = client.hget(keys.planner_subjects(), subject)
    if previous and str(previous) != pid:
        try:
            book.move(str(previous), S.SUPERSEDED, "planner", now, expected=S.PENDING, note=f"superseded by {pid}")
        except TransitionError:
            pass  # the older one was decided already: it stands as it is
    client.hset(keys.planner_subjects(), subject, pid)
    if not created:
        outcome.unchanged.append(pid)
    return state.status


def plan_cycle(runtime: Runtime, cycle_id: str, dry_run: bool = False) -> PlanOutcome:
    settings, now = runtime.settings, runtime.clock.now()
    outcome = PlanOutcome(dry_run=dry_run)
    current = current_config(runtime, seed=not dry_run)
    config: LiveConfig = current.config if current else seed_config(runtime)
    outcome.config_version = current.version if current else None
    book = snapshots(runtime, cycle_id, preview=dry_run)  # a dry run plans against the catalog it fetched
    catalog = snapshot.models if (snapshot := book.load(SOURCE)) else {}
    health = book.health(SOURCE)
    gate = Gate(min_age_days=settings.promotion_min_age_days, min_uptime_samples=settings.promotion_min_uptime_samples,
                uptime_samples={m: int(h.get("samples") or 0) for m, h in health.items()})
    result = plan(runtime.board.read_cycle(cycle_id), config, now=now, gate=gate, scores=scores(runtime),
                  catalog=catalog)
    outcome.notes += result.notes
    outcome.proposals = [_proposal(runtime, cycle_id, change, outcome.config_version) for change in result.changes]
    runtime.board.post_many(outcome.proposals)
    if dry_run:
        outcome.gated = [p.proposal_id for p in outcome.proposals if p.risk != Risk.LOW]
        outcome.auto_approved = [p.proposal_id for p in outcome.proposals if p.risk == Risk.LOW]
        outcome.notes.append("dry run: nothing recorded, approved or applied")
        return outcome
    decisions: list[Decision] = []
    low: list[Proposal] = []
    for proposal in outcome.proposals:
        status = _register(runtime, proposal, outcome)
        waiting = proposal.change.get("waiting_for")
        if isinstance(waiting, list) and waiting:
            outcome.waiting[proposal.proposal_id] = [str(w) for w in waiting]
        if status != S.PENDING:
            continue
        if proposal.risk == Risk.LOW and not waiting:
            low.append(proposal)
        elif proposal.risk != Risk.LOW:
            outcome.gated.append(proposal.proposal_id)
            decisions.append(Decision(cycle_id=cycle_id, agent="planner", created_at=now,
                                      proposal_id=proposal.proposal_id, decision="gated", risk=proposal.risk,
                                      by="planner", reason=proposal.risk_reason, evidence=(proposal.id,)))
    low += _deferred_earlier(runtime, {p.proposal_id for p in low})
    low.sort(key=lambda p: (int(p.change.get("priority") or 0), p.proposal_id))  # type: ignore[arg-type]
    apply_now, later = noise_budget(low, settings.max_auto_changes)
    for proposal in apply_now:
        try:
            runtime.proposals.move(proposal.proposal_id, S.AUTO_APPROVED, "planner", now, expected=S.PENDING,
                                   note=proposal.risk_reason)
        except TransitionError:
            continue
        outcome.auto_approved.append(proposal.proposal_id)
        decisions.append(Decision(cycle_id=cycle_id, agent="planner", created_at=now,
                                  proposal_id=proposal.proposal_id, decision="auto_apply", risk=Risk.LOW,
                                  by="planner", reason=proposal.risk_reason, evidence=(proposal.id,)))
    outcome.deferred = [p.proposal_id for p in later]
    if later:
        outcome.notes.append(f"noise budget: {len(apply_now)} LOW change(s) applied this cycle, {len(later)} wait "
                             f"for the next (IMPROVE_MAX_AUTO_CHANGES={settings.max_auto_changes})")
    runtime.board.post_many(decisions)
    try:  # a pull request per newly gated routing change: nothing it does may fail the plan step
        from workers.config_pr import open_config_prs

        outcome.config_prs = open_config_prs(runtime, outcome.proposals, outcome.gated)
    except Exception as exc:
        outcome.notes.append(f"routing pull requests failed: {type(exc).__name__}")
    return outcome


def _deferred_earlier(runtime: Runtime, planned: set[str]) -> list[Proposal]:
    """LOW proposals of earlier cycles that the noise budget left pending: they queue before nothing new."""
    found = []
    for state in runtime.proposals.with_status(S.PENDING):
        if state.risk == Risk.LOW and state.proposal_id not in planned:
            entry = proposal_entry(runtime, state.proposal_id)
            if entry is not None and not entry.change.get("waiting_for"):
                found.append(entry)
    return found
