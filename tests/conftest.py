"""Shared fixtures: a fakeredis runtime for unit tests, and a real Redis database for integration tests.

Integration tests use their own database (``IMPROVE_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/15``):
it must be empty when the session starts (we refuse to touch anyone's data), and it is flushed after each test.
Without a reachable Redis they skip, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
import redis

from blackboard.keys import Keys
from workers.connection import Connections, from_url
from workers.runtime import Runtime
from workers.settings import Settings

TEST_REDIS_URL = os.environ.get("IMPROVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parent.parent
NO_UPSTREAM = "http://127.0.0.1:9/api/v1"  # nothing listens there: tests never reach the internet
NO_HUB = "http://127.0.0.1:9"
NO_ARXIV = "http://127.0.0.1:9/api/query"
NO_FEED = "http://127.0.0.1:9/feed.xml"
os.environ["HF_ENDPOINT"] = NO_HUB  # huggingface_hub reads it once, at import
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
        size = client.dbsize()
    except redis.RedisError as exc:
        _unavailable(f"no Redis server at {TEST_REDIS_URL} ({exc}); set IMPROVE_TEST_REDIS_URL or start redis-server")
        raise
    finally:
        client.close()
    if size:
        pytest.fail(f"{TEST_REDIS_URL} holds {size} keys; integration tests need an empty database of their own "
                    "(set IMPROVE_TEST_REDIS_URL to an empty one)", pytrace=False)
    return TEST_REDIS_URL


@pytest.fixture
def real_redis(redis_url: str) -> Iterator[Connections]:
    connections = from_url(redis_url)
    yield connections
    connections.board.flushdb()
    connections.close()


@pytest.fixture
def redis_server_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("no redis-server on the PATH")
    assert binary is not None
    return binary


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"state_dir": tmp_path / "state", "report_dir": tmp_path / "reports",
                                 "key_prefix": f"test:{uuid.uuid4().hex[:8]}:", "lease_seconds": 2.0,
                                 "openrouter_base_url": NO_UPSTREAM, "hf_endpoint": NO_HUB, "http_attempts": 1,
                                 "arxiv_api_url": NO_ARXIV, "research_feeds": [NO_FEED], "arxiv_delay": 0.0,
                                 "research_dir": tmp_path / "research"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def fake_runtime(tmp_path: Path) -> Iterator[Runtime]:
    server = fakeredis.FakeServer()
    connections = Connections(rq=fakeredis.FakeRedis(server=server),
                              board=fakeredis.FakeRedis(server=server, decode_responses=True), description="fake")
    yield Runtime(make_settings(tmp_path, now="2026-11-22T03:00:00Z"), connections)


@pytest.fixture
def fake_board_client() -> redis.Redis:
    return fakeredis.FakeRedis(decode_responses=True)


@pytest.fixture
def keys() -> Keys:
    return Keys(f"test:{uuid.uuid4().hex[:8]}:")
