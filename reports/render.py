"""Renders a report to Markdown with Jinja and writes it, with its JSON twin, atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from reports.markdown import inert
from reports.weekly import WeeklyReport


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
    return env


def render_markdown(report: WeeklyReport) -> str:
    return _environment().get_template("weekly.md.j2").render(report=report)


def report_filename(report: WeeklyReport) -> str:
    suffix = "-dry-run" if report.dry_run else ""
    return f"{report.started_at:%Y-%m-%d}{suffix}.md"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_report(report: WeeklyReport, report_dir: Path) -> Path:
    """Write ``<report dir>/YYYY-MM-DD.md`` and its ``.json`` twin; returns the Markdown path."""
    path = report_dir / report_filename(report)
    _write_atomically(path.with_suffix(".json"), json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
    _write_atomically(path, render_markdown(report))
    return path
