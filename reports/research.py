"""The weekly research summary: the top findings per topic with why they ranked, proposals, sources."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from blackboard.entries import Finding, Proposal
from reports.render import _environment, write_text


def render_summary(date: str, findings: Sequence[Finding], proposals: Sequence[Proposal],
                   sources: dict[str, str], per_topic: int = 10) -> str:
    by_topic: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: -(f.score or 0)):
        topic = max(finding.topics.items(), key=lambda item: item[1])[0] if finding.topics else "other"
        if len(by_topic.setdefault(topic, [])) < per_topic:
            by_topic[topic].append(finding)
    return _environment().get_template("research.md.j2").render(
        date=date, findings=findings, proposals=proposals, sources=sources, by_topic=by_topic)


def write_summary(folder: Path, date: str, text: str) -> Path:
    path = folder / "findings" / f"{date}.md"
    write_text(path, text)
    return path
