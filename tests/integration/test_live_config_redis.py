"""The live config on a real Redis: writers racing from separate processes, a writer SIGKILLed mid-loop, long chains
of versions and rollbacks, and the same behaviours the unit tests check on fakeredis."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
import uuid
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event
from typing import Any

import pytest
import redis

from blackboard.clock import Clock
from blackboard.keys import Keys
from blackboard.live_config import ConfigStore, StaleConfigVersion, diff
from tests.unit import test_live_config as unit
from workers.connection import Connections

pytestmark = pytest.mark.integration
SPAWN = multiprocessing.get_context("spawn")
ROUNDS = 25


def _store(url: str, prefix: str) -> ConfigStore:
    return ConfigStore(redis.Redis.from_url(url, decode_responses=True), Keys(prefix), Clock(unit.NOW))


def race_commits(url: str, prefix: str, name: str, barrier: Barrier, results: Queue[Any]) -> None:
    """In a child process: each round, commit against the version both writers saw at the start of it."""
    store = _store(url, prefix)
    for round_number in range(1, ROUNDS + 1):
        barrier.wait(timeout=30)
        config = unit.sample(prompts={"coding": f"{name} round {round_number}"})
        try:
            won = store.commit(config, expected_version=round_number, by=name, reason=f"round {round_number}")
            results.put((round_number, name, won.version))
        except StaleConfigVersion:
            results.put((round_number, name, None))


def commit_forever(url: str, prefix: str, started: Event) -> None:
    """In a child process: commit (and now and then roll back) until killed."""
    store = _store(url, prefix)
    step = 0
    while True:
        step += 1
        current = store.current()
        assert current is not None
        try:
            if step % 7 == 0 and current.version > 3:
                store.rollback(current.version - 3, by="loop", reason=f"step {step}", expected_version=current.version)
            else:
                store.commit(unit.sample(prompts={"coding": f"pid {os.getpid()} step {step}"}),
                             expected_version=current.version, by="loop", reason=f"step {step}")
        except StaleConfigVersion:
            pass
        started.set()


def check_chain(store: ConfigStore) -> int:
    """The current pointer resolves to a complete version, and every version down to 1 is there and consistent."""
    current = store.current()
    assert current is not None
    members: list[str] = store.client.zrange(store.keys.config_history(), 0, -1)  # type: ignore[assignment]
    stored = sorted(int(n) for n in members)
    assert stored == list(range(1, current.version + 1))
    assert not store.client.exists(store.keys.config_version(current.version + 1))
    child = current
    while child.parent is not None:
        parent = store.get(child.parent)
        assert parent is not None and parent.version == child.version - 1
        assert list(child.diff) == diff(parent.config, child.config)
        child = parent
    assert child.version == 1 and list(child.diff) == diff(None, child.config)
    return current.version


@pytest.fixture
def store(real_redis: Connections) -> ConfigStore:
    return ConfigStore(real_redis.board, Keys(f"itest:{uuid.uuid4().hex[:8]}:"), Clock(unit.NOW))


def test_racing_writers_exactly_one_wins(store: ConfigStore, redis_url: str) -> None:
    store.seed(unit.sample(), "setup")
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    writers = [SPAWN.Process(target=race_commits, args=(redis_url, store.keys.prefix, name, barrier, results))
               for name in ("w1", "w2")]
    for writer in writers:
        writer.start()
    outcomes = [results.get(timeout=60) for _ in range(2 * ROUNDS)]
    for writer in writers:
        writer.join(timeout=30)
        assert writer.exitcode == 0
    for round_number in range(1, ROUNDS + 1):
        versions = sorted((v for r, _, v in outcomes if r == round_number), key=lambda v: v is None)
        assert versions == [round_number + 1, None], f"round {round_number}: {versions}"
    assert check_chain(store) == ROUNDS + 1
    winners = {(r, name) for r, name, v in outcomes if v is not None}
    assert {(v.version - 1, v.by) for v in store.history(limit=ROUNDS)} == winners


def test_sigkilled_writer_leaves_a_consistent_store(store: ConfigStore, redis_url: str) -> None:
    store.seed(unit.sample(), "setup")
    seen = 1
    for _ in range(8):
        started = SPAWN.Event()
        writer = SPAWN.Process(target=commit_forever, args=(redis_url, store.keys.prefix, started), daemon=True)
        writer.start()
        assert started.wait(timeout=60), "the writer never committed"
        time.sleep(random.uniform(0.01, 0.15))
        os.kill(writer.pid or 0, signal.SIGKILL)
        writer.join(timeout=30)
        assert writer.exitcode == -signal.SIGKILL
        version = check_chain(store)
        assert version > seen
        seen = version
    after = store.commit(unit.rerouted(), expected_version=seen, by="after", reason="still writable")
    assert after.version == seen + 1


def test_long_chain_of_versions_and_rollbacks(store: ConfigStore) -> None:
    first = store.seed(unit.sample(), "setup")
    contents = {1: first.config}
    for step in range(2, 301):
        current = store.current()
        assert current is not None
        if step % 10 == 0:
            target = random.Random(step).randrange(1, current.version)
            made = store.rollback(target, by="verify", reason="regressed", expected_version=current.version)
            if made.version != current.version:
                assert made.config == contents[target] and made.reason.startswith(f"rollback from v{current.version}")
        else:
            made = store.commit(unit.sample(prompts={"coding": f"prompt {step}"}), expected_version=current.version,
                                by="upgrade", reason=f"step {step}")
        contents[made.version] = made.config
    top = check_chain(store)
    assert [v.version for v in store.history()] == list(range(top, top - 30, -1))
    assert all(store.get(n) is not None and store.get(n).config == contents[n]  # type: ignore[union-attr]
               for n in range(1, top + 1))


@pytest.mark.parametrize("check", [unit.check_seed_commit_and_stale, unit.check_identical_commit_is_a_noop,
                                   unit.check_rollback_is_a_new_version, unit.check_history_newest_first])
def test_unit_behaviours_on_real_redis(store: ConfigStore, check: Any) -> None:
    check(store)
