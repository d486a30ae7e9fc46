"""Many workers on one Redis, as on many machines: four worker processes with their own names and queue sets run a
real weekly cycle against the sandbox's stand-in upstreams, the benchmark shared by the two benchmark workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from rq import Worker

from blackboard.keys import Keys
from blackboard.runs import BenchRuns
from workers.connection import from_url
from workers.sandbox import sandbox
from workers.settings import Settings

from .conftest import Cluster, last_json

pytestmark = pytest.mark.integration


def as_environment(overrides: dict[str, Any]) -> dict[str, str]:
    """The sandbox's settings as the environment variables a worker process reads."""
    found = {}
    for name, value in overrides.items():
        alias = Settings.model_fields[name].validation_alias
        assert isinstance(alias, str)
        if isinstance(value, list) and name.startswith("research_"):
            found[alias] = ",".join(value)
        elif isinstance(value, dict | list):
            found[alias] = json.dumps(value)
        elif hasattr(value, "get_secret_value"):
            found[alias] = value.get_secret_value()
        else:
            found[alias] = str(value)
    return found


@pytest.fixture
def world() -> Iterator[dict[str, str]]:
    with sandbox() as running:
        yield as_environment(running.settings)


def test_four_workers_with_their_own_queues_run_the_weekly_cycle(cluster: Cluster, world: dict[str, str]) -> None:
    cluster.env_overrides.update({**world, "IMPROVE_BENCH_SHARDS": "2", "IMPROVE_BENCH_CATEGORIES": "math,factual",
                                  "IMPROVE_BENCH_CHUNK": "5", "IMPROVE_BENCH_CONCURRENCY": "4",
                                  "IMPROVE_HTTP_ATTEMPTS": "2"})
    cluster.start_worker("bench-a", "benchmark")
    cluster.start_worker("bench-b", "benchmark")
    cluster.start_worker("sources", "catalog,research")
    cluster.start_worker("decisions", "planning,upgrade,report")
    cluster.wait_for_workers(4)
    client = redis.Redis.from_url(cluster.redis_url)
    assert {w.name: sorted(w.queue_names()) for w in Worker.all(connection=client)} == {
        "bench-a": ["benchmark"], "bench-b": ["benchmark"], "sources": ["catalog", "research"],
        "decisions": ["planning", "report", "upgrade"]}
    client.close()
    result = cluster.improve("run", "--mode", "workers", "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    data = last_json(result.stdout)
    assert data["mode"] == "workers"
    assert {step: s["status"] for step, s in data["steps"].items()} == {
        step: "succeeded" for step in ("catalog_sync", "research_scan", "benchmark_pre", "plan", "upgrade", "verify",
                                       "report")}, data["steps"]
    connections = from_url(cluster.redis_url)
    try:
        records = BenchRuns(connections.board, Keys(cluster.prefix)).records(f"{data['cycle_id']}:pre")
    finally:
        connections.close()
    routed = {m for chain in json.loads(world["IMPROVE_ROUTING"]).values() for m in chain}
    assert {r["model"] for r in records} == routed
    assert len(records) == len({(r["model"], r["case_id"]) for r in records})  # every case answered once
    assert len({r["worker"] for r in records}) == 2  # both benchmark workers shared the run
    status = last_json(cluster.improve("status", "--json").stdout)
    assert status["cycles"][0]["cycle_id"] == data["cycle_id"] and len(status["workers"]) == 4
