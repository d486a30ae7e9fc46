from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis

from blackboard.entries import ProposalStatus, Risk
from blackboard.errors import InvalidTransition, TransitionConflict, UnknownRecord
from blackboard.keys import Keys
from blackboard.proposals import ProposalBook

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
S = ProposalStatus


def check_lifecycle(book: ProposalBook) -> None:
    assert book.open("p1", Risk.MEDIUM, "Route coding to model B", "2026-W47", "planner", NOW)
    assert not book.open("p1", Risk.LOW, "again", "2026-W47", "planner", NOW)  # first record stays
    state = book.get("p1")
    assert state is not None and state.status == S.PENDING and state.risk == Risk.MEDIUM and state.version == 1
    approved = book.move("p1", S.APPROVED, "alice", NOW, expected=S.PENDING, note="looks right")
    assert approved.status == S.APPROVED and approved.updated_by == "alice" and approved.version == 2
    with pytest.raises(TransitionConflict, match="already approved"):
        book.move("p1", S.APPROVED, "bob", NOW)
    with pytest.raises(TransitionConflict, match="is approved, not pending"):
        book.move("p1", S.REJECTED, "bob", NOW, expected=S.PENDING)
    with pytest.raises(InvalidTransition):
        book.move("p1", S.PENDING, "bob", NOW, expected=S.APPLIED)
    with pytest.raises(InvalidTransition, match="cannot become rolled_back"):
        book.move("p1", S.ROLLED_BACK, "bob", NOW)
    with pytest.raises(UnknownRecord):
        book.move("nope", S.APPROVED, "bob", NOW)
    assert [p.proposal_id for p in book.with_status(S.APPROVED)] == ["p1"]
    assert book.with_status(S.PENDING) == []
    assert [h["status"] for h in book.history("p1")] == ["pending", "approved"]


def test_lifecycle_and_compare_and_set(fake_board_client: redis.Redis, keys: Keys) -> None:
    check_lifecycle(ProposalBook(fake_board_client, keys))
