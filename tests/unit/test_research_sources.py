"""The research sources against a local server: arXiv paging, error entries, 429, hangs; feeds of every kind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agents.sources import arxiv as arxiv_source
from agents.sources import feeds as feed_source
from agents.sources.http import SourceFailure
from workers.research_fake import FakeResearch, atom
from workers.sandbox import LoopbackServer, Response

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture
def world() -> Iterator[tuple[FakeResearch, str]]:
    fake = FakeResearch()
    with LoopbackServer({}, fake.handle) as server:
        yield fake, server.url


def fetch(url: str, **overrides: object) -> list:  # type: ignore[type-arg]
    values: dict[str, object] = {"api_url": f"{url}/api/query", "categories": ["cs.CL"], "since": NOW - timedelta(7),
                                 "until": NOW, "limit": 50, "timeout": 2.0, "attempts": 3, "max_wait": 5.0,
                                 "delay_seconds": 0.0}
    values.update(overrides)
    return arxiv_source.fetch(**values)  # type: ignore[arg-type]


def test_arxiv_pages_through_the_results(world: tuple[FakeResearch, str]) -> None:
    fake, url = world
    papers = fetch(url, page_size=3)
    starts = [r.query["start"][0] for r in fake.requests]
    assert len(papers) == 7 and starts == ["0", "3", "6"]
    assert papers[0].native_id == "2611.00001v1" and papers[0].authors == ("A. Researcher", "B. Scientist")


def test_arxiv_error_entries_are_not_papers(world: tuple[FakeResearch, str]) -> None:
    fake, url = world
    error = atom([], 1, 0).replace(b"</feed>", b"<entry><id>http://arxiv.org/api/errors#incorrect_id_format</id>"
                                   b"<title>Error</title><summary>incorrect id format</summary></entry></feed>")
    fake.faults.append(Response(200, error, {"Content-Type": "application/atom+xml"}))
    assert fetch(url) == []


def test_arxiv_429_honours_retry_after_then_succeeds(world: tuple[FakeResearch, str]) -> None:
    fake, url = world
    fake.faults.append(Response(429, b"slow down", {"Retry-After": "1"}))
    assert len(fetch(url)) == 7 and len(fake.requests) == 2


def test_an_arxiv_hang_times_out(world: tuple[FakeResearch, str]) -> None:
    fake, url = world
    fake.delay = 1.0
    with pytest.raises(SourceFailure) as failure:
        fetch(url, timeout=0.2, attempts=1)
    assert failure.value.error_type == "timeout"


def test_an_empty_window_is_news_of_nothing(world: tuple[FakeResearch, str]) -> None:
    fake, url = world
    fake.faults.append(Response(200, atom([], 0, 0), {"Content-Type": "application/atom+xml"}))
    assert fetch(url) == []


ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Lab</title>
<entry><title>Atom post</title><link href="/blog/atom-post"/><id>tag:lab,2026:1</id>
<updated>2026-11-20T10:00:00Z</updated><summary>About arXiv:2611.00002</summary></entry></feed>"""
BROKEN = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title>
<item><title>Still readable</title><link>https://lab.example/a</link></item><item><title>Cut off"""


def test_feeds_of_every_kind() -> None:
    items, malformed = feed_source.parse(ATOM, "https://lab.example/feed", "lab")
    assert malformed is None and items[0].link == "https://lab.example/blog/atom-post"
    assert items[0].published == "2026-11-20T10:00:00+00:00" and items[0].identity == ("arxiv", "2611.00002")
    partial, problem = feed_source.parse(BROKEN, "https://lab.example/feed", "lab")
    assert [i.title for i in partial] == ["Still readable"] and problem


def test_a_malformed_feed_with_nothing_readable_is_an_error() -> None:
    with LoopbackServer({("GET", "/feed"): lambda r: Response(200, b"<<< not a feed")}) as server:
        import httpx

        with httpx.Client() as client, pytest.raises(SourceFailure) as failure:
            feed_source.fetch(client, f"{server.url}/feed", "lab")
    assert failure.value.error_type == "malformed"


def test_a_refused_connection_is_not_a_timeout() -> None:
    with pytest.raises(SourceFailure) as failure:
        fetch("http://127.0.0.1:9", attempts=1)
    assert failure.value.error_type == "connection"
