"""A person's decision: the exact id or the report's display form, recorded once (compare-and-set)."""

from __future__ import annotations

import pytest

from blackboard.entries import Decision, ProposalStatus, Risk
from blackboard.errors import TransitionError
from reports.weekly import display_id
from workers.decisions import decide, listed
from workers.runtime import Runtime

ODD = "upgrade:lab/x@1->lab/y `rm`:abc"  # model ids are written by strangers


def test_the_reports_display_form_of_an_id_is_accepted(fake_runtime: Runtime) -> None:
    now = fake_runtime.clock.now()
    fake_runtime.proposals.open(ODD, Risk.MEDIUM, "Upgrade", "2026-W47", "planner", now)
    shown = display_id(ODD)
    assert shown != ODD and "`" not in shown and "@" not in shown
    data = decide(fake_runtime, shown, "alice", "looks right", approve=True)
    assert data == {"id": ODD, "status": "approved", "by": "alice", "config_version": None}
    [decision] = [e for e in fake_runtime.board.read_cycle("2026-W47") if isinstance(e, Decision)]
    assert (decision.decision, decision.by, decision.proposal_id) == ("approved", "alice", ODD)
    with pytest.raises(TransitionError):
        decide(fake_runtime, ODD, "bob", "", approve=True)  # approved already: the second approver loses
    assert [p["status"] for p in listed(fake_runtime, [ProposalStatus.APPROVED])] == ["approved"]


def test_a_decision_needs_a_name(fake_runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="who decided"):
        decide(fake_runtime, ODD, "  ", "", approve=True)
