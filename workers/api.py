"""The HTTP API (`improve serve`): the app factory, one runtime per process, a body limit, errors without secrets."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import redis
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blackboard.errors import BlackboardError
from blackboard.redaction import redact
from workers.api_auth import ApiSetupError, configured_tokens
from workers.api_routes import private, public
from workers.runtime import Runtime, connect
from workers.settings import Settings

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("improve")
    except PackageNotFoundError:  # pragma: no cover (a checkout that was never installed)
        return "0"


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` (413), by Content-Length and while a body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            status, why = (413, "too large") if declared.isdigit() else (400, "declared with an invalid length")
            await _send_json(send, status, {"detail": f"the request body is {why} (at most {self.max_bytes} bytes)"})
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(status_code=413, detail=f"the request body is too large "
                                                            f"(at most {self.max_bytes} bytes)")
            return message

        await self.app(scope, limited, send)


class ErrorShield:
    """Turns an unexpected exception into a 500 without details, logging its traceback with secrets masked."""

    def __init__(self, app: ASGIApp, secrets: list[str]) -> None:
        self.app, self.secrets = app, secrets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: a failed startup must still stop the server
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            logger.error("%s", redact("".join(traceback.format_exception(exc)), self.secrets))
            if not started:
                await _send_json(send, 500, {"detail": "internal error (the server log says more)"})


def _handlers(app: FastAPI, secrets: list[str]) -> None:
    def unavailable(detail: str, retry: bool = False) -> JSONResponse:
        return JSONResponse({"detail": redact(detail, secrets)}, status_code=503,
                            headers={"Retry-After": "5"} if retry else None)

    @app.exception_handler(redis.RedisError)
    async def redis_down(request: Request, exc: redis.RedisError) -> JSONResponse:
        logger.warning("Redis error on %s: %s", request.url.path, redact(f"{type(exc).__name__}: {exc}", secrets))
        return unavailable("Redis does not answer; try again later", retry=True)

    @app.exception_handler(TimeoutError)
    async def timed_out(request: Request, exc: TimeoutError) -> JSONResponse:
        return unavailable(f"busy: {exc}; try again", retry=True)

    @app.exception_handler(BlackboardError)
    async def blackboard_failed(request: Request, exc: BlackboardError) -> JSONResponse:
        return unavailable(f"the blackboard failed: {type(exc).__name__}: {exc}")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]  # the input is not echoed back
        return JSONResponse({"detail": errors}, status_code=422)


async def known_query_only(request: Request) -> None:
    """A query parameter the operation does not declare is an error (`?ful=1` must not mean the quick sync)."""
    declared: dict[tuple[str, str], set[str]] | None = request.app.state.queries
    if declared is None:
        declared = request.app.state.queries = {
            (path, method.upper()): {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            for path, operations in request.app.openapi()["paths"].items() for method, operation in operations.items()}
    route = getattr(request.scope.get("route"), "path_format", "")
    method = "GET" if request.method == "HEAD" else request.method
    unknown = sorted(set(request.query_params) - declared.get((route, method), set()))
    if unknown:
        raise RequestValidationError([{"loc": ("query", name), "msg": "unknown query parameter",
                                       "type": "extra_forbidden"} for name in unknown])


def create_app(settings: Settings, runtime: Runtime | None = None, insecure_no_auth: bool = False) -> FastAPI:
    """The API on ``runtime`` (tests), or on a runtime opened on ``REDIS_URL`` at startup and closed at shutdown."""
    if runtime is None and settings.redis_url is None:
        raise ApiSetupError("the HTTP API needs REDIS_URL, the Redis the workers share (without it, the embedded "
                            "default would be a private Redis no worker can reach)")
    tokens = None if insecure_no_auth else configured_tokens(settings)
    if tokens is not None and not tokens:
        raise ApiSetupError("set IMPROVE_API_TOKEN (or IMPROVE_API_TOKENS, a JSON map name -> token) for the "
                            "HTTP API; for local use only, --insecure-no-auth runs it without authentication")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = app.state.runtime is None
        if own:
            app.state.runtime = connect(settings)
        try:
            yield
        finally:
            if own:
                app.state.runtime.close()
                app.state.runtime = None

    app = FastAPI(title="improve", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  dependencies=[Depends(known_query_only)],
                  description="Trigger and follow the weekly cycle, enqueue syncs and scans, read the report, "
                              "decide proposals. Every endpoint but /api/health needs a bearer token.")
    app.state.runtime, app.state.tokens, app.state.queries = runtime, tokens, None
    app.include_router(public)
    app.include_router(private)
    _handlers(app, settings.secrets())
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(ErrorShield, secrets=settings.secrets())
    return app
