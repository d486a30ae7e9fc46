"""Stand-ins for arXiv's API, lab blog feeds and Hub releases, whose content moves week by week (sandbox, tests)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from workers.sandbox import Request, Response

PAPERS = [  # (title, abstract): realistic on-topic and off-topic work
    ("Adaptive Self-Consistency for Chain-of-Thought Reasoning",
     "We sample chain-of-thought reasoning paths adaptively and stop early when answers agree, cutting test-time "
     "compute by 40% at equal accuracy on math word problems."),
    ("Retrieval-Augmented Generation with Learned Passage Reranking",
     "A retrieval-augmented generation pipeline with dense retrieval and a cross-encoder reranking of passages "
     "improves multi-hop question answering."),
    ("Cost-Aware Model Routing for LLM Serving",
     "A router sends each query to the cheapest model expected to answer it, reducing inference cost by half."),
    ("Orchestrating Multi-Agent Teams with Shared Blackboards",
     "Multi-agent orchestration where agents collaborate through a shared blackboard, plan and use tools."),
    ("LLM-as-a-Judge Evaluation Under Benchmark Contamination",
     "We study evaluation with an LLM judge when benchmark contamination inflates leaderboard scores."),
    ("Phonon Transport in Twisted Bilayer Graphene", "We measure thermal conductivity in twisted graphene."),
    ("A Survey of Bird Song Recognition", "Acoustic features for classifying bird songs recorded in the field."),
]


def paper_id(week: int, index: int) -> str:
    return f"26{10 + week:02d}.{index + 1:05d}"


def papers(week: int) -> list[dict[str, Any]]:
    """This week's listing: every paper of the pool, new ids each week; week 3 revises last week's first paper."""
    base = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=7 * week)
    listing = [{"id": paper_id(week, i), "version": 1, "title": t, "summary": s,
                "published": base - timedelta(hours=i), "categories": ["cs.CL", "cs.LG"] if i < 5 else ["physics"]}
               for i, (t, s) in enumerate(PAPERS)]
    if week >= 3:
        listing.append({**listing[0], "id": paper_id(week - 1, 0), "version": 2,
                        "title": PAPERS[0][0] + " (revised)"})
    return listing


def atom(entries: list[dict[str, Any]], total: int, start: int) -> bytes:
    rows = []
    for e in entries:
        cats = "".join(f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in e["categories"])
        rows.append(
            f"<entry><id>http://arxiv.org/abs/{e['id']}v{e['version']}</id>"
            f"<updated>{e['published']:%Y-%m-%dT%H:%M:%SZ}</updated>"
            f"<published>{e['published']:%Y-%m-%dT%H:%M:%SZ}</published>"
            f"<title>{escape(e['title'])}</title><summary>{escape(e['summary'])}</summary>"
            f"<author><name>A. Researcher</name></author><author><name>B. Scientist</name></author>"
            f'<link href="http://arxiv.org/abs/{e["id"]}v{e["version"]}" rel="alternate" type="text/html"/>'
            f'<arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="{e["categories"][0]}"/>'
            f"{cats}</entry>")
    return ('<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title>arXiv Query</title>'
            f"<id>http://arxiv.org/api/query</id><updated>2026-11-22T00:00:00Z</updated>"
            f"<opensearch:totalResults>{total}</opensearch:totalResults>"
            f"<opensearch:startIndex>{start}</opensearch:startIndex>"
            f"<opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>{''.join(rows)}</feed>").encode()


def rss(week: int) -> bytes:
    published = datetime(2026, 11, 1, 12, tzinfo=UTC) + timedelta(days=7 * week)
    items = (f"<item><title><![CDATA[How we cut reasoning costs (week {week})]]></title>"
             f"<link>/index/reasoning-costs-{week}</link>"
             f"<description><![CDATA[Our approach builds on https://arxiv.org/abs/{paper_id(week, 0)} "
             f"and adaptive self-consistency for chain-of-thought reasoning.]]></description>"
             f"<guid isPermaLink=\"false\">post-{week}</guid><pubDate>{format_datetime(published)}</pubDate></item>"
             f"<item><title>Company update {week}</title><link>https://lab.example/index/update-{week}</link>"
             f"<guid>update-{week}</guid></item>")
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Lab News</title>'
            f"<link>https://lab.example/</link><description>News</description>{items}</channel></rss>").encode()


class FakeResearch:
    """arXiv at /api/query, a lab feed at /feed.xml (with ETag and 304), Hub releases at /api/models."""

    def __init__(self, week: int = 1) -> None:
        self.week = week
        self.requests: list[Request] = []
        self.faults: list[Response] = []
        self.delay = 0.0  # seconds before answering: a hang that must time out
        self._lock = threading.Lock()

    def next_week(self) -> None:
        with self._lock:
            self.week += 1

    def handle(self, request: Request) -> Response:
        time.sleep(self.delay)
        with self._lock:
            self.requests.append(request)
            week = self.week
            if self.faults:
                return self.faults.pop(0)
        if request.path == "/api/query":
            listing = papers(week)
            start = int(request.query.get("start", ["0"])[0])
            size = int(request.query.get("max_results", ["100"])[0])
            return Response(200, atom(listing[start:start + size], len(listing), start),
                            {"Content-Type": "application/atom+xml"})
        if request.path == "/feed.xml":
            etag = f'"week-{week}"'
            if request.headers.get("If-None-Match") == etag:
                return Response(304)
            return Response(200, rss(week), {"Content-Type": "application/rss+xml", "ETag": etag})
        if request.path == "/api/models":
            author = request.query.get("author", ["acme"])[0]
            created = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=7 * week)
            return Response.json([{"id": f"{author}/reasoner-{week}", "createdAt": f"{created:%Y-%m-%dT%H:%M:%S.000Z}",
                                   "tags": ["transformers", f"arxiv:{paper_id(week, 0)}", "license:apache-2.0"],
                                   "downloads": 10, "likes": 1, "pipeline_tag": "text-generation"}])
        return Response.json({"error": "not found"}, 404)
