"""Fixtures shared by unit test files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from workers.research_fake import FakeResearch
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer


@pytest.fixture
def world(fake_runtime: Runtime) -> Iterator[FakeResearch]:
    """The stand-in arXiv, feed and Hub on loopback, with the runtime's research settings pointed at it."""
    fake = FakeResearch()
    with LoopbackServer({}, fake.handle) as server:
        s = fake_runtime.settings
        s.arxiv_api_url, s.research_feeds = f"{server.url}/api/query", [f"{server.url}/feed.xml"]
        s.hf_endpoint, s.research_hf_authors, s.arxiv_delay = server.url, ["acme"], 0.0
        yield fake
