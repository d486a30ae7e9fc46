"""Keeps secrets out of anything that is logged, stored or shown."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@")
_BEARER = re.compile(r"(?i)(bearer|token|authorization)([\s:=]+)([A-Za-z0-9._\-]{8,})")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask the given secrets, URL passwords and bearer-like tokens in a text."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _BEARER.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
