"""Redis connections: a bytes client for RQ and a decoded client for the blackboard, on the same server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

# redis-py 8 defaults socket_timeout to 5 s, which breaks blocking reads; keep it above any block we issue.
BOARD_SOCKET_TIMEOUT = 30.0


@dataclass
class Connections:
    rq: redis.Redis
    board: redis.Redis
    description: str

    def close(self) -> None:
        for client in (self.rq, self.board):
            try:
                client.close()
            except redis.RedisError:
                pass


def _retry() -> Retry:
    return Retry(ExponentialBackoff(cap=2.0, base=0.1), retries=3)


def from_url(url: str, description: str = "") -> Connections:
    common: dict[str, Any] = {"health_check_interval": 30, "retry": _retry()}
    rq_client = redis.Redis.from_url(url, **common)
    board = redis.Redis.from_url(url, decode_responses=True, socket_timeout=BOARD_SOCKET_TIMEOUT, **common)
    return Connections(rq=rq_client, board=board, description=description or _describe(url))


def board_client_like(client: redis.Redis) -> redis.Redis:
    """A decoded blackboard client on the same server and database as an RQ worker's client."""
    kwargs = dict(client.connection_pool.connection_kwargs)
    kwargs.update(decode_responses=True, socket_timeout=BOARD_SOCKET_TIMEOUT)
    pool = redis.ConnectionPool(connection_class=client.connection_pool.connection_class, **kwargs)
    return redis.Redis(connection_pool=pool)


def _describe(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path or ''}"
