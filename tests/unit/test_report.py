from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from blackboard.cycles import CycleRecord
from blackboard.entries import CycleEvent, SkipReason, SourceError
from reports.markdown import inert
from reports.render import render_markdown, write_report
from reports.weekly import build_report

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
STEPS = ["catalog_sync", "research_scan", "report"]
HOSTILE = "@everyone <script>alert(1)</script> [click](javascript:alert(1)) | fixes #123"


def record(**overrides: object) -> CycleRecord:
    values: dict[str, object] = {"cycle_id": "2026-W47", "kind": "weekly", "created_at": NOW, "run": 1}
    values.update(overrides)
    return CycleRecord(**values)  # type: ignore[arg-type]


def entries() -> list:  # type: ignore[type-arg]
    return [
        CycleEvent(cycle_id="2026-W47", agent="cycle", created_at=NOW, step="catalog_sync", status="skipped", run=1,
                   reason="not implemented yet", skip_reason=SkipReason.NOT_IMPLEMENTED, seconds=0.01),
        CycleEvent(cycle_id="2026-W47", agent="cycle", created_at=NOW, step="research_scan", status="failed", run=1,
                   reason=HOSTILE, seconds=1.5),
        SourceError(cycle_id="2026-W47", agent="research", created_at=NOW, step="research_scan", source="arxiv",
                    error_type="HTTP 503", message=HOSTILE),
    ]


def test_untrusted_text_is_inert() -> None:
    text = inert(HOSTILE)
    assert "<script>" not in text and "@everyone" not in text and "#123" not in text
    assert "](" not in text.replace("\\](", "")  # the link syntax is escaped
    assert "\\|" in text  # cannot break a table row
    assert len(inert("x" * 10_000, limit=300)) <= 300
    assert "\n" not in inert("line one\n# heading\n")


def test_report_states_safe_flag_first_and_names_failures(tmp_path: Path) -> None:
    report = build_report(record(), entries(), STEPS, NOW, pending=["report"])
    markdown = render_markdown(report)
    lines = markdown.splitlines()
    assert lines[0].startswith("# Weekly improvement report") and lines[2] == "SAFE=false"
    assert "step research\\_scan failed" in markdown and "catalog\\_sync did not run" in markdown
    assert "<script>" not in markdown and "@everyone" not in markdown
    path = write_report(report, tmp_path)
    assert path.name == "2026-11-22.md" and path.read_text() == markdown
    twin = json.loads(path.with_suffix(".json").read_text())
    assert twin["safe"] is False and twin["cycle_id"] == "2026-W47" and twin["steps"][2]["status"] == "running"


def test_dry_run_report_has_its_own_file_and_says_so(tmp_path: Path) -> None:
    report = build_report(record(dry_run=True), entries(), STEPS, NOW)
    path = write_report(report, tmp_path)
    assert path.name == "2026-11-22-dry-run.md" and "Dry run" in path.read_text()
