"""Leases: a key held with a token and a short expiry, kept alive by a heartbeat while its holder lives."""

from __future__ import annotations

import logging
import threading
import uuid

import redis

logger = logging.getLogger(__name__)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class Lease:
    """Holds ``key`` while alive; if the holder dies the key expires after ``ttl_ms`` and others may take over."""

    def __init__(self, client: redis.Redis, key: str, ttl_ms: int, holder: str = "") -> None:
        self.client = client
        self.key = key
        self.ttl_ms = ttl_ms
        self.token = f"{holder or 'holder'}:{uuid.uuid4().hex}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def force(self) -> None:
        """Take the key whoever held it (for a holder that replaces its own dead predecessor)."""
        self.client.set(self.key, self.token, px=self.ttl_ms)

    def refresh(self) -> bool:
        return bool(self.client.register_script(_REFRESH)(keys=[self.key], args=[self.token, self.ttl_ms]))

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.client.register_script(_RELEASE)(keys=[self.key], args=[self.token])
        except redis.RedisError as exc:
            logger.warning("could not release %s (it will expire): %s", self.key, exc)

    def keep_alive(self) -> None:
        """Refresh the lease in a daemon thread until ``release``."""
        def beat() -> None:
            while not self._stop.wait(self.ttl_ms / 3000):
                try:
                    if not self.refresh():
                        logger.warning("lease %s was lost", self.key)
                        return
                except redis.RedisError as exc:
                    logger.warning("lease %s heartbeat failed: %s", self.key, exc)
        self._thread = threading.Thread(target=beat, name=f"lease:{self.key}", daemon=True)
        self._thread.start()


def holder_of(client: redis.Redis, key: str) -> str | None:
    value = client.get(key)
    return str(value) if value is not None else None
