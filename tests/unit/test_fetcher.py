"""The upstream fetcher against a local HTTP server: rate limits, server errors, timeouts, bad and huge bodies."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from agents.sources.http import Fetcher, SourceFailure
from workers.sandbox import LoopbackServer, Request, Response


class Script:
    """Answers each request with the next scripted response (the last one repeats)."""

    def __init__(self) -> None:
        self.responses: list[Response] = []
        self.delay = 0.0

    def __call__(self, request: Request) -> Response:
        time.sleep(self.delay)
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


@pytest.fixture
def upstream() -> Iterator[tuple[Script, str]]:
    script = Script()
    with LoopbackServer({}, script) as server:
        yield script, f"{server.url}/api/v1/models?key=sk-or-secret-value"


def fetcher(naps: list[float], **overrides: object) -> Fetcher:
    values: dict[str, object] = {"source": "openrouter", "client": httpx.Client(timeout=2.0), "attempts": 3,
                                 "max_wait": 30.0, "sleep": naps.append, "secrets": ["sk-or-secret-value"]}
    values.update(overrides)
    return Fetcher(**values)  # type: ignore[arg-type]


def test_rate_limit_honours_retry_after(upstream: tuple[Script, str]) -> None:
    script, url = upstream
    naps: list[float] = []
    script.responses = [Response.json({"error": "slow down"}, 429, {"Retry-After": "7"}), Response.json({"data": []})]
    assert fetcher(naps).get_json(url) == {"data": []} and naps == [7.0]


def test_a_long_retry_after_gives_up_at_once(upstream: tuple[Script, str]) -> None:
    script, url = upstream
    naps: list[float] = []
    script.responses = [Response.json({}, 429, {"Retry-After": "3600"})]
    with pytest.raises(SourceFailure) as failure:
        fetcher(naps).get_json(url)
    assert failure.value.error_type == "rate_limited" and naps == []


def test_server_errors_back_off_then_succeed_or_fail(upstream: tuple[Script, str]) -> None:
    script, url = upstream
    naps: list[float] = []
    script.responses = [Response(502), Response(503), Response.json([1, 2])]
    assert fetcher(naps).get_json(url) == [1, 2] and naps == [0.5, 1.0]
    script.responses = [Response(500)]
    naps = []
    with pytest.raises(SourceFailure) as failure:
        fetcher(naps).get_json(url)
    assert failure.value.error_type == "http_500" and failure.value.status_code == 500
    assert naps == [0.5, 1.0]  # three attempts, two waits: none after the last one


def test_timeouts_are_retried_then_reported(upstream: tuple[Script, str]) -> None:
    script, url = upstream
    script.responses, script.delay = [Response.json({})], 0.5
    with pytest.raises(SourceFailure) as failure:
        fetcher([], client=httpx.Client(timeout=0.1), attempts=2).get_json(url)
    assert failure.value.error_type == "timeout"


@pytest.mark.parametrize(("response", "error_type"), [
    (Response(200, b'{"data": [{"id": "a"', {"Content-Type": "application/json"}), "malformed"),
    (Response(200, b"<html>maintenance</html>"), "malformed"),
    (Response(200, b"x" * 2048), "too_large"),
    (Response(404, b"{}"), "http_404"),
])
def test_bad_bodies_are_clear_errors(upstream: tuple[Script, str], response: Response, error_type: str) -> None:
    script, url = upstream
    naps: list[float] = []
    script.responses = [response]
    with pytest.raises(SourceFailure) as failure:
        fetcher(naps, max_bytes=1024).get_json(url)
    assert failure.value.error_type == error_type and naps == []  # none of these is worth a retry
    assert "sk-or-secret-value" not in str(failure.value) + str(failure.value.url)


def test_an_unreachable_upstream_is_a_connection_error() -> None:
    with pytest.raises(SourceFailure) as failure:
        fetcher([], attempts=2).get_json("http://127.0.0.1:9/api/v1/models")
    assert failure.value.error_type == "connection"
