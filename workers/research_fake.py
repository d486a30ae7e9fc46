"""Stand-ins for arXiv's API, lab blog feeds and Hub releases, whose content moves week by week (sandbox, tests)."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from workers import research_papers, research_releases
from workers.sandbox import Request, Response


def paper_id(week: int, index: int) -> str:
    return f"26{10 + week:02d}.{index + 1:05d}"


def papers(week: int, content: int | None = None) -> list[dict[str, Any]]:
    """Week ``week``'s listing under its own ids, with the papers of week ``content`` (by default the same);
    from week 3, last week's first paper comes again as version 2."""
    base = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=7 * week)
    listing = [{"id": paper_id(week, i), "version": 1, "title": p.title, "summary": p.abstract,
                "published": base - timedelta(hours=i), "categories": list(p.categories)}
               for i, p in enumerate(research_papers.week(content or week).papers)]
    if week >= 3:
        revised = research_papers.week(content or week - 1).papers[0]
        listing.append({**listing[0], "id": paper_id(week - 1, 0), "version": 2,
                        "title": revised.title + " (revised)", "summary": revised.abstract,
                        "categories": list(revised.categories)})
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


def rss(week: int, content: int | None = None) -> bytes:
    """The lab's feed: a post about the week's first paper (CDATA, a relative link), and news with no date."""
    published = datetime(2026, 11, 1, 12, tzinfo=UTC) + timedelta(days=7 * week)
    this_week = research_papers.week(content or week)
    title, text = this_week.post
    slug = "-".join(re.findall(r"[a-z0-9]+", title.lower())[:4])
    items = (f"<item><title><![CDATA[{title}]]></title><link>/index/{slug}-{week}</link>"
             f"<description><![CDATA[{text.format(paper=f'https://arxiv.org/abs/{paper_id(week, 0)}')}]]>"
             f"</description><guid isPermaLink=\"false\">post-{week}</guid>"
             f"<pubDate>{format_datetime(published)}</pubDate></item>"
             f"<item><title>{escape(this_week.news)}</title><link>https://lab.example/index/update-{week}</link>"
             f"<guid>update-{week}</guid></item>")
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Lab News</title>'
            f"<link>https://lab.example/</link><description>News</description>{items}</channel></rss>").encode()


def models(author: str, week: int, content: int | None = None) -> list[dict[str, Any]]:
    """The author's releases of the week (those of week ``content``), newest first, as ``GET /api/models`` lists
    them; one is tagged with the week's first paper."""
    created = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=7 * week)
    listing = []
    for i, release in enumerate(research_releases.releases(content or week)):
        tags = ["transformers", "safetensors", release.pipeline, *release.tags, f"license:{release.licence}",
                *([f"arxiv:{paper_id(week, 0)}"] if release.cites_paper else [])]
        listing.append({"id": f"{author}/{release.name}", "tags": tags,
                        "createdAt": f"{created - timedelta(hours=i):%Y-%m-%dT%H:%M:%S.000Z}",
                        "downloads": 10 * (i + 1), "likes": 1 + i, "pipeline_tag": release.pipeline,
                        "safetensors": {"total": int(release.billions * 1e9)}})
    return listing


def model_card(name: str) -> str | None:
    """A release's README.md, whichever week it came out: its metadata as YAML front matter, then its summary."""
    release = next((r for week in research_releases.WEEKS for r in week if r.name == name), None)
    if release is None:
        return None
    return (f"---\nlicense: {release.licence}\npipeline_tag: {release.pipeline}\ntags: [{', '.join(release.tags)}]"
            f"\n---\n\n# {release.name}\n\n{release.card}\n")


class FakeResearch:
    """arXiv at /api/query, a lab feed at /feed.xml (with ETag and 304), Hub releases at /api/models and their
    cards at /<author>/<name>/resolve/main/README.md. With ``reprints``, every week serves week 1's content again
    under the week's own ids and dates: near-duplicates to catch."""

    def __init__(self, week: int = 1, reprints: bool = False) -> None:
        self.week = week
        self.reprints = reprints
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
            week, content = self.week, 1 if self.reprints else None
            if self.faults:
                return self.faults.pop(0)
        if request.path == "/api/query":
            listing = papers(week, content)
            start = int(request.query.get("start", ["0"])[0])
            size = int(request.query.get("max_results", ["100"])[0])
            return Response(200, atom(listing[start:start + size], len(listing), start),
                            {"Content-Type": "application/atom+xml"})
        if request.path == "/feed.xml":
            etag = f'"week-{week}"'
            if request.headers.get("If-None-Match") == etag:
                return Response(304)
            return Response(200, rss(week, content), {"Content-Type": "application/rss+xml", "ETag": etag})
        if request.path == "/api/models":
            return Response.json(models(request.query.get("author", ["acme"])[0], week, content))
        author, _, name_and_file = request.path.strip("/").partition("/")
        name, _, file = name_and_file.partition("/")
        card = model_card(name) if author and file == "resolve/main/README.md" else None
        if card is not None:
            return Response(200, card.encode(), {"Content-Type": "text/plain; charset=utf-8"})
        return Response.json({"error": "not found"}, 404)
