"""A person's decision on a proposal (the CLI and the HTTP API both come here): recorded, and optionally applied."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blackboard.entries import Decision, ProposalStatus
from workers.configuration import export_current, proposal_entry
from workers.runtime import Runtime
from workers.upgrade import UpgradeLock, apply_proposal


def resolve(runtime: Runtime, given: str) -> str:
    """A proposal id as given, or as the weekly report shows it (characters strangers could abuse replaced)."""
    from reports.weekly import display_id

    if runtime.proposals.get(given) is not None:
        return given
    matches = {state.proposal_id for status in ProposalStatus for state in runtime.proposals.with_status(status)
               if display_id(state.proposal_id) == given}
    return matches.pop() if len(matches) == 1 else given


def decide(runtime: Runtime, proposal_id: str, by: str, note: str, approve: bool,
           apply_now: bool = False) -> dict[str, Any]:
    """Approve or reject a proposal by compare-and-set (two deciders: exactly one wins; the other gets
    TransitionError); an approval with ``apply_now`` is applied at once under the upgrade lock."""
    if not by.strip():
        raise ValueError("a decision needs the name of who decided")
    target = ProposalStatus.APPROVED if approve else ProposalStatus.REJECTED
    proposal_id = resolve(runtime, proposal_id)
    now = runtime.clock.now()
    state = runtime.proposals.move(proposal_id, target, by, now, note=note)
    entry = proposal_entry(runtime, proposal_id)
    runtime.board.post(Decision(cycle_id=state.cycle_id, agent="person", created_at=now, proposal_id=proposal_id,
                                decision="approved" if approve else "rejected", risk=state.risk, by=by,
                                reason=note[:2000], evidence=(entry.id,) if entry else ()))
    status, version = state.status.value, None
    if approve and apply_now and entry is not None:
        with UpgradeLock(runtime):
            applied = apply_proposal(runtime, state.cycle_id, entry, by)
        status, version = applied.status, applied.config_version
        export_current(runtime)
    return {"id": proposal_id, "status": status, "by": by, "config_version": version}


OPEN = (ProposalStatus.PENDING, ProposalStatus.AUTO_APPROVED, ProposalStatus.APPROVED)


def listed(runtime: Runtime, statuses: Sequence[ProposalStatus] | None = None) -> list[dict[str, Any]]:
    """Proposals in the given statuses (default: every open one) as `improve proposals --json` shows them."""
    found = []
    for state in [s for status in statuses or OPEN for s in runtime.proposals.with_status(status)]:
        entry = proposal_entry(runtime, state.proposal_id)
        found.append({"id": state.proposal_id, "title": state.title, "risk": state.risk.value,
                      "status": state.status.value, "target": entry.target if entry else None,
                      "reason": entry.reason if entry else "", "risk_reason": entry.risk_reason if entry else "",
                      "evidence": list(entry.evidence) if entry else [], "cycle_id": state.cycle_id,
                      "waiting_for": entry.change.get("waiting_for", []) if entry else [],
                      "updated_by": state.updated_by, "updated_at": state.updated_at.isoformat()})
    return found
