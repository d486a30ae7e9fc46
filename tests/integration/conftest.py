"""Helpers for integration tests: worker subprocesses, the `improve` command as a subprocess, private servers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Worker

from tests.conftest import NO_ARXIV, NO_FEED, NO_HUB, NO_UPSTREAM, REPO

pytestmark = pytest.mark.integration


class Cluster:
    """Worker subprocesses and `improve` invocations sharing one Redis, one key prefix and one temp folder."""

    def __init__(self, redis_url: str, tmp_path: Path) -> None:
        self.redis_url = redis_url
        self.tmp_path = tmp_path
        self.prefix = f"itest:{uuid.uuid4().hex[:8]}:"
        self.env_overrides: dict[str, str] = {}
        self.processes: list[subprocess.Popen[bytes]] = []

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("IMPROVE_", "FIXTURE_", "HF_", "RESEARCH_", "ARXIV_"))
                and k not in ("REDIS_URL", "CI")}
        base.update({
            "REDIS_URL": self.redis_url, "IMPROVE_KEY_PREFIX": self.prefix, "IMPROVE_LEASE_SECONDS": "2",
            "IMPROVE_STATE_DIR": str(self.tmp_path / "state"), "IMPROVE_REPORT_DIR": str(self.tmp_path / "reports"),
            "IMPROVE_NOW": "2026-11-22T03:00:00Z", "IMPROVE_CONFIG": str(self.tmp_path / "none.toml"),
            "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "OPENROUTER_BASE_URL": NO_UPSTREAM, "HF_ENDPOINT": NO_HUB,
            "ARXIV_API_URL": NO_ARXIV, "RESEARCH_FEEDS": NO_FEED, "IMPROVE_ARXIV_DELAY": "0",
            "RESEARCH_DIR": str(self.tmp_path / "research"),
            "IMPROVE_HTTP_ATTEMPTS": "1",
        })
        base.update(self.env_overrides)
        base.update(extra)
        return base

    def override_steps(self, **targets: str) -> None:
        self.env_overrides["IMPROVE_STEP_OVERRIDES"] = json.dumps(
            {step: f"tests.fixture_steps:{name}" for step, name in targets.items()})

    def start_worker(self, name: str, queues: str = "", plain_rq: bool = False) -> subprocess.Popen[bytes]:
        all_queues = "catalog,research,benchmark,planning,upgrade,report"
        if plain_rq:
            command = [sys.executable, "-m", "rq.cli", "worker", "-u", self.redis_url, "-n", name,
                       *(queues or all_queues).split(",")]
        else:
            command = [sys.executable, "-m", "workers.cli", "worker", "-v", "--name", name,
                       "--queues", queues or all_queues]
        log = open(self.tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (kept open for the process)
        process = subprocess.Popen(command, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=self.tmp_path)
        self.processes.append(process)
        return process

    def start_workers(self, count: int) -> None:
        for index in range(count):
            self.start_worker(f"w{index + 1}")
        self.wait_for_workers(count)

    def wait_for_workers(self, count: int, timeout: float = 30) -> None:
        client = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + timeout
        while len(Worker.all(connection=client)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} workers registered; logs in {self.tmp_path}")
            time.sleep(0.1)
        client.close()

    def improve(self, *args: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workers.cli", *args], env=self.env(**extra),
                              capture_output=True, text=True, timeout=timeout, cwd=self.tmp_path)

    def improve_background(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "workers.cli", *args], env=self.env(**extra),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=self.tmp_path)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def cluster(real_redis: Any, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(redis_url, tmp_path)
    yield running
    running.stop()


def last_json(output: str) -> dict[str, Any]:
    lines = output.strip().splitlines()
    assert lines, "no output"
    data: dict[str, Any] = json.loads(lines[-1])
    return data


def wait_until(condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own, with AOF, on a free port: for restarts and fault injection."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), 15, "the private redis-server")
        client.close()

    def shutdown(self) -> None:
        """A clean restart's first half: SHUTDOWN writes the AOF out, then the process exits."""
        client = redis.Redis.from_url(self.url)
        try:
            client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass
        assert self.process is not None
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def private_redis(redis_server_binary: str, tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(redis_server_binary, tmp_path / "private-redis")
    server.start()
    yield server
    server.stop()
