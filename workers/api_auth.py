"""Bearer tokens for the HTTP API: one shared token and/or named ones, compared in constant time.

A named token (``IMPROVE_API_TOKENS``) belongs to one person or system: a decision made with it is recorded under
that name only. The shared token (``IMPROVE_API_TOKEN``) records whatever name the caller gives, as a claim.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workers.settings import Settings

SHARED_TOKEN = "IMPROVE_API_TOKEN"
MIN_TOKEN_LENGTH = 16
TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <IMPROVE_API_TOKEN or a named token>`")


class ApiSetupError(ValueError):
    """The API cannot start as configured (the message says what to set)."""


@dataclass(frozen=True)
class Token:
    name: str
    secret: bytes
    bound: bool  # a named token: the only approver name it may record is its own


@dataclass(frozen=True)
class Caller:
    """Who called: the token that authenticated (None without authentication, `--insecure-no-auth`)."""

    token: str | None
    bound: bool = False

    @property
    def via(self) -> str:
        return f"HTTP API, token {self.token}" if self.token else "HTTP API, no authentication"


def configured_tokens(settings: Settings) -> list[Token]:
    """The tokens the API accepts; a token that is short, unnamed properly or used twice stops the start."""
    tokens = [Token(SHARED_TOKEN, settings.api_token.get_secret_value().encode(), False)] if settings.api_token else []
    tokens += [Token(name, secret.get_secret_value().encode(), True) for name, secret in settings.api_tokens.items()]
    for token in tokens:
        if token.bound and not TOKEN_NAME.fullmatch(token.name):
            raise ApiSetupError(f"IMPROVE_API_TOKENS: the name {token.name!r} must be 1-64 letters, digits, _.@-")
        if len(token.secret) < MIN_TOKEN_LENGTH or token.secret != token.secret.strip():
            where = SHARED_TOKEN if not token.bound else f"IMPROVE_API_TOKENS[{token.name!r}]"
            raise ApiSetupError(f"{where} must be at least {MIN_TOKEN_LENGTH} characters without surrounding blanks "
                                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    if len({token.secret for token in tokens}) != len(tokens):
        raise ApiSetupError("two API tokens have the same value: give each caller its own")
    return tokens


def matching(tokens: list[Token], given: str) -> Token | None:
    """The token equal to ``given``, comparing against every one in constant time (no early exit)."""
    offered, found = given.encode(), None
    for token in tokens:
        if hmac.compare_digest(offered, token.secret) and found is None:
            found = token
    return found


def _unauthorized(detail: str, error: str | None) -> HTTPException:
    challenge = f'Bearer realm="improve", error="{error}"' if error else 'Bearer realm="improve"'
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": challenge})


def authenticate(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> Caller:
    """The caller behind a request's bearer token; 401 for none or a wrong one."""
    tokens: list[Token] | None = request.app.state.tokens
    if tokens is None:  # --insecure-no-auth
        return Caller(None)
    if credentials is None or not credentials.credentials:
        raise _unauthorized("a bearer token is required (Authorization: Bearer <token>)", None)
    token = matching(tokens, credentials.credentials)
    if token is None:
        raise _unauthorized("the bearer token is not valid", "invalid_token")
    return Caller(token.name, token.bound)


def check_approver(caller: Caller, by: str) -> None:
    """A named token decides only under its own name (403 otherwise)."""
    if caller.bound and caller.token is not None and by.strip() != caller.token:
        raise HTTPException(status_code=403, detail=f"this token belongs to {caller.token!r}: it can only decide "
                                                    f"as {caller.token!r}, not as another name")
