"""The OpenAI-compatible client against a real HTTP server on loopback: answers, 429s, 5xx, hangs, bad bodies."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from agents.sources.chat import ChatClient, Endpoint, Limiter, parse_completion
from workers.model_fake import FakeModels, Profile
from workers.sandbox import LoopbackServer, Response

MESSAGES = [{"role": "user", "content": "Say hi."}]


def _ask(server: LoopbackServer, key: str | None = None, **client_options: float) -> list:  # type: ignore[type-arg]
    async def go() -> list:  # type: ignore[type-arg]
        async with ChatClient(**client_options, secrets=[key] if key else []) as client:  # type: ignore[arg-type]
            endpoint = Endpoint("fake", server.url + "/v1", key)
            return [await client.complete(endpoint, "m", MESSAGES)]
    return asyncio.run(go())


@pytest.fixture
def models() -> FakeModels:
    return FakeModels({"*": Profile(latency=0.0)})


def test_an_answer_carries_text_latency_and_tokens(models: FakeModels) -> None:
    with LoopbackServer({}, models.handle) as server:
        [reply] = _ask(server)
    assert reply.ok and reply.text == "I am not sure."
    assert reply.retries == 0 and reply.latency is not None and reply.latency >= 0
    assert reply.completion_tokens is not None and reply.provider == "sandbox"


def test_429_with_retry_after_is_honoured_then_succeeds(models: FakeModels) -> None:
    models.faults = [Response.json({"error": {"message": "slow down"}}, 429, {"Retry-After": "1"})]
    with LoopbackServer({}, models.handle) as server:
        started = time.monotonic()
        [reply] = _ask(server, attempts=3)
        waited = time.monotonic() - started
    assert reply.ok and reply.retries == 1
    assert waited >= 0.9  # the Retry-After was waited out (a fact of the behaviour, not a performance bound)


def test_a_retry_after_beyond_the_cap_is_an_error_at_once(models: FakeModels) -> None:
    models.faults = [Response.json({}, 429, {"Retry-After": "3600"})]
    with LoopbackServer({}, models.handle) as server:
        [reply] = _ask(server, attempts=3, max_wait=5)
    assert reply.error_type == "rate_limited" and "beyond" in (reply.error or "")
    assert models.requests == 1


def test_5xx_is_retried_and_a_persistent_one_is_an_error(models: FakeModels) -> None:
    models.faults = [Response.json({}, 503), Response.json({}, 502)]
    with LoopbackServer({}, models.handle) as server:
        [reply] = _ask(server, attempts=3)
        assert reply.ok and reply.retries == 2
        models.faults = [Response.json({}, 500)] * 3
        [failed] = _ask(server, attempts=3)
    assert failed.error_type == "http_500" and failed.status_code == 500 and failed.text is None


def test_a_client_error_is_not_retried(models: FakeModels) -> None:
    models.faults = [Response.json({"error": {"message": "no such model"}}, 404)]
    with LoopbackServer({}, models.handle) as server:
        [reply] = _ask(server, attempts=3)
    assert reply.error_type == "http_404" and models.requests == 1


def test_a_hang_times_out(models: FakeModels) -> None:
    models.faults = [2.0]
    with LoopbackServer({}, models.handle) as server:
        [reply] = _ask(server, attempts=1, timeout=0.3)
    assert reply.error_type == "timeout"


def test_a_malformed_body_is_an_error_not_an_answer(models: FakeModels) -> None:
    models.faults = [Response(200, b'{"choices": [', {"Content-Type": "application/json"})]
    with LoopbackServer({}, models.handle) as server:
        [reply] = _ask(server)
    assert reply.error_type == "malformed" and reply.text is None


def test_the_key_is_sent_but_never_kept_in_errors(models: FakeModels) -> None:
    secret = "sk-test-abcdef123456"

    def echo_key(request):  # type: ignore[no-untyped-def]
        return Response.json({"error": {"message": f"bad key {request.headers.get('Authorization')}"}}, 401)

    with LoopbackServer({}, echo_key) as server:
        [reply] = _ask(server, key=secret)
    assert reply.error_type == "http_401" and secret not in (reply.error or "")
    assert secret not in repr(Endpoint("x", "http://h", secret))


def test_the_total_deadline_stops_retries(models: FakeModels) -> None:
    models.faults = [Response.json({}, 503)] * 10
    with LoopbackServer({}, models.handle) as server:
        [reply] = _ask(server, attempts=10, deadline=0.3)
    assert reply.error_type in ("deadline", "http_503") and models.requests < 10


def test_connection_refused_is_a_connection_error() -> None:
    async def go():  # type: ignore[no-untyped-def]
        async with ChatClient(attempts=1) as client:
            return await client.complete(Endpoint("none", "http://127.0.0.1:9/v1"), "m", MESSAGES)
    assert asyncio.run(go()).error_type == "connection"


def test_the_limiter_halves_on_429_once_per_episode_and_grows_back() -> None:
    async def go() -> Limiter:
        limiter = Limiter(8, cooldown=60)
        for _ in range(3):
            await limiter.acquire()
        for _ in range(3):
            await limiter.release(rate_limited=True, pause=0.0)
        assert limiter.limit == 4 and limiter.cuts == 1
        for _ in range(40):
            await limiter.acquire()
            await limiter.release()
        return limiter
    assert asyncio.run(go()).limit == 8


def test_concurrency_per_endpoint_is_bounded() -> None:
    models = FakeModels({"*": Profile(latency=0.05)})

    async def go(url: str) -> None:
        async with ChatClient(concurrency=4) as client:
            endpoint = Endpoint("fake", url + "/v1")
            await asyncio.gather(*(client.complete(endpoint, "m", MESSAGES) for _ in range(20)))

    with LoopbackServer({}, models.handle) as server:
        asyncio.run(go(server.url))
    assert models.requests == 20 and models.max_in_flight <= 4


@pytest.mark.parametrize("body, problem", [
    (b"[]", "not a JSON object"), (b'{"choices": []}', "no choices"),
    (b'{"error": {"message": "overloaded"}}', "overloaded"), (b'{"choices": [{"message": {}}]}', "no message"),
])
def test_parse_completion_names_the_problem(body: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_completion(body)


def test_parse_completion_accepts_content_parts() -> None:
    body = json.dumps({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"text": "b"}]}}]})
    assert parse_completion(body.encode())[0] == "ab"
