"""The built-in schedules and their periods: pure functions of a cron string and an instant (UTC, the one clock).

A schedule's *period* is named by its latest cron tick: a run at any time between two ticks belongs to the
earlier one. That is what the per-period locks and the catch-up of a missed run are keyed on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from croniter import croniter  # type: ignore[import-untyped]

DISABLED = ("", "off")  # "" in improve.toml or code; "off" also in the environment, where "" means unset
ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
LOCK_MARGIN = timedelta(hours=1)


class ScheduleError(ValueError):
    """A schedule's cron string cannot be used."""


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str  # "m h dom mon dow" in UTC; "" when disabled
    setting: str
    queue: str
    title: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "cron", check_cron(self.cron, self.setting))

    @property
    def enabled(self) -> bool:
        return bool(self.cron)


def check_cron(cron: str, setting: str = "the cron string") -> str:
    """The normalised cron string ("" when disabled), or a ScheduleError saying what is wrong and how to fix it."""
    text = " ".join(cron.split())
    if text.lower() in DISABLED:
        return ""
    fields = text.split(" ")
    if text.startswith("@"):
        problem = None if text.lower() in ALIASES else f"unknown alias (known: {', '.join(ALIASES)})"
    elif len(fields) != 5:
        problem = f"it has {len(fields)} fields, not 5"
    else:
        try:
            croniter(text, datetime(2026, 1, 1, tzinfo=UTC)).get_next(datetime)  # also: a date that never comes
            problem = None
        except (ValueError, KeyError) as exc:
            problem = str(exc)
    if problem:
        raise ScheduleError(f"{setting}={cron!r} is not a valid cron string: {problem}. Write 'minute hour "
                            f"day-of-month month day-of-week' in UTC (e.g. '0 3 * * 0'), or 'off' to disable it")
    return text


DEFAULTS: dict[str, Schedule] = {schedule.name: schedule for schedule in (
    Schedule("weekly", "0 3 * * 0", "IMPROVE_SCHEDULE_WEEKLY", "planning", "weekly full cycle"),
    Schedule("quick", "0 */6 * * *", "IMPROVE_SCHEDULE_QUICK", "planning", "quick catalog sync"),
    Schedule("research", "0 2 * * *", "IMPROVE_SCHEDULE_RESEARCH", "research", "research scan"),
)}


def make(name: str, cron: str | None = None) -> Schedule:
    """A built-in schedule, with its cron string replaced when one is given."""
    if name not in DEFAULTS:
        raise ScheduleError(f"no schedule {name!r} (known: {', '.join(DEFAULTS)})")
    return DEFAULTS[name] if cron is None else replace(DEFAULTS[name], cron=cron)


def table(weekly: str | None = None, quick: str | None = None, research: str | None = None) -> tuple[Schedule, ...]:
    """Every built-in schedule, each with the cron string configured for it (None keeps the default)."""
    return make("weekly", weekly), make("quick", quick), make("research", research)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{at!r} has no time zone; schedules work in UTC")
    return at.astimezone(UTC)


def period_of(schedule: Schedule, at: datetime) -> datetime | None:
    """The period a run at ``at`` belongs to: the latest tick at or before it (None when disabled)."""
    if not schedule.enabled:
        return None
    minute = _utc(at).replace(second=0, microsecond=0)  # ticks fall on whole minutes
    tick: datetime = croniter(schedule.cron, minute + timedelta(minutes=1)).get_prev(datetime)
    return tick.astimezone(UTC)


def next_run(schedule: Schedule, at: datetime) -> datetime | None:
    """The first tick after ``at`` (None when disabled)."""
    if not schedule.enabled:
        return None
    tick: datetime = croniter(schedule.cron, _utc(at)).get_next(datetime)
    return tick.astimezone(UTC)


def missed(schedule: Schedule, last_run: datetime | None, now: datetime) -> datetime | None:
    """The period to catch up now: the latest tick after ``last_run`` that has passed, once however many passed.

    None when nothing was missed, when the schedule is disabled, or when there is no ``last_run`` to count from.
    """
    if last_run is None:
        return None
    tick = period_of(schedule, now)
    return tick if tick is not None and tick > _utc(last_run) else None


def hold_for(schedule: Schedule, tick: datetime) -> timedelta:
    """How long a period's lock lives: until the next tick, and a margin (the period in its key keeps them apart)."""
    following = next_run(schedule, tick)
    return (following - tick if following is not None else timedelta(days=1)) + LOCK_MARGIN


def period_label(tick: datetime) -> str:
    """A period's name in keys, records and job arguments, e.g. ``2026-11-22T03:00Z``."""
    return f"{_utc(tick):%Y-%m-%dT%H:%M}Z"
