from __future__ import annotations

import pytest

from agents.papers import Item, arxiv_id, cited_papers, merge, normalise_link


@pytest.mark.parametrize(("text", "expected"), [
    ("http://arxiv.org/abs/2202.12139v1", ("2202.12139", 1)),
    ("oai:arXiv.org:2508.13426v3", ("2508.13426", 3)),
    ("https://arxiv.org/abs/2508.13426", ("2508.13426", None)),
    ("https://arxiv.org/pdf/2508.13426v2.pdf", ("2508.13426", 2)),
    ("2608.27454", ("2608.27454", None)),
    ("http://arxiv.org/abs/quant-ph/0201082v1", ("quant-ph/0201082", 1)),
    ("http://arxiv.org/abs/astro-ph/0601001", ("astro-ph/0601001", None)),
    ("https://openai.com/index/some-post", None),
    ("abc", None),
])
def test_arxiv_ids(text: str, expected: tuple[str, int | None] | None) -> None:
    assert arxiv_id(text) == expected


def test_cited_papers_and_links() -> None:
    text = "See https://arxiv.org/abs/2611.01234v2 and arXiv:2610.00042, again arxiv.org/pdf/2611.01234"
    assert cited_papers(text) == ["2611.01234", "2610.00042"]
    assert normalise_link("HTTPS://Example.com/post/?utm_source=x&id=3#top") == "https://example.com/post?id=3"


def paper(version: int, title: str = "Adaptive self-consistency") -> Item:
    return Item("arxiv", title, f"http://arxiv.org/abs/2611.01234v{version}", native_id=f"2611.01234v{version}")


def test_versions_and_sources_merge_into_one_finding() -> None:
    blog = Item("feed:openai", "Our research on sampling", "https://openai.com/index/sampling/?utm_source=rss",
                summary="We build on https://arxiv.org/abs/2611.01234.")
    release = Item("huggingface", "org/model", "https://huggingface.co/org/model", native_id="org/model",
                   tags=("arxiv:2611.01234",))
    other = Item("feed:deepmind", "Unrelated post", "https://deepmind.google/blog/x/")
    items, merged = merge([blog, paper(1), release, paper(2), other])
    assert merged == 3 and len(items) == 2
    lead = next(i for i in items if i.identity == ("arxiv", "2611.01234"))
    assert lead.version == 2 and lead.also_from == ["feed:openai", "huggingface"]
    assert other.identity == ("feed", "https://deepmind.google/blog/x")
