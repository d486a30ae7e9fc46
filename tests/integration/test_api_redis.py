"""`improve serve` as a real process on the real Redis, with real workers: trigger, follow, report, jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import Cluster, free_port, wait_until

pytestmark = pytest.mark.integration
TOKEN = "integration-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class ApiServer:
    """`improve serve` on a free loopback port, with the cluster's settings."""

    def __init__(self, cluster: Cluster, token: str | None) -> None:
        self.cluster, self.port = cluster, free_port()
        extra = {"IMPROVE_API_TOKEN": token} if token else {}
        command = [sys.executable, "-m", "workers.cli", "serve", "--port", str(self.port),
                   *([] if token else ["--insecure-no-auth"])]
        self.log = cluster.tmp_path / f"serve-{self.port}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, env=cluster.env(**extra), stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=cluster.tmp_path)
        cluster.processes.append(self.process)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        wait_until(self._answers, 30, f"improve serve to answer (log: {self.log})")

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        try:
            return self.client.get("/api/health").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> int:
        self.client.close()
        os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=15)


@pytest.fixture
def fast_cluster(cluster: Cluster) -> Cluster:
    cluster.override_steps(catalog_sync="sleeper", research_scan="sleeper", benchmark_pre="sleeper")
    cluster.env_overrides["FIXTURE_SLEEP"] = "0.1"
    return cluster


@pytest.fixture
def server(fast_cluster: Cluster) -> Iterator[ApiServer]:
    running = ApiServer(fast_cluster, TOKEN)
    yield running
    running.client.close()


def finished(server: ApiServer, cycle_id: str, headers: dict[str, str]) -> dict[str, Any] | None:
    cycles = server.client.get("/api/weekly/status", headers=headers).json()["cycles"]
    return next((c for c in cycles if c["cycle_id"] == cycle_id and c["finished_at"]), None)


def test_a_posted_run_is_run_by_the_workers_once_and_its_report_served(fast_cluster: Cluster,
                                                                       server: ApiServer) -> None:
    fast_cluster.start_workers(1)
    client = server.client
    assert client.post("/api/weekly/run").status_code == 401
    started = client.post("/api/weekly/run", headers=AUTH, json={"full": True})
    assert started.status_code == 202, started.text
    assert started.json()["action"] == "started" and started.json()["warning"] is None
    cycle_id = started.json()["cycle_id"]
    wait_until(lambda: finished(server, cycle_id, AUTH) is not None, 60, "the workers to finish the cycle")
    again = client.post("/api/weekly/run", headers=AUTH).json()
    assert again["action"] == "finished" and again["steps"] == [] and again["cycle_id"] == cycle_id
    markdown = client.get("/api/reports/latest", headers={**AUTH, "Accept": "text/markdown"})
    assert markdown.status_code == 200 and markdown.headers["x-report-source"] == "file"
    assert markdown.text.splitlines()[2].startswith("SAFE=")
    twin = client.get("/api/reports/latest", headers={**AUTH, "Accept": "application/json"}).json()
    assert twin["cycle_id"] == cycle_id
    assert server.stop() in (0, -signal.SIGTERM)  # uvicorn exits by the signal it was stopped with
    assert "Application shutdown complete" in server.log.read_text()  # the runtime was closed on the way out


def test_a_sync_job_runs_on_a_catalog_worker(fast_cluster: Cluster, server: ApiServer) -> None:
    accepted = server.client.post("/api/catalog/sync?full=1", headers=AUTH)
    assert accepted.status_code == 202 and "no worker listens on catalog" in accepted.json()["warning"]
    fast_cluster.start_worker("catalog-1", "catalog")
    job_id = accepted.json()["job_id"]

    def state() -> dict[str, Any]:
        found: dict[str, Any] = server.client.get(f"/api/jobs/{job_id}", headers=AUTH).json()
        return found

    wait_until(lambda: state()["status"] in ("finished", "failed"), 60, "the sync job")
    result = state()
    assert result["status"] == "finished", result
    assert result["result"]["cycle_id"] == "2026-W47" and result["result"]["quick"] is False
    assert result["result"]["errors"] and result["result"]["rejected"] is False  # no upstream here: a source error


def test_without_a_token_it_runs_only_when_told_to_and_on_loopback(fast_cluster: Cluster) -> None:
    refused = fast_cluster.improve("serve", "--port", str(free_port()), timeout=60)
    assert refused.returncode == 2 and "IMPROVE_API_TOKEN" in refused.stderr
    no_redis = fast_cluster.improve("serve", "--port", str(free_port()), REDIS_URL="", IMPROVE_API_TOKEN=TOKEN)
    assert no_redis.returncode == 2 and "needs REDIS_URL" in no_redis.stderr
    wide = fast_cluster.improve("serve", "--host", "0.0.0.0", "--insecure-no-auth", "--port", str(free_port()))
    assert wide.returncode == 2 and "loopback" in wide.stderr
    server = ApiServer(fast_cluster, None)
    try:
        accepted = server.client.post("/api/weekly/run", json={"full": False})
        assert accepted.status_code == 202 and accepted.json()["kind"] == "quick"
        assert "no worker listens on" in accepted.json()["warning"]
        assert server.client.get("/api/weekly/status").json()["queues"]["catalog"] == 1
    finally:
        server.stop()
    assert "insecure-no-auth" in server.log.read_text()
