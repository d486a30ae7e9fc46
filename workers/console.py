"""Terminal output: human progress on stderr, one JSON object as the last line of stdout with --json."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
import redis
from pydantic import ValidationError
from rich.console import Console

from blackboard.entries import CycleEvent, StepStatus
from blackboard.errors import BlackboardError
from blackboard.redaction import redact
from workers.settings import Settings

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


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text for a terminal: control characters (an escape sequence in a paper title or a model id) become ``?``."""
    return _CONTROL.sub("?", text)


def emit(data: dict[str, Any], as_json: bool, human: str = "") -> None:
    human = printable(human)
    if as_json:
        if human:
            err.print(human, markup=False)
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    elif human:
        sys.stdout.write(human + "\n")
    sys.stdout.flush()


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise click.UsageError(f"invalid settings:\n{exc}") from exc


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn infrastructure failures into one clear line and a non-zero exit, never a traceback of secrets."""
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (redis.RedisError, BlackboardError, TimeoutError, RuntimeError, OSError) as exc:
            try:
                secrets = Settings().secrets()
            except ValidationError:
                secrets = []
            err.print(f"error: {redact(f'{type(exc).__name__}: {exc}', secrets)}", markup=False)
            sys.exit(1)
    return wrapper
