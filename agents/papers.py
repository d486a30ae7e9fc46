"""Research items and their identity: one finding per paper, whatever the source, the version or the week."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_ARXIV_ID = re.compile(r"^(?:arxiv:|oai:arxiv\.org:)?(?P<id>\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})"
                       r"(?:v(?P<version>\d+))?$", re.IGNORECASE)
_ARXIV_IN_TEXT = re.compile(r"(?:arxiv\.org/(?:abs|pdf|html)/|arxiv:\s?)(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})"
                            r"(?:v\d+)?", re.IGNORECASE)
TRACKING = ("utm_", "ref", "source", "fbclid", "gclid")


def arxiv_id(text: str) -> tuple[str, int | None] | None:
    """The version-less arXiv id and version of an API entry id, an OAI guid, an abs/pdf link or a bare id."""
    tail = text.strip().rstrip("/").removesuffix(".pdf")
    for prefix in ("/abs/", "/pdf/", "/html/"):
        if prefix in tail:
            tail = tail.split(prefix, 1)[1]
    match = _ARXIV_ID.match(tail)
    if not match:
        return None
    return match["id"], int(match["version"]) if match["version"] else None


def cited_papers(*texts: str) -> list[str]:
    """arXiv ids a blog post or model card mentions (links or ``arxiv:`` tags), first mention first."""
    found: list[str] = []
    for text in texts:
        for match in _ARXIV_IN_TEXT.finditer(text or ""):
            if match[1] not in found:
                found.append(match[1])
    return found


def normalise_link(url: str) -> str:
    """A link without tracking parameters, fragment or trailing slash, so the same post is one item."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith(TRACKING)]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/") or "/",
                       urlencode(query), ""))


@dataclass
class Item:
    """One thing a source returned: a paper, a post, a model release."""

    source: str  # arxiv, feed:<name>, huggingface
    title: str
    link: str
    summary: str = ""
    authors: tuple[str, ...] = ()
    published: str | None = None
    native_id: str = ""  # the arXiv id with version, a feed guid, a model id
    tags: tuple[str, ...] = ()
    also_from: list[str] = field(default_factory=list)  # other sources merged into this item

    @property
    def identity(self) -> tuple[str, str]:
        """("arxiv", id without version) for anything about a paper, else the source and its normalised link."""
        parsed = arxiv_id(self.native_id) if self.source == "arxiv" else None
        if parsed:
            return "arxiv", parsed[0]
        papers = cited_papers(self.link, self.summary, " ".join(self.tags))
        if papers:
            return "arxiv", papers[0]
        return self.source.split(":")[0], self.native_id if self.source == "huggingface" else normalise_link(self.link)

    @property
    def version(self) -> int | None:
        parsed = arxiv_id(self.native_id) if self.source == "arxiv" else None
        return parsed[1] if parsed else None


def merge(items: Iterable[Item]) -> tuple[list[Item], int]:
    """One item per identity. The arXiv entry (its latest version) leads; other sources become ``also_from``.
    Returns the items and how many duplicates were merged."""
    merged: dict[tuple[str, str], Item] = {}
    duplicates = 0
    for item in items:
        key = item.identity
        kept = merged.get(key)
        if kept is None:
            merged[key] = item
            continue
        duplicates += 1
        if item.source == "arxiv" and (kept.source != "arxiv" or (item.version or 0) > (kept.version or 0)):
            item.also_from = sorted({*kept.also_from, *([kept.source] if kept.source != "arxiv" else [])})
            merged[key] = item
        elif item.source != kept.source and item.source not in kept.also_from:
            kept.also_from.append(item.source)
    return list(merged.values()), duplicates
