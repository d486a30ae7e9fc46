"""The sandbox world: local HTTP servers on loopback standing in for the upstreams, for `improve demo` and tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many clients connecting at once (the benchmark's concurrency) are not refused
    daemon_threads = True


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 with a free port, answering from a route table; records requests."""

    def __init__(self, routes: dict[tuple[str, str], Handler], fallback: Handler | None = None,
                 keep_alive: bool = False) -> None:
        self.routes = routes
        self.fallback = fallback
        self.requests: list[Request] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()),
                                  self.rfile.read(length) if length else b"")
                server.requests.append(request)
                handler = server.routes.get((self.command, parts.path)) or server.fallback
                response = handler(request) if handler else Response.json({"error": "not found"}, 404)
                try:
                    self.send_response(response.status)
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(response.body)))
                    self.end_headers()
                    self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout, a body too large): nothing to tell it

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)  # a short poll: shutdown returns at once

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _no_settings(url: str) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Upstream:
    """One stand-in upstream: the setting it replaces, how it answers, and the settings it needs (each agent issue
    adds one). ``fake`` builds an object with ``handle`` (and ``next_week`` if its content moves); ``extra`` gets
    the server's URL."""

    name: str
    setting: str
    routes: Callable[[], dict[tuple[str, str], Handler]] = dict
    path: str = ""
    fake: Callable[[], Any] | None = None
    extra: Callable[[str], dict[str, Any]] = _no_settings


def _github() -> Upstream:
    from pydantic import SecretStr

    def fake() -> Any:
        from workers.github_fake import FakeGitHub  # imports this module: import it when the sandbox starts

        return FakeGitHub(token="sandbox-token")

    return Upstream("github", "github_api_url", fake=fake,
                    extra=lambda url: {"github_token": SecretStr("sandbox-token"),
                                       "github_repository": "sandbox/product"})


def _openrouter() -> Upstream:
    def fake() -> Any:
        from workers.openrouter_fake import FakeOpenRouter  # imports this module: import it when the sandbox starts

        return FakeOpenRouter()

    return Upstream("openrouter", "openrouter_base_url", fake=fake, path="/api/v1",
                    extra=lambda url: {"catalog_min_models": 50})


def _hub() -> Upstream:
    def fake() -> Any:
        from workers.hf_fake import FakeHub  # imports this module: import it when the sandbox starts

        return FakeHub()

    return Upstream("huggingface", "hf_endpoint", fake=fake)


def _research() -> Upstream:
    def fake() -> Any:
        from workers.research_fake import FakeResearch  # imports this module: import it when the sandbox starts

        return FakeResearch()

    return Upstream("research", "arxiv_api_url", fake=fake, path="/api/query",
                    extra=lambda url: {"research_feeds": [url + "/feed.xml"], "arxiv_delay": 0.0})


SANDBOX_MODELS = ("openai/gpt-5-mini", "qwen/qwen3-coder")
QUALITY_DROP_WEEK = 4  # the coding primary's answers get worse for one week, then its provider fixes it
# The sandbox product's routing (category -> primary, fallbacks): in week 3 the catalog removes, deprecates,
# reprices 12x and shrinks models it routes to; in week 4 the coding primary slips and the planner proposes its
# fallback, which is better that week; approved, it is applied in week 5, when the primary has recovered, so the
# verification finds the new route worse and rolls it back.
SANDBOX_ROUTING = {"coding": ["qwen/qwen3-coder", "openai/gpt-5-mini"],
                   "math": ["openai/gpt-4.1-nano", "openai/gpt-5-mini"],
                   "factual": ["anthropic/claude-haiku-4.5", "mistralai/mistral-large-2411"],
                   "reasoning": ["cohere/command-r-08-2024", "openai/gpt-5-mini"]}


def _models() -> Upstream:
    def fake() -> Any:
        from workers.model_fake import FakeModels, Profile  # imports this module: import it when the sandbox starts

        steady, slipping = SANDBOX_MODELS
        return FakeModels({steady: Profile(default_accuracy=0.88, accuracy={"coding": 0.6}),
                           slipping: Profile(default_accuracy=0.85, accuracy={"coding": 0.95},
                                             drops={QUALITY_DROP_WEEK: 0.5, QUALITY_DROP_WEEK + 1: 2.0})})

    return Upstream("models", "bench_base_url", fake=fake, path="/v1",
                    extra=lambda url: {"routing": {k: list(v) for k, v in SANDBOX_ROUTING.items()},
                                       "bench_concurrency": 16})


UPSTREAMS: list[Upstream] = [_github(), _openrouter(), _hub(), _research(), _models()]


@dataclass
class Sandbox:
    settings: dict[str, Any]
    hooks: list[Callable[[], None]]

    def next_week(self) -> None:
        """Move every stand-in upstream on to the next simulated week."""
        for hook in self.hooks:
            hook()


@contextmanager
def sandbox(upstreams: list[Upstream] | None = None) -> Iterator[Sandbox]:
    """Start every stand-in upstream; yields the settings that point the system at them."""
    with ExitStack() as stack:
        overrides: dict[str, Any] = {}
        hooks: list[Callable[[], None]] = []
        for upstream in upstreams if upstreams is not None else UPSTREAMS:
            fake: Any = upstream.fake() if upstream.fake else None
            server = stack.enter_context(LoopbackServer(upstream.routes(), fake.handle if fake else None))
            overrides[upstream.setting] = server.url + upstream.path
            overrides.update(upstream.extra(server.url))
            if hasattr(fake, "next_week"):
                hooks.append(fake.next_week)
        yield Sandbox(overrides, hooks)
