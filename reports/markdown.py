"""Makes untrusted text inert in Markdown: no HTML, no pings, no links or layout it did not ask for."""

from __future__ import annotations

import re

_ZWSP = "\u200b"
_SPECIAL = re.compile(r"([\\`*_\[\]#!|~])")
_WHITESPACE = re.compile(r"\s+")


def inert(text: object, limit: int = 300) -> str:
    """One line of escaped text, cut to ``limit`` characters."""
    value = _WHITESPACE.sub(" ", str(text)).strip()
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _SPECIAL.sub(r"\\\1", value)
    value = value.replace("@", "@" + _ZWSP)  # no @mention pings
    return re.sub(r"(?<![\w])(#)(?=\d)", "#" + _ZWSP, value)  # no #123 issue links


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit to link to, or None (javascript:, data:, relative and odd URLs are dropped)."""
    if not url:
        return None
    value = url.strip()
    if not re.fullmatch(r"https?://[^\s<>\"'`()\[\]{}|\\^]+", value) or len(value) > 500:
        return None
    return value


def code(text: object, limit: int = 120) -> str:
    """Text for inside a `code span`, where escapes do not work: only a safe set of characters survives."""
    return re.sub(r"[^A-Za-z0-9._:/@+=-]", "_", str(text))[:limit].replace("@", "_")
