"""`improve research` as a user runs it, on a real Redis, against a local arXiv, feed and Hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.connection import Connections
from workers.research_fake import FakeResearch
from workers.sandbox import LoopbackServer

from .conftest import Cluster, last_json

pytestmark = pytest.mark.integration


def test_research_scan_twice(real_redis: Connections, redis_url: str, tmp_path: Path) -> None:
    fake = FakeResearch()
    with LoopbackServer({}, fake.handle) as server:
        cluster = Cluster(redis_url, tmp_path)
        cluster.env_overrides.update({"ARXIV_API_URL": f"{server.url}/api/query", "HF_ENDPOINT": server.url,
                                      "RESEARCH_FEEDS": f"{server.url}/feed.xml", "RESEARCH_HF_AUTHORS": "acme"})
        first = cluster.improve("research", "--json")
        assert first.returncode == 0, first.stderr
        data = last_json(first.stdout)
        assert {"new", "updated", "duplicates_merged", "proposals", "errors"} <= set(data)
        assert data["new"] == 5 and data["errors"] == [] and data["proposals"] >= 1
        summary = Path(data["summary_path"]).read_text()
        assert summary.startswith("# Research findings: 2026-11-22") and "Why: " in summary
        second = last_json(cluster.improve("research", "--json").stdout)
        assert second["new"] == 0 and second["updated"] == 0
