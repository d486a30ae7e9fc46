"""A Redis restarted mid-cycle, and the embedded default keeping what it learned between commands."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from .conftest import Cluster, PrivateRedis, last_json, wait_until

pytestmark = pytest.mark.integration


def test_redis_restart_mid_cycle_then_resume(private_redis: PrivateRedis, tmp_path: Path) -> None:
    cluster = Cluster(private_redis.url, tmp_path)
    cluster.override_steps(research_scan="findings")
    cluster.env_overrides.update(FIXTURE_FINDINGS="40", FIXTURE_DELAY="0.05")
    running = cluster.improve_background("run", "--mode", "in-process", "--json")
    client = redis.Redis.from_url(private_redis.url)
    stream = f"{cluster.prefix}stream:finding"
    wait_until(lambda: client.xlen(stream) >= 10, 30, "some findings before the restart")
    private_redis.shutdown()
    time.sleep(3)  # down long enough that the run gives up
    private_redis.start()
    acknowledged = {entry_id for entry_id, _ in client.xrange(stream)}
    assert len(acknowledged) >= 10
    _, stderr = running.communicate(timeout=60)
    if running.returncode != 0:
        assert "Redis" in stderr or "Connection" in stderr, stderr
    resumed = cluster.improve("run", "--mode", "in-process", "--json")
    assert resumed.returncode == 0, resumed.stderr
    data = last_json(resumed.stdout)
    assert data["cycle_id"] == "2026-W47" and data["finished_at"]
    assert data["steps"]["research_scan"]["status"] == "succeeded"
    after = {entry_id for entry_id, _ in client.xrange(stream)}
    assert acknowledged <= after and client.xlen(stream) == 40  # nothing lost, nothing twice
    client.close()


def test_embedded_default_remembers_between_commands(tmp_path: Path, redis_server_binary: str) -> None:
    cluster = Cluster("", tmp_path)
    env = {"REDIS_URL": ""}
    first = cluster.improve("run", "--json", **env)
    assert first.returncode == 0, first.stderr
    data = last_json(first.stdout)
    assert data["action"] == "started" and data["safe"] is True and Path(data["report_path"]).exists()
    state = tmp_path / "state"
    url = (state / "redis.url").read_text().strip()
    assert url.startswith("unix://")
    assert (state / "appendonlydir").is_dir() or (state / "appendonly.aof").exists()  # Redis 7 or 6 AOF layout
    with pytest.raises(redis.ConnectionError):  # stopped when the command ended
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    second = cluster.improve("run", "--json", **env)
    assert last_json(second.stdout)["action"] == "finished"
    status = last_json(cluster.improve("status", "--json", **env).stdout)
    assert [c["cycle_id"] for c in status["cycles"]] == ["2026-W47"] and status["cycles"][0]["safe"] is True
    report = cluster.improve("report", "--json", **env)
    assert last_json(report.stdout)["report_path"] == data["report_path"]
    demo = cluster.improve("demo", "--json", **env)
    assert demo.returncode == 0, demo.stderr
    cycles = last_json(demo.stdout)["cycles"]
    assert [c["cycle_id"] for c in cycles] == ["2026-W42", "2026-W43", "2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert all((tmp_path / c["report_path"]).exists() for c in cycles)
