"""Publishing a cycle's report: the GitHub issue (SAFE=false opens it, SAFE=true closes it) and Slack."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from blackboard.cycles import CycleRecord
from blackboard.lease import Lease
from reports.model import WeeklyReport
from reports.publishers import Publication
from reports.publishers.github import GitHubIssues, publish_issue
from reports.publishers.slack import post_status
from reports.render import write_json
from workers.runtime import Runtime

logger = logging.getLogger(__name__)
LOCK_MS = 120_000


@contextmanager
def publish_lock(runtime: Runtime, target: str, wait: float = 60.0) -> Iterator[None]:
    """One publisher at a time across every process, so two report jobs never open two issues."""
    lease = Lease(runtime.connections.board, runtime.keys.publish_lock(target), LOCK_MS, holder=target)
    deadline = time.monotonic() + wait
    while not lease.acquire():
        if time.monotonic() > deadline:
            raise TimeoutError(f"another publisher holds the {target} lock")
        time.sleep(0.05)
    lease.keep_alive()
    try:
        yield
    finally:
        lease.release()


def publish(runtime: Runtime, record: CycleRecord, report: WeeklyReport, markdown: str,
            report_path: Path) -> dict[str, Any]:
    """Publish where configured; a missing token means "not published", never an error."""
    settings = runtime.settings
    results: dict[str, Publication] = {}
    first_reason = report.safety_reasons[0] if report.safety_reasons else ""
    if record.dry_run:
        results["github"] = Publication("github", "skipped", error="dry run: nothing is published")
    elif settings.github_token is None or not settings.github_repository:
        results["github"] = Publication("github", "skipped",
                                        error="not configured (GITHUB_TOKEN and GITHUB_REPOSITORY)")
    else:
        issues = GitHubIssues(settings.github_api_url, settings.github_token.get_secret_value(),
                              settings.github_repository, title=settings.github_issue_title,
                              label=settings.github_issue_label, max_wait=settings.publish_max_wait)
        try:
            results["github"] = publish_issue(issues, record.cycle_id, report.safe, markdown, first_reason,
                                              lock=publish_lock(runtime, "github"))
        except TimeoutError as exc:
            results["github"] = Publication("github", "error", error=str(exc))
        finally:
            issues.close()
    if settings.slack_webhook_url is not None and not record.dry_run:
        results["slack"] = post_status(settings.slack_webhook_url.get_secret_value(), record.cycle_id, report.safe,
                                       first_reason, str(report_path))
    published = {target: result.to_dict() for target, result in results.items()}
    for target, result in results.items():
        if result.error:
            logger.warning("report not published to %s: %s", target, result.error)
    write_json(report.model_copy(update={"published": published}), report_path)
    return published
