"""Renders a report to Markdown with Jinja (within GitHub's issue size) and writes it with its JSON twin and chart."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from reports.chart import score_chart
from reports.markdown import code, inert, safe_url
from reports.model import WeeklyReport

GITHUB_BODY_LIMIT = 65_536
SECTIONS = ("catalog", "benchmark", "research", "waiting", "errors")
MINIMUM_ITEMS = 3


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        undefined=StrictUndefined,
        autoescape=False,  # Markdown, not HTML: untrusted text goes through the `inert` filter instead
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["inert"] = inert
    env.filters["code"] = code
    env.filters["safe_url"] = safe_url
    return env


def render_markdown(report: WeeklyReport, limit: int = GITHUB_BODY_LIMIT) -> str:
    """The Markdown, shortened section by section until it fits ``limit`` (the safety status is never cut)."""
    template = _environment().get_template("weekly.md.j2")
    limits: dict[str, int | None] = dict.fromkeys(SECTIONS)
    text = template.render(report=report, limits=limits)
    sizes = {"catalog": 400, "benchmark": 200, "research": 50, "waiting": 100, "errors": 100}
    counts = _counts(report)
    while len(text) > limit and any(size > MINIMUM_ITEMS for size in sizes.values()):
        sizes = {name: max(MINIMUM_ITEMS, size // 2) for name, size in sizes.items()}
        limits = dict(sizes)
        cut = [name for name in SECTIONS if counts[name] > sizes[name]]
        text = template.render(report=report.model_copy(update={"truncated": cut}), limits=limits)
    if len(text) > limit:
        marker = "\n\n> Cut to fit GitHub's issue size; the JSON twin has everything.\n"
        text = text[: limit - len(marker)].rsplit("\n", 1)[0] + marker
    return text


def _counts(report: WeeklyReport) -> dict[str, int]:
    catalog = report.catalog
    return {
        "catalog": max(len(catalog.added), len(catalog.removed), len(catalog.moves), len(catalog.deprecations),
                       len(catalog.other)),
        "benchmark": max(len(report.benchmark.rows), len(report.benchmark.regressions)),
        "research": len(report.research.findings), "waiting": len(report.waiting),
        "errors": len(report.source_errors),
    }


def report_filename(report: WeeklyReport) -> str:
    suffix = "-dry-run" if report.dry_run else ""
    return f"{report.started_at:%Y-%m-%d}{suffix}.md"


def write_text(path: Path, text: str) -> None:
    """Write a file atomically (write, then rename): a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(report: WeeklyReport, markdown_path: Path) -> None:
    write_text(markdown_path.with_suffix(".json"),
                      json.dumps(report.model_dump(mode="json"), indent=2) + "\n")


def write_report(report: WeeklyReport, report_dir: Path) -> tuple[Path, str]:
    """Write ``<report dir>/YYYY-MM-DD.md``, its ``.json`` twin and its chart; returns the path and the Markdown."""
    path = report_dir / report_filename(report)
    chart = score_chart(report.benchmark.trend)
    if chart is not None:
        chart_path = path.with_name(path.stem + "-scores.svg")
        write_text(chart_path, chart)
        report = report.model_copy(update={"benchmark": report.benchmark.model_copy(
            update={"chart": chart_path.name})})
    markdown = render_markdown(report)
    write_json(report, path)
    write_text(path, markdown)
    return path, markdown
