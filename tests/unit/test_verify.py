"""What verification looks at: every change applied in the cycle, whichever cycle proposed it."""

from __future__ import annotations

from blackboard.entries import Applied, Proposal, Risk
from workers.bench_run import changes_to_verify
from workers.runtime import Runtime


def test_a_change_proposed_last_week_and_applied_this_week_is_verified(fake_runtime: Runtime) -> None:
    now = fake_runtime.clock.now()
    check = {"category": "coding", "before": "lab/old-1", "after": "lab/new-2"}
    proposal = Proposal(cycle_id="2026-W46", agent="planner", created_at=now, proposal_id="route:coding:abc",
                        title="Route coding to lab/new-2", risk=Risk.MEDIUM, risk_reason="a routing change",
                        target="routing.coding", change={"verify": [check], "patch": []})
    fake_runtime.board.post(proposal)
    fake_runtime.board.post(Applied(cycle_id="2026-W47", agent="upgrade", created_at=now,
                                    proposal_id=proposal.proposal_id, config_version=2, parent_version=1,
                                    by="alice", evidence=(proposal.id,)))
    [(applied, pair)] = changes_to_verify(fake_runtime, "2026-W47")
    assert applied.proposal_id == proposal.proposal_id and pair == check
    assert changes_to_verify(fake_runtime, "2026-W46") == []  # nothing was applied in the proposing week
