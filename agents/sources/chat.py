"""OpenAI-compatible chat completions (OpenRouter, vLLM, Ollama, llama.cpp server, ...), asynchronously.

One httpx client for every endpoint; each endpoint has its own concurrency limit that halves on HTTP 429 and grows
back slowly (AIMD), honours ``Retry-After``, and retries 5xx and timeouts a bounded number of times under a total
deadline. A request that still fails is an *error*, kept apart from a wrong answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from agents.sources.http import retry_after
from blackboard.redaction import redact

RETRIABLE = {408, 409, 425, 500, 502, 503, 504, 520, 522, 524, 529}
BODY_LIMIT = 8 * 1024 * 1024


@dataclass(frozen=True)
class Endpoint:
    """Where a model is served. ``name`` is for people and records (never the key)."""

    name: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    served_model: str | None = None  # the model name the server expects, if not the routed id


@dataclass
class Completion:
    text: str | None = None
    latency: float | None = None  # seconds of the attempt that answered
    retries: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    provider: str | None = None
    error_type: str | None = None  # timeout, connection, rate_limited, http_<status>, malformed, deadline
    error: str | None = None
    status_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.error_type is None


class Limiter:
    """Additive-increase, multiplicative-decrease concurrency for one endpoint, with a pause after a 429."""

    def __init__(self, maximum: int, cooldown: float = 2.0) -> None:
        self.maximum = max(1, maximum)
        self.limit = float(self.maximum)
        self.in_flight = 0
        self.paused_until = 0.0
        self.cooldown = cooldown
        self.last_cut = -1e9
        self.cuts = 0
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._changed:
            while True:
                wait = self.paused_until - time.monotonic()
                if wait <= 0 and self.in_flight < int(self.limit):
                    self.in_flight += 1
                    return
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout=max(wait, 0.05) if wait > 0 else None)
                except TimeoutError:
                    pass

    async def release(self, rate_limited: bool = False, pause: float = 0.0) -> None:
        async with self._changed:
            self.in_flight -= 1
            now = time.monotonic()
            if rate_limited:
                self.paused_until = max(self.paused_until, now + pause)
                if now - self.last_cut >= self.cooldown:  # one cut per episode of 429s
                    self.limit = max(1.0, self.limit / 2)
                    self.last_cut, self.cuts = now, self.cuts + 1
            else:
                self.limit = min(float(self.maximum), self.limit + 1.0 / max(1.0, self.limit))
            self._changed.notify_all()


def parse_completion(body: bytes) -> tuple[str, dict[str, Any], str | None]:
    """The answer text, the usage block and the provider from a chat completion body; ValueError if malformed."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"not JSON ({len(body)} bytes)") from exc
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if "error" in data and not data.get("choices"):
        error = data["error"]
        raise ValueError(f"error in body: {error.get('message') if isinstance(error, dict) else error}"[:300])
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("no choices")
    message = choices[0].get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # content parts
        content = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    if not isinstance(content, str):
        raise ValueError("no message content")
    usage: dict[str, Any] = data["usage"] if isinstance(data.get("usage"), dict) else {}
    provider: str | None = data["provider"] if isinstance(data.get("provider"), str) else None
    return content, usage, provider


class ChatClient:
    """Sends chat completions; one instance per run (it owns the connection pool and the limiters)."""

    def __init__(self, *, concurrency: int = 8, attempts: int = 3, timeout: float = 120.0, deadline: float = 1800.0,
                 max_wait: float = 60.0, secrets: list[str] | None = None) -> None:
        self.concurrency, self.attempts, self.max_wait = concurrency, max(1, attempts), max_wait
        self.deadline = time.monotonic() + deadline
        self.secrets = secrets or []
        self.limiters: dict[str, Limiter] = {}
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                                       limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
                                       headers={"User-Agent": "improve-benchmark-agent"})

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    def limiter(self, endpoint: Endpoint) -> Limiter:
        if endpoint.base_url not in self.limiters:
            self.limiters[endpoint.base_url] = Limiter(self.concurrency)
        return self.limiters[endpoint.base_url]

    def _failed(self, result: Completion, error_type: str, message: str, status: int | None = None) -> Completion:
        result.error_type, result.error, result.status_code = error_type, redact(message, self.secrets)[:500], status
        return result

    async def complete(self, endpoint: Endpoint, model: str, messages: list[dict[str, str]], *,
                       temperature: float = 0.0, seed: int | None = 1234, max_tokens: int = 1024) -> Completion:
        payload: dict[str, Any] = {"model": endpoint.served_model or model, "messages": messages,
                                   "temperature": temperature, "max_tokens": max_tokens}
        if seed is not None:
            payload["seed"] = seed
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        url = endpoint.base_url.rstrip("/") + "/chat/completions"
        limiter, result = self.limiter(endpoint), Completion()
        for attempt in range(self.attempts):
            result.retries = attempt
            if time.monotonic() >= self.deadline:
                return self._failed(result, "deadline", "the run's total deadline passed")
            await limiter.acquire()
            rate_limited, pause, started = False, 0.0, time.monotonic()
            try:
                response = await self._http.post(url, json=payload, headers=headers)
                body = response.content[:BODY_LIMIT]
                elapsed = time.monotonic() - started
            except httpx.TimeoutException as exc:
                self._failed(result, "timeout", f"{type(exc).__name__} after {time.monotonic() - started:.1f}s")
                await limiter.release()
                await self._backoff(attempt)
                continue
            except httpx.TransportError as exc:
                self._failed(result, "connection", f"{type(exc).__name__}: {exc}")
                await limiter.release()
                await self._backoff(attempt)
                continue
            if response.status_code == 429:
                wait = retry_after(response)
                rate_limited, pause = True, min(wait if wait is not None else 2.0 ** attempt, self.max_wait)
                await limiter.release(rate_limited, pause)
                if wait is not None and wait > self.max_wait:
                    return self._failed(result, "rate_limited", f"Retry-After {wait:.0f}s is beyond the wait cap", 429)
                self._failed(result, "rate_limited", "HTTP 429", 429)
                continue  # the limiter's pause is the wait
            await limiter.release()
            if response.status_code in RETRIABLE:
                self._failed(result, f"http_{response.status_code}", body[:200].decode("utf-8", "replace"),
                             response.status_code)
                await self._backoff(attempt)
                continue
            if response.status_code >= 400:
                return self._failed(result, f"http_{response.status_code}", body[:300].decode("utf-8", "replace"),
                                    response.status_code)
            try:
                text, usage, provider = parse_completion(body)
            except ValueError as exc:
                return self._failed(result, "malformed", str(exc), response.status_code)
            result.error_type = result.error = None
            result.status_code, result.text, result.latency, result.provider = response.status_code, text, elapsed, \
                provider
            result.prompt_tokens = _int(usage.get("prompt_tokens"))
            result.completion_tokens = _int(usage.get("completion_tokens"))
            return result
        return result

    async def _backoff(self, attempt: int) -> None:
        if attempt < self.attempts - 1:
            await asyncio.sleep(min(self.max_wait, 0.25 * 2.0 ** attempt,
                                    max(0.0, self.deadline - time.monotonic())))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
