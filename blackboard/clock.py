"""The one clock: the system's UTC time, or a pinned instant (IMPROVE_NOW) for demos, tests and replays."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r} (example: 2026-11-15T03:00:00Z)") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Clock:
    """Tells the time in UTC; a pinned clock always tells the same instant."""

    def __init__(self, pinned: datetime | None = None) -> None:
        self.pinned = pinned.astimezone(UTC) if pinned is not None else None

    def now(self) -> datetime:
        return self.pinned if self.pinned is not None else datetime.now(UTC)

    def __repr__(self) -> str:
        return f"Clock(pinned={self.pinned.isoformat() if self.pinned else None})"


def weekly_cycle_id(instant: datetime) -> str:
    """The ISO week of an instant, e.g. ``2026-W47``: the id of that week's full cycle."""
    year, week, _ = instant.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def quick_cycle_id(instant: datetime, period_hours: int = 6) -> str:
    """The id of the quick cycle for the 6-hour period holding an instant, e.g. ``quick-2026-11-22T12``."""
    utc = instant.astimezone(UTC)
    return f"quick-{utc:%Y-%m-%d}T{utc.hour - utc.hour % period_hours:02d}"
