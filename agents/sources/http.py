"""Fetching JSON from an upstream, carefully: retries, Retry-After, a body size cap, and clear errors.

* SourceFailure            the upstream could not give us usable data (after retries)
  error_type: timeout, connection, http_<status>, rate_limited, too_large, malformed
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from blackboard.redaction import redact

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class SourceFailure(Exception):
    def __init__(self, source: str, error_type: str, message: str, status_code: int | None = None,
                 url: str | None = None) -> None:
        super().__init__(f"{source}: {error_type}: {message}")
        self.source, self.error_type, self.message = source, error_type, message
        self.status_code, self.url = status_code, url


def retry_after(response: httpx.Response) -> float | None:
    """The seconds a ``Retry-After`` header asks for (a number or an HTTP date), or None without a usable one."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, float(parsedate_to_datetime(value).timestamp()) - time.time())
        except (TypeError, ValueError):
            return None


@dataclass
class Fetcher:
    """GETs JSON with capped retries; 429 honours Retry-After (up to ``max_wait``), 5xx and timeouts back off."""

    source: str
    client: httpx.Client
    attempts: int = 4
    max_wait: float = 60.0
    max_bytes: int = DEFAULT_MAX_BYTES
    sleep: Callable[[float], None] = time.sleep
    secrets: list[str] = field(default_factory=list)

    def _fail(self, error_type: str, message: str, status: int | None, url: str) -> SourceFailure:
        return SourceFailure(self.source, error_type, redact(message, self.secrets)[:500], status,
                             redact(url, self.secrets))

    def _backoff(self, attempt: int) -> None:
        """Wait before the next attempt (never after the last one: the caller is about to give up)."""
        if attempt < self.attempts - 1:
            self.sleep(min(30.0, 0.5 * 2.0**attempt))

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        wait = retry_after(response)
        return wait if wait is not None else min(30.0, 2.0 * 2.0**attempt)

    def _read(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise self._fail("too_large", f"body of {declared} bytes exceeds {self.max_bytes}", response.status_code,
                             url)
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise self._fail("too_large", f"body exceeds {self.max_bytes} bytes", response.status_code, url)
            chunks.append(chunk)
        return b"".join(chunks)

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        last: SourceFailure | None = None
        for attempt in range(self.attempts):
            try:
                with self.client.stream("GET", url, params=params) as response:
                    if response.status_code == 429:
                        wait = self._retry_after(response, attempt)
                        last = self._fail("rate_limited", f"HTTP 429, retry after {wait:.0f}s", 429, url)
                        if wait > self.max_wait:
                            raise last
                        self.sleep(wait)
                        continue
                    if response.status_code >= 500:
                        last = self._fail(f"http_{response.status_code}", f"HTTP {response.status_code}",
                                          response.status_code, url)
                        self._backoff(attempt)
                        continue
                    if response.status_code >= 400:
                        raise self._fail(f"http_{response.status_code}", f"HTTP {response.status_code}",
                                         response.status_code, url)
                    body = self._read(response, url)
            except httpx.TimeoutException as exc:
                last = self._fail("timeout", f"{type(exc).__name__}: {exc}", None, url)
                self._backoff(attempt)
                continue
            except httpx.TransportError as exc:
                last = self._fail("connection", f"{type(exc).__name__}: {exc}", None, url)
                self._backoff(attempt)
                continue
            try:
                return json.loads(body)
            except ValueError as exc:
                raise self._fail("malformed", f"not JSON ({exc}); {len(body)} bytes", 200, url) from exc
        assert last is not None
        raise last
