"""arXiv through the ``arxiv`` package, with what it lacks: a timeout, and a 429 backoff that honours Retry-After."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import arxiv
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from agents.papers import Item
from agents.sources.http import SourceFailure


class CappedRetry(Retry):
    """Honours Retry-After, but never waits longer than ``max_wait``."""

    max_wait = 60.0

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return min(value, self.max_wait) if value is not None else None


class TimedSession(requests.Session):
    def __init__(self, timeout: float, attempts: int, max_wait: float) -> None:
        super().__init__()
        self.timeout = timeout
        retry = CappedRetry(total=attempts - 1, status_forcelist=(429, 500, 502, 503, 504), backoff_factor=0.5,
                            allowed_methods=frozenset({"GET"}), respect_retry_after_header=True, raise_on_status=False)
        retry.max_wait = max_wait
        adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=1)  # one connection
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


def _timed_out(exc: BaseException) -> bool:
    """requests reports a read timeout under a retry policy as a ConnectionError around MaxRetryError."""
    if isinstance(exc, requests.Timeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, NewConnectionError):  # a refused connection (urllib3 2 files it under connect timeouts)
        return False
    return isinstance(reason, (ReadTimeoutError, ConnectTimeoutError))


def query(categories: list[str], since: datetime, until: datetime) -> str:
    fmt = "%Y%m%d%H%M"
    cats = " OR ".join(f"cat:{c}" for c in categories)
    return f"({cats}) AND submittedDate:[{since:{fmt}} TO {until:{fmt}}]"


def fetch(api_url: str, categories: list[str], since: datetime, until: datetime, limit: int, timeout: float,
          attempts: int = 3, max_wait: float = 60.0, delay_seconds: float = 3.0, page_size: int = 500) -> list[Item]:
    """Papers submitted in [since, until], newest first; an empty window is an empty list, not an error."""
    client = arxiv.Client(page_size=min(limit, page_size), delay_seconds=delay_seconds, num_retries=1)
    client.query_url_format = api_url.rstrip("?") + "?{}"
    client._session = TimedSession(timeout, attempts, max_wait)
    search = arxiv.Search(query=query(categories, since, until), max_results=limit,
                          sort_by=arxiv.SortCriterion.SubmittedDate)
    try:
        results = list(client.results(search))
    except arxiv.HTTPError as exc:
        kind = "rate_limited" if exc.status == 429 else f"http_{exc.status}"
        raise SourceFailure("arxiv", kind, f"HTTP {exc.status} after retries", exc.status, api_url) from exc
    except arxiv.UnexpectedEmptyPageError as exc:
        raise SourceFailure("arxiv", "empty_page", "a later page came back empty", 200, api_url) from exc
    except requests.RequestException as exc:
        if _timed_out(exc):
            raise SourceFailure("arxiv", "timeout", f"no answer within {timeout:g}s", None, api_url) from exc
        raise SourceFailure("arxiv", "connection", f"{type(exc).__name__}", None, api_url) from exc
    return [Item("arxiv", r.title, r.entry_id, summary=r.summary, authors=tuple(a.name for a in r.authors),
                 published=r.published.isoformat() if r.published else None, native_id=r.get_short_id(),
                 tags=tuple(r.categories)) for r in results if "/api/errors" not in r.entry_id]


def window(watermark: datetime | None, now: datetime, overlap_days: int, first_days: int) -> tuple[datetime, datetime]:
    """From the last watermark less an overlap (the API lags the announcements), or ``first_days`` back."""
    since = watermark - timedelta(days=overlap_days) if watermark else now - timedelta(days=first_days)
    return since, now
