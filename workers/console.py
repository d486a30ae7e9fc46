"""Terminal output: human progress on stderr, one JSON object as the last line of stdout with --json."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from rich.console import Console

from blackboard.entries import CycleEvent, StepStatus
from blackboard.redaction import redact

err = Console(stderr=True, highlight=False, soft_wrap=True)
MARKS = {StepStatus.STARTED: "…", StepStatus.SUCCEEDED: "✓", StepStatus.FAILED: "✗", StepStatus.SKIPPED: "-"}


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = ()
        return True


def setup_logging(verbose: bool, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("rq").setLevel(logging.INFO if verbose else logging.WARNING)


def show_event(event: CycleEvent) -> None:
    mark = MARKS[event.status]
    seconds = f"{event.seconds:6.2f}s" if event.seconds is not None else "       "
    note = f"  {event.reason}" if event.reason else ""
    style = {"failed": "red", "succeeded": "green", "skipped": "yellow"}.get(event.status.value, "dim")
    err.print(f"  [{style}]{mark} {event.step:<14} {event.status.value:<9}[/] {seconds}{note}", markup=True)


def warn(text: str) -> None:
    err.print(f"[yellow]warning:[/] {text}", markup=True)


def emit(data: dict[str, Any], as_json: bool, human: str = "") -> None:
    if as_json:
        if human:
            err.print(human, markup=False)
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    elif human:
        sys.stdout.write(human + "\n")
    sys.stdout.flush()
