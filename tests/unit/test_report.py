"""The weekly report: golden Markdown for a SAFE and an unsafe week, hostile input, the size cap, the chart."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from blackboard.entries import CycleEvent, EntryBase, Finding, SkipReason
from reports.chart import score_chart
from reports.markdown import inert, safe_url
from reports.render import GITHUB_BODY_LIMIT, render_markdown, write_report
from reports.weekly import build_report
from tests.unit import report_fixtures as fx

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; rerun with UPDATE_GOLDEN=1 if that is intended"


def test_safe_week_golden() -> None:
    entries = [*fx.events("2026-W47"), *fx.week()]
    report = build_report(fx.record(), entries, fx.STEPS, fx.NOW, pending=["report"], history=fx.history(),
                          proposals=fx.pending())
    assert report.safe and report.summary.models_added == 1 and report.metrics.upgrade_success_rate == 1.0
    assert report.benchmark.trend["coding"][-1] == ("2026-W47", 0.71)
    check_golden("safe_week.md", render_markdown(report))


def test_unsafe_week_golden() -> None:
    report = build_report(fx.record(), fx.unsafe_week(), fx.STEPS, fx.NOW, pending=["report"],
                          history=fx.history(), proposals=fx.pending())
    assert not report.safe
    assert [r.split(":")[0] for r in report.safety_reasons] == [
        "step research_scan failed", "critical regression of openai/gpt-4o-mini on coding (12.0% drop)",
        "an applied change was rolled back (v12 -> v11)"]
    assert report.metrics.upgrade_success_rate == 0.75  # 4 applied over 4 cycles, 1 rolled back
    check_golden("unsafe_week.md", render_markdown(report))


def test_agents_that_did_not_run_are_named_plainly() -> None:
    skipped = [CycleEvent(cycle_id="2026-W47", agent="cycle", created_at=fx.NOW, step=step, status="skipped", run=1,
                          reason="not implemented yet", skip_reason=SkipReason.NOT_IMPLEMENTED)
               for step in fx.STEPS[:-1]]
    markdown = render_markdown(build_report(fx.record(), skipped, fx.STEPS, fx.NOW, pending=["report"]))
    for agent in ("catalog", "benchmark", "research"):
        assert f"The {agent} agent did not run: not implemented yet." in markdown
    assert "Nothing is waiting for approval." in markdown and "No change was applied this cycle." in markdown


def test_hostile_text_stays_inert() -> None:
    hostile: list[EntryBase] = [
        Finding(cycle_id="2026-W47", agent="research", created_at=fx.NOW, source="arxiv", source_id="x1",
                title=fx.HOSTILE_TITLE, url="javascript:alert(1)", summary="A" * 200_000, score=0.99),
        *[e.model_copy(update={"model_id": "evil|model\n# Heading | <img src=x onerror=alert(1)>"})
          for e in fx.week() if getattr(e, "change", None) == "added"],
    ]
    markdown = render_markdown(build_report(fx.record(), [*fx.events("2026-W47"), *hostile], fx.STEPS, fx.NOW,
                                            pending=["report"]))
    for forbidden in ("<script>", "<img", "@everyone", "\n# Heading", "evil|model", "(<javascript"):
        assert forbidden not in markdown
    assert not re.search(r"(?<!\\)\]\(javascript", markdown)  # link syntax only ever appears escaped
    assert "@\u200beveryone" in markdown and "evil\\|model" in markdown
    assert len(markdown) < 20_000  # the 200 KB abstract is not in the report
    table_rows = [line for line in markdown.splitlines() if line.startswith("| evil")]
    assert len(table_rows) == 1 and table_rows[0].count(" | ") == 1  # the pipes did not add columns


def test_inert_and_safe_url() -> None:
    assert inert("fixes #123 for @alice") == "fixes \\#\u200b123 for @\u200balice"
    assert safe_url("https://arxiv.org/abs/2611.01234v2") == "https://arxiv.org/abs/2611.01234v2"
    for bad in ("javascript:alert(1)", "data:text/html,x", "/relative", "https://a.b/x)(y", "ftp://x", None):
        assert safe_url(bad) is None


def test_report_fits_a_github_issue_and_keeps_the_safety_status() -> None:
    many: list[EntryBase] = [*fx.unsafe_week()]
    template = fx.week()[0]
    many += [template.model_copy(update={"model_id": f"vendor/model-{i:05d}" + "x" * 60}) for i in range(5000)]
    many += [Finding(cycle_id="2026-W47", agent="research", created_at=fx.NOW, source="arxiv",
                     source_id=f"id{i}", title="T" * 400, score=i / 3000) for i in range(3000)]
    report = build_report(fx.record(), many, fx.STEPS, fx.NOW, pending=["report"])
    markdown = render_markdown(report)
    assert len(markdown) <= GITHUB_BODY_LIMIT
    assert markdown.splitlines()[2] == "SAFE=false" and "Needs a person" in markdown
    assert "Shortened to fit GitHub's issue size: catalog" in markdown and "more (see the JSON twin" in markdown


def test_written_report_has_json_twin_and_chart(tmp_path: Path) -> None:
    report = build_report(fx.record(), [*fx.events("2026-W47"), *fx.week()], fx.STEPS, fx.NOW,
                          pending=["report"], history=fx.history())
    path, markdown = write_report(report, tmp_path)
    assert path.name == "2026-11-22.md" and path.read_text() == markdown
    assert "![Benchmark score per category over recent cycles](2026-11-22-scores.svg)" in markdown
    chart = (tmp_path / "2026-11-22-scores.svg").read_text()
    assert chart.startswith("<svg") and chart.count("<polyline") == 2 and "2026-W44" in chart
    twin = json.loads(path.with_suffix(".json").read_text())
    assert twin["safe"] is True and len(twin["catalog"]["added"]) == 1 and twin["benchmark"]["chart"]


def test_chart_escapes_and_skips_empty() -> None:
    assert score_chart({}) is None
    svg = score_chart({"<b>coding</b>": [("2026-W46", 0.5), ("2026-W47", 0.6)]})
    assert svg is not None and "<b>" not in svg and "&lt;b&gt;" in svg


@pytest.mark.parametrize("dry_run", [True, False])
def test_dry_run_report_has_its_own_file(tmp_path: Path, dry_run: bool) -> None:
    report = build_report(fx.record().model_copy(update={"dry_run": dry_run}), fx.week(), fx.STEPS, fx.NOW)
    path, markdown = write_report(report, tmp_path)
    assert path.name == ("2026-11-22-dry-run.md" if dry_run else "2026-11-22.md")
    assert ("Dry run" in markdown) is dry_run


def test_a_pending_promotion_says_what_it_waits_for() -> None:
    from datetime import UTC, datetime

    from blackboard.entries import Proposal, ProposalStatus, Risk
    from blackboard.proposals import ProposalState
    from reports.weekly import waiting_for_you

    now = datetime(2026, 11, 22, 3, tzinfo=UTC)
    proposal = Proposal(cycle_id="2026-W46", agent="planner", created_at=now, proposal_id="upgrade:a->b:1",
                        title="Upgrade coding from a to b", risk=Risk.MEDIUM, risk_reason="a routing change",
                        target="routing.coding", reason="b is newer",
                        change={"waiting_for": ["release age: 2 of 7 days", "our benchmark of coding"]})
    state = ProposalState(proposal_id=proposal.proposal_id, status=ProposalStatus.PENDING, risk=Risk.MEDIUM,
                          title=proposal.title, cycle_id="2026-W46", created_at=now, updated_at=now,
                          updated_by="planner", version=1)
    [waiting] = waiting_for_you([], [state], {proposal.proposal_id: proposal})  # proposed in an earlier cycle
    assert waiting.reason == "b is newer"
    assert waiting.waiting_for == ["release age: 2 of 7 days", "our benchmark of coding"]
