"""Lab blogs and other feeds: httpx with conditional GET (ETag, Last-Modified, 304), parsed by feedparser."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import httpx

from agents.papers import Item
from agents.sources.http import SourceFailure


@dataclass
class FeedResult:
    url: str
    items: list[Item] = field(default_factory=list)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    malformed: str | None = None  # what feedparser complained about; the items it could read are kept


def _published(entry: Any) -> str | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat() if parsed else None


def fetch(client: httpx.Client, url: str, name: str, etag: str | None = None, last_modified: str | None = None,
          max_bytes: int = 16 * 1024 * 1024) -> FeedResult:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        response = client.get(url, headers=headers)
    except httpx.TimeoutException as exc:
        raise SourceFailure(f"feed:{name}", "timeout", str(exc) or "timed out", None, url) from exc
    except httpx.TransportError as exc:
        raise SourceFailure(f"feed:{name}", "connection", type(exc).__name__, None, url) from exc
    if response.status_code == 304:
        return FeedResult(url, not_modified=True, etag=etag, last_modified=last_modified)
    if response.status_code >= 400:
        raise SourceFailure(f"feed:{name}", f"http_{response.status_code}", f"HTTP {response.status_code}",
                            response.status_code, url)
    if len(response.content) > max_bytes:
        raise SourceFailure(f"feed:{name}", "too_large", f"body exceeds {max_bytes} bytes", 200, url)
    items, malformed = parse(response.content, str(response.url), name)
    if malformed and not items:
        raise SourceFailure(f"feed:{name}", "malformed", malformed[:300], 200, url)
    return FeedResult(url, items, etag=response.headers.get("etag"),
                      last_modified=response.headers.get("last-modified"), malformed=malformed)


def parse(content: bytes, base: str, name: str) -> tuple[list[Item], str | None]:
    """RSS or Atom bytes to items (relative links made absolute), and what was malformed, if anything."""
    parsed = feedparser.parse(content)
    items = [Item(f"feed:{name}", " ".join(str(e.get("title", "")).split()), urljoin(base, e.get("link", "")),
                  summary=str(e.get("summary", "")), published=_published(e),
                  native_id=str(e.get("id") or e.get("link") or ""),
                  authors=tuple(a.get("name", "") for a in e.get("authors", []) if a.get("name")))
             for e in parsed.entries if e.get("title") or e.get("link")]
    return items, str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
