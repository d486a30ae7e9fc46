"""Publishers: where a report goes besides the report folder (a GitHub issue, a Slack-compatible webhook)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Publication:
    """What one publisher did; it never raises for upstream trouble, it says what happened here."""

    target: str
    action: str  # created, commented, updated, unchanged, closed, none, posted, skipped, rate_limited, error
    number: int | None = None
    url: str | None = None
    error: str | None = None
    actions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, [])}
