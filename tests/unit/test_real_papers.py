"""Identity and ranking on real recorded arXiv API responses (../shared/data; skipped where absent)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from agents.papers import arxiv_id
from agents.ranking import rank, tokens
from tests.conftest import REPO

DATA = REPO.parent / "shared" / "data" / "arxiv" / "api_atom"
ATOM = "{http://www.w3.org/2005/Atom}"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"real arXiv responses not found at {DATA}")


def entries(path: Path) -> list[dict[str, str]]:
    def text(entry: ElementTree.Element, tag: str) -> str:
        return " ".join((entry.findtext(f"{ATOM}{tag}") or "").split())

    root = ElementTree.parse(path).getroot()
    return [{"id": text(e, "id"), "title": text(e, "title"), "summary": text(e, "summary")}
            for e in root.iter(f"{ATOM}entry")]


FILES = sorted(DATA.rglob("*.xml")) if DATA.is_dir() else []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem[:40])
def test_every_real_entry_id_parses(path: Path) -> None:
    for entry in entries(path):
        if "api/errors" in entry["id"]:
            continue  # arXiv's error entry (a 400 for a malformed id) is not a paper
        assert arxiv_id(entry["id"]) is not None, entry["id"]


def test_real_llm_papers_rank_above_the_rest_for_reasons_in_their_text() -> None:
    papers = {p["id"]: p for path in FILES for p in entries(path) if "api/errors" not in p["id"]}
    texts = {pid: f"{p['title']}. {p['summary']}" for pid, p in papers.items()}
    ids = list(texts)
    ranked = rank([texts[pid] for pid in ids])
    top = [ids[r.index] for r in ranked[: len(ids) // 10]]
    scaling = "http://arxiv.org/abs/2605.08083v1"  # "LLMs Improving LLMs: Agentic Discovery for Test-Time Scaling"
    assert len(ids) > 100 and scaling in top[:3]
    assert ranked[top.index(scaling)].topic == "reasoning"
    assert not [pid for pid in top if "-ph/" in pid or "cond-mat" in pid]  # no physics in the top tenth
    for entry in ranked[:10]:
        if entry.topic:
            assert set(entry.matched[entry.topic]) <= set(tokens(texts[ids[entry.index]]))  # reasons are real


FEEDS = sorted((REPO.parent / "shared" / "data" / "blog_feeds").rglob("*.xml"))


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: p.stem[:40])
def test_real_feeds_parse_into_items(path: Path) -> None:
    from agents.sources.feeds import parse

    items, _ = parse(path.read_bytes(), "https://publisher.example/feed", "publisher")
    assert items, f"no item read from {path.name}"
    assert all(item.title or item.link for item in items)
    assert all(item.link.startswith("http") for item in items if item.link)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem[:40])
def test_real_responses_served_on_loopback_come_through_the_arxiv_package(path: Path) -> None:
    """The recorded bytes, served as the API would answer, fetched with the `arxiv` package as a scan does."""
    from datetime import UTC, datetime

    from agents.sources import arxiv as arxiv_source
    from agents.sources.http import SourceFailure
    from workers.sandbox import LoopbackServer, Response

    body = path.read_bytes()
    papers = [e for e in entries(path) if "api/errors" not in e["id"]]
    status = 400 if not papers and "api/errors" in body.decode("utf-8", "replace") else 200

    def answer(request: object) -> Response:
        return Response(status, body, {"Content-Type": "application/atom+xml; charset=utf-8"})

    with LoopbackServer({}, answer) as server:
        since, until = datetime(2020, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
        if status == 400:
            with pytest.raises(SourceFailure) as failure:
                arxiv_source.fetch(f"{server.url}/api/query", ["cs.CL"], since, until, 10, 5.0, 1, 1.0, 0.0)
            assert failure.value.status_code == 400
            return
        limit = max(1, len(papers))
        items = arxiv_source.fetch(f"{server.url}/api/query", ["cs.CL"], since, until, limit, 5.0, 1, 1.0, 0.0)
    assert len(items) == len(papers)
    assert [item.title for item in items] == [p["title"] for p in papers]
    assert all(item.identity[0] == "arxiv" and item.version is not None for item in items)
