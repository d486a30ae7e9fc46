"""The blackboard store and status records on a real Redis, including concurrent posters and approvers."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import redis

from blackboard.clock import Clock
from blackboard.entries import ProposalStatus, Risk
from blackboard.errors import StoreUnavailable, TransitionError
from blackboard.keys import Keys
from blackboard.proposals import ProposalBook
from blackboard.store import Blackboard
from tests.unit import test_proposals, test_store
from workers.connection import Connections

from .conftest import free_port

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


@pytest.fixture
def board(real_redis: Connections) -> Blackboard:
    return Blackboard(real_redis.board, Keys(f"itest:{uuid.uuid4().hex[:8]}:"), Clock(NOW))


def test_posting_is_idempotent(board: Blackboard) -> None:
    test_store.check_posting_is_idempotent(board)


def test_batches_keep_order_across_kinds_cycles_and_chunks(board: Blackboard) -> None:
    test_store.check_batches_keep_order_across_kinds_cycles_and_chunks(board)


def test_unreachable_redis_is_store_unavailable(redis_url: str) -> None:
    dead = Blackboard(redis.Redis(port=free_port(), socket_connect_timeout=1, decode_responses=True))
    with pytest.raises(StoreUnavailable):
        dead.post(test_store.finding(1))
    with pytest.raises(StoreUnavailable):
        dead.post_many([test_store.finding(i) for i in range(3)])


def test_reads_by_cycle_and_window(board: Blackboard) -> None:
    test_store.check_reads_by_cycle_and_window(board)


def test_group_redelivers_until_acked(board: Blackboard) -> None:
    test_store.check_group_redelivers_until_acked(board)


def test_poison_goes_to_dead_letters(board: Blackboard) -> None:
    test_store.check_poison_goes_to_dead_letters(board, board.client)


def test_trim_never_drops_unacked(board: Blackboard) -> None:
    test_store.check_trim_never_drops_unacked(board, board.client)


def test_proposal_lifecycle(board: Blackboard) -> None:
    test_proposals.check_lifecycle(ProposalBook(board.client, board.keys))


def test_racing_posters_store_each_fact_once(board: Blackboard) -> None:
    entries = [test_store.finding(i) for i in range(200)]
    start = threading.Barrier(8)

    def post_all(_: int) -> int:
        start.wait()
        return sum(p.created for p in board.post_many(entries, batch=50))

    with ThreadPoolExecutor(8) as pool:
        created = sum(pool.map(post_all, range(8)))
    assert created == 200 and board.count("finding") == 200
    assert len(board.read_cycle("2026-W47")) == 200


def test_racing_approvers_only_one_wins(board: Blackboard) -> None:
    book = ProposalBook(board.client, board.keys)
    book.open("p1", Risk.HIGH, "New prompt template for coding", "2026-W47", "planner", NOW)
    start = threading.Barrier(10)

    def approve(index: int) -> bool:
        start.wait()
        try:
            book.move("p1", ProposalStatus.APPROVED, f"person-{index}", NOW, expected=ProposalStatus.PENDING)
            return True
        except TransitionError:
            return False

    with ThreadPoolExecutor(10) as pool:
        wins = list(pool.map(approve, range(10)))
    assert sum(wins) == 1
    state = book.get("p1")
    assert state is not None and state.version == 2 and len(book.history("p1")) == 2


def test_blocking_read_cannot_outlast_the_socket_timeout(board: Blackboard) -> None:
    with pytest.raises(ValueError, match="socket_timeout"):
        board.read_group("finding", "planner", "w", block_ms=60_000)
    assert board.read_group("finding", "planner", "w", block_ms=100) == []  # a short block just returns
