"""The schedule table and its periods: pure functions of cron strings and explicit instants (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from blackboard.clock import parse_instant
from tests.conftest import make_settings
from workers.scheduler import configured, describe_schedules
from workers.schedules import (
    ScheduleError,
    check_cron,
    hold_for,
    make,
    missed,
    next_run,
    period_label,
    period_of,
    table,
)


def at(text: str) -> datetime:
    return parse_instant(text)


def test_defaults_are_the_documented_table(tmp_path: Path) -> None:
    weekly, quick, research = table()
    assert (weekly.name, weekly.cron, weekly.setting) == ("weekly", "0 3 * * 0", "IMPROVE_SCHEDULE_WEEKLY")
    assert (quick.name, quick.cron, quick.setting) == ("quick", "0 */6 * * *", "IMPROVE_SCHEDULE_QUICK")
    assert (research.name, research.cron, research.setting) == ("research", "0 2 * * *", "IMPROVE_SCHEDULE_RESEARCH")
    assert (weekly.queue, quick.queue, research.queue) == ("planning", "planning", "research")
    assert configured(make_settings(tmp_path)) == (weekly, quick, research)
    assert [s.cron for s in configured(make_settings(tmp_path, schedule_quick="30 */2 * * *"))] == [
        "0 3 * * 0", "30 */2 * * *", "0 2 * * *"]


@pytest.mark.parametrize(("now", "period", "following"), [
    ("2026-11-22T02:59:00Z", "2026-11-15T03:00:00Z", "2026-11-22T03:00:00Z"),  # Sunday, a minute early
    ("2026-11-22T03:00:00Z", "2026-11-22T03:00:00Z", "2026-11-29T03:00:00Z"),  # on the tick: its own period
    ("2026-11-22T03:00:59.999Z", "2026-11-22T03:00:00Z", "2026-11-29T03:00:00Z"),
    ("2026-11-22T03:01:00Z", "2026-11-22T03:00:00Z", "2026-11-29T03:00:00Z"),
    ("2026-11-25T12:00:00Z", "2026-11-22T03:00:00Z", "2026-11-29T03:00:00Z"),  # midweek
    ("2026-11-22T05:00:00+02:00", "2026-11-22T03:00:00Z", "2026-11-29T03:00:00Z"),  # another zone, same instant
])
def test_weekly_periods_around_sunday_three(now: str, period: str, following: str) -> None:
    weekly = make("weekly")
    assert period_of(weekly, at(now)) == at(period)
    assert next_run(weekly, at(now)) == at(following)


@pytest.mark.parametrize(("now", "period", "following"), [
    ("2026-11-22T00:00:00Z", "2026-11-22T00:00:00Z", "2026-11-22T06:00:00Z"),
    ("2026-11-22T05:59:59Z", "2026-11-22T00:00:00Z", "2026-11-22T06:00:00Z"),
    ("2026-11-22T06:00:00Z", "2026-11-22T06:00:00Z", "2026-11-22T12:00:00Z"),
    ("2026-11-22T23:59:00Z", "2026-11-22T18:00:00Z", "2026-11-23T00:00:00Z"),
])
def test_quick_periods_every_six_hours(now: str, period: str, following: str) -> None:
    quick = make("quick")
    assert period_of(quick, at(now)) == at(period)
    assert next_run(quick, at(now)) == at(following)


@pytest.mark.parametrize(("now", "period", "following"), [
    ("2026-11-22T01:59:00Z", "2026-11-21T02:00:00Z", "2026-11-22T02:00:00Z"),
    ("2026-11-22T02:00:00Z", "2026-11-22T02:00:00Z", "2026-11-23T02:00:00Z"),
    ("2026-12-31T23:00:00Z", "2026-12-31T02:00:00Z", "2027-01-01T02:00:00Z"),  # over the year's end
])
def test_research_periods_daily(now: str, period: str, following: str) -> None:
    research = make("research")
    assert period_of(research, at(now)) == at(period)
    assert next_run(research, at(now)) == at(following)


@pytest.mark.parametrize(("cron", "why"), [
    ("61 * * * *", "out of range"),
    ("0 3 * * 0 0", "6 fields, not 5"),
    ("0 3 * *", "4 fields, not 5"),
    ("every sunday", "2 fields, not 5"),
    ("0 3 * * funday", "not acceptable"),
    ("0 0 30 2 *", "failed to find next date"),  # 30 February never comes
    ("@fortnightly", "unknown alias"),
])
def test_invalid_cron_strings_are_rejected_clearly(cron: str, why: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        make("weekly", cron)
    message = str(caught.value)
    assert "IMPROVE_SCHEDULE_WEEKLY" in message and repr(cron) in message and why in message
    assert "'0 3 * * 0'" in message and "'off'" in message  # says how to fix it


def test_cron_strings_are_normalised_and_aliases_allowed() -> None:
    assert check_cron("  0  */6 * *   * ") == "0 */6 * * *"
    assert make("weekly", "@weekly").cron == "@weekly"
    assert period_of(make("weekly", "@weekly"), at("2026-11-25T00:00:00Z")) == at("2026-11-22T00:00:00Z")


def test_a_missed_sunday_is_caught_up_once_not_once_per_missed_week() -> None:
    weekly = make("weekly")
    last = at("2026-11-08T03:00:00Z")
    now = at("2026-12-02T10:00:00Z")  # down for three Sundays: 15, 22 and 29 November
    assert missed(weekly, last, now) == at("2026-11-29T03:00:00Z")  # the latest one only
    assert missed(weekly, at("2026-11-29T03:00:00Z"), now) is None  # once it ran, nothing is left to catch up
    assert missed(weekly, at("2026-11-29T03:00:00Z"), at("2026-12-06T03:00:00Z")) == at("2026-12-06T03:00:00Z")


def test_nothing_is_missed_before_the_tick_or_without_a_last_run() -> None:
    weekly = make("weekly")
    assert missed(weekly, at("2026-11-15T03:00:00Z"), at("2026-11-22T02:59:00Z")) is None
    assert missed(weekly, at("2026-11-15T03:00:00Z"), at("2026-11-22T03:00:00Z")) == at("2026-11-22T03:00:00Z")
    assert missed(weekly, at("2026-11-22T03:00:05Z"), at("2026-11-23T00:00:00Z")) is None  # ran just after it
    assert missed(weekly, None, at("2026-11-23T00:00:00Z")) is None


def test_quick_catch_up_takes_the_latest_six_hour_tick() -> None:
    assert missed(make("quick"), at("2026-11-22T00:00:00Z"), at("2026-11-23T13:10:00Z")) == at("2026-11-23T12:00:00Z")


@pytest.mark.parametrize("off", ["", "off", "OFF", "  "])
def test_disabled_schedules_have_no_periods(off: str, tmp_path: Path) -> None:
    schedule = make("research", off)
    assert not schedule.enabled and schedule.cron == ""
    now = at("2026-11-22T03:00:00Z")
    assert period_of(schedule, now) is None and next_run(schedule, now) is None
    assert missed(schedule, at("2026-01-01T00:00:00Z"), now) is None
    weekly, quick, research = configured(make_settings(tmp_path, schedule_weekly=off))
    assert not weekly.enabled and quick.enabled and research.enabled


def test_disabled_by_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMPROVE_SCHEDULE_QUICK", "off")
    monkeypatch.setenv("IMPROVE_SCHEDULE_RESEARCH", "15 1 * * *")
    weekly, quick, research = configured(make_settings(tmp_path))
    assert weekly.enabled and not quick.enabled and research.cron == "15 1 * * *"


def test_labels_round_trip_and_locks_outlive_their_period() -> None:
    tick = at("2026-11-22T03:00:00Z")
    assert period_label(tick) == "2026-11-22T03:00Z"
    assert parse_instant(period_label(tick)) == tick
    assert period_label(at("2026-11-22T04:00:00+01:00")) == "2026-11-22T03:00Z"
    assert hold_for(make("weekly"), tick) == timedelta(days=7, hours=1)
    assert hold_for(make("quick"), at("2026-11-22T00:00:00Z")) == timedelta(hours=7)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        period_of(make("weekly"), datetime(2026, 11, 22, 3))
    assert period_of(make("weekly"), datetime(2026, 11, 22, 3, tzinfo=UTC)) == at("2026-11-22T03:00:00Z")


def test_status_lines_show_next_and_last_runs() -> None:
    rows = [
        {"name": "weekly", "cron": "0 3 * * 0", "enabled": True, "error": None, "setting": "IMPROVE_SCHEDULE_WEEKLY",
         "queue": "planning", "next_run": "2026-11-29T03:00:00+00:00", "last_period": "2026-11-22T03:00Z",
         "last_action": "started", "last_detail": "cycle 2026-W47 started", "pending_period": None},
        {"name": "quick", "cron": "", "enabled": False, "error": None, "setting": "IMPROVE_SCHEDULE_QUICK"},
        {"name": "research", "cron": "0 2 * * *", "enabled": True, "error": None, "queue": "research",
         "setting": "IMPROVE_SCHEDULE_RESEARCH", "next_run": "2026-11-23T02:00:00+00:00", "last_period": None,
         "last_action": None, "last_detail": None, "pending_period": "2026-11-22T02:00Z"},
    ]
    lines = describe_schedules(rows, [])
    assert lines[0].startswith("Schedules (UTC; no scheduler running")
    assert "next 2026-11-29T03:00:00+00:00" in lines[1] and "last 2026-11-22T03:00Z started" in lines[1]
    assert "off (IMPROVE_SCHEDULE_QUICK)" in lines[2]
    assert "never run" in lines[3] and "waits for a worker on research" in lines[3]
    assert "1 scheduler(s) running: s1" in describe_schedules(rows, [{"name": "s1"}])[0]
