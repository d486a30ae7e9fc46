from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from blackboard.clock import Clock, parse_instant, quick_cycle_id, weekly_cycle_id
from blackboard.redaction import redact
from workers.settings import Settings


def test_cycle_ids_follow_the_clock() -> None:
    clock = Clock(parse_instant("2026-11-15T03:00:00Z"))
    assert clock.now() == datetime(2026, 11, 15, 3, tzinfo=UTC) == clock.now()
    assert weekly_cycle_id(clock.now()) == "2026-W46"
    assert weekly_cycle_id(parse_instant("2027-01-01T00:00:00")) == "2026-W53"
    assert quick_cycle_id(parse_instant("2026-11-22T17:59:59Z")) == "quick-2026-11-22T12"
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_instant("next tuesday")


def test_settings_from_environment_and_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "improve.toml"
    toml.write_text('report_dir = "from-toml"\nretention_days = 30\n')
    monkeypatch.setenv("IMPROVE_CONFIG", str(toml))
    monkeypatch.setenv("IMPROVE_NOW", "2026-11-15T03:00:00Z")
    monkeypatch.setenv("IMPROVE_RETENTION_DAYS", "60")
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2-secret@localhost:6379/0")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_abcdefghijklmnop")
    monkeypatch.setenv("IMPROVE_STEP_OVERRIDES", '{"plan": "tests.fixture_steps:sleeper"}')
    settings = Settings()
    assert settings.report_dir == Path("from-toml") and settings.retention_days == 60  # the environment wins
    assert settings.clock().now() == datetime(2026, 11, 15, 3, tzinfo=UTC)
    assert settings.step_overrides == {"plan": "tests.fixture_steps:sleeper"}
    assert "hunter2" not in repr(settings) and "ghp_" not in repr(settings)
    assert set(settings.secrets()) == {"hunter2-secret", "ghp_abcdefghijklmnop"}


def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPROVE_STEP_OVERRIDES", '{"plan": "no-colon"}')
    with pytest.raises(ValueError, match="package.module:function"):
        Settings()


def test_redaction() -> None:
    text = "failed redis://user:pa55word@host:6379/0 with Authorization: Bearer abcdefghijkl and key sk-or-123456"
    masked = redact(text, ["sk-or-123456"])
    assert "pa55word" not in masked and "abcdefghijkl" not in masked and "sk-or-123456" not in masked


def test_only_documented_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOW", "2020-01-01T00:00:00Z")  # an unrelated variable must not pin the clock
    monkeypatch.setenv("state_dir", "/elsewhere")
    settings = Settings()
    assert settings.now is None and settings.state_dir == Path(".improve")


def test_score_weights_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPROVE_SCORE_WEIGHTS", '{"popularity": 1, "performance": 0, "recency": 0, "compatibility": 0}')
    assert Settings().score_weights["popularity"] == 1
    monkeypatch.setenv("IMPROVE_SCORE_WEIGHTS", '{"popularity": 1}')
    with pytest.raises(ValueError, match="score weights"):
        Settings()
