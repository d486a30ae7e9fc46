"""The store on fakeredis (the same behaviours run on a real Redis in tests/integration/test_store_redis.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from blackboard.clock import Clock
from blackboard.entries import CycleEvent, Finding
from blackboard.keys import Keys
from blackboard.store import Blackboard

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def finding(index: int, cycle: str = "2026-W47", at: datetime = NOW) -> Finding:
    return Finding(cycle_id=cycle, agent="research", created_at=at, source="arxiv", source_id=f"2611.{index:05d}",
                   title=f"Paper {index}")


def check_posting_is_idempotent(board: Blackboard) -> None:
    first = board.post(finding(1))
    again = board.post(finding(1).model_copy(update={"created_at": NOW + timedelta(minutes=5)}))
    assert first.created and not again.created
    assert again.stream_id == first.stream_id and again.id == first.id
    assert board.count("finding") == 1
    results = board.post_many([finding(i) for i in range(5)])
    assert [r.created for r in results] == [True, False, True, True, True]
    assert board.count("finding") == 5
    assert board.get(finding(3).id) == finding(3)
    assert board.get("finding-doesnotexist") is None


def check_batches_keep_order_across_kinds_cycles_and_chunks(board: Blackboard) -> None:
    events = [CycleEvent(cycle_id="2026-W47", agent="cycle", created_at=NOW, step=f"s{i}", status="started", run=1)
              for i in range(3)]
    mixed = [finding(1), events[0], finding(2, "2026-W46"), finding(1), events[1], finding(3), events[2]]
    results = board.post_many(mixed, batch=2)
    assert [r.created for r in results] == [True, True, True, False, True, True, True]
    assert results[3].stream_id == results[0].stream_id  # a duplicate inside one batch
    stored_once = list(dict.fromkeys(e.id for e in mixed if e.cycle_id == "2026-W47"))
    assert [e.id for e in board.read_cycle("2026-W47")] == stored_once
    many = [finding(10_000 + i, "2026-W48") for i in range(2600)]  # crosses script chunks and round trips
    assert sum(r.created for r in board.post_many(many, batch=1000)) == 2600
    assert [e.id for e in board.read_cycle("2026-W48")] == [e.id for e in many]


def check_reads_by_cycle_and_window(board: Blackboard) -> None:
    board.post(finding(1, "2026-W46", NOW - timedelta(days=7)))
    board.post(finding(2, "2026-W47", NOW))
    board.post(CycleEvent(cycle_id="2026-W47", agent="cycle", created_at=NOW, step="plan", status="started", run=1))
    assert [e.kind for e in board.read_cycle("2026-W47")] == ["finding", "cycle_event"]
    assert [e.kind for e in board.read_cycle("2026-W47", kinds=["cycle_event"])] == ["cycle_event"]
    window = board.read_window("finding", NOW - timedelta(days=8), NOW)
    assert [e.source_id for e in window if isinstance(e, Finding)] == ["2611.00001"]


def check_group_redelivers_until_acked(board: Blackboard) -> None:
    for i in range(3):
        board.post(finding(i))
    first = board.read_group("finding", "planner", "worker-a", count=10)
    assert len(first) == 3 and not any(d.redelivered for d in first)
    # worker-a "crashes" before acking: it gets the same entries again when it comes back
    again = board.read_group("finding", "planner", "worker-a", count=10)
    assert [d.stream_id for d in again] == [d.stream_id for d in first] and all(d.redelivered for d in again)
    # another consumer claims what a dead one left pending (idle longer than claim_idle_ms)
    claimed = board.read_group("finding", "planner", "worker-b", count=10, claim_idle_ms=0)
    assert {d.stream_id for d in claimed} == {d.stream_id for d in first}
    assert board.ack("finding", "planner", [d.stream_id for d in claimed]) == 3
    assert board.pending("finding", "planner") == 0
    assert board.read_group("finding", "planner", "worker-b") == []
    # another group still sees everything
    assert len(board.read_group("finding", "auditor", "x")) == 3


def check_poison_goes_to_dead_letters(board: Blackboard, client: redis.Redis) -> None:
    board.post(finding(1))
    client.xadd(board.keys.stream("finding"), {"id": "finding-bad", "kind": "finding", "cycle": "c", "body": "{oops"})
    delivered = board.read_group("finding", "planner", "w")
    assert len(delivered) == 1
    assert client.xlen(board.keys.dead_letters()) == 1
    board.ack("finding", "planner", [d.stream_id for d in delivered])
    assert board.pending("finding", "planner") == 0


def check_trim_never_drops_unacked(board: Blackboard, client: redis.Redis) -> None:
    for i in range(4):
        board.post(finding(i))
    later = datetime.now(UTC) + timedelta(days=400)
    delivered = board.read_group("finding", "planner", "w", count=2)
    board.ack("finding", "planner", [delivered[0].stream_id])  # one acked, one pending, two unread
    report = board.trim(timedelta(days=30), now=later)
    assert report.removed["finding"] == 1 and report.held_back["finding"] == ["planner"]
    assert board.count("finding") == 3
    assert board.post(finding(0)).created  # its dedup key went with it
    client.delete(board.keys.stream("finding"))


def test_posting_is_idempotent(fake_board_client: redis.Redis, keys: Keys) -> None:
    check_posting_is_idempotent(Blackboard(fake_board_client, keys, Clock(NOW)))


def test_batches_keep_order_across_kinds_cycles_and_chunks(fake_board_client: redis.Redis, keys: Keys) -> None:
    check_batches_keep_order_across_kinds_cycles_and_chunks(Blackboard(fake_board_client, keys, Clock(NOW)))


def test_reads_by_cycle_and_window(fake_board_client: redis.Redis, keys: Keys) -> None:
    check_reads_by_cycle_and_window(Blackboard(fake_board_client, keys, Clock(NOW)))


def test_group_redelivers_until_acked(fake_board_client: redis.Redis, keys: Keys) -> None:
    check_group_redelivers_until_acked(Blackboard(fake_board_client, keys, Clock(NOW)))


def test_poison_goes_to_dead_letters(fake_board_client: redis.Redis, keys: Keys) -> None:
    check_poison_goes_to_dead_letters(Blackboard(fake_board_client, keys, Clock(NOW)), fake_board_client)


def test_trim_never_drops_unacked(fake_board_client: redis.Redis, keys: Keys) -> None:
    check_trim_never_drops_unacked(Blackboard(fake_board_client, keys, Clock(NOW)), fake_board_client)
