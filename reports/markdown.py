"""Makes untrusted text inert in Markdown: no HTML, no pings, no links or layout it did not ask for."""

from __future__ import annotations

import re

_ZWSP = "\u200b"
_SPECIAL = re.compile(r"([\\`*_\[\]<>#!|~])")
_WHITESPACE = re.compile(r"\s+")


def inert(text: object, limit: int = 300) -> str:
    """One line of escaped text, cut to ``limit`` characters."""
    value = _WHITESPACE.sub(" ", str(text)).strip()
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    value = value.replace("&", "&amp;")
    value = _SPECIAL.sub(r"\\\1", value)
    value = value.replace("@", "@" + _ZWSP)  # no @mention pings
    return re.sub(r"(?<![\w])(#)(?=\d)", "#" + _ZWSP, value)  # no #123 issue links
