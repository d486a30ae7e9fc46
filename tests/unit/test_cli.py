"""The `improve` command on the in-memory fallback (the embedded redis-server is covered in integration)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import NO_ARXIV, NO_FEED, NO_HUB, NO_UPSTREAM
from workers.cli import main


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"IMPROVE_EMBEDDED": "fakeredis", "IMPROVE_STATE_DIR": str(tmp_path / "state"),
            "IMPROVE_REPORT_DIR": str(tmp_path / "reports"), "IMPROVE_NOW": "2026-11-15T03:00:00Z",
            "REDIS_URL": "", "IMPROVE_CONFIG": str(tmp_path / "none.toml"), "OPENROUTER_BASE_URL": NO_UPSTREAM,
            "HF_ENDPOINT": NO_HUB, "IMPROVE_HTTP_ATTEMPTS": "1", "ARXIV_API_URL": NO_ARXIV, "RESEARCH_FEEDS": NO_FEED,
            "IMPROVE_ARXIV_DELAY": "0", "RESEARCH_DIR": str(tmp_path / "research")}


def last_json(output: str) -> dict:  # type: ignore[type-arg]
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_run_json_contract(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.warns(RuntimeWarning, match="nothing persists"):
        result = CliRunner().invoke(main, ["run", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = last_json(result.stdout)
    assert {"cycle_id", "safe", "report_path", "steps", "dry_run"} <= set(data)
    # every step ran (the unreachable upstreams are source errors, their last good data kept): SAFE
    assert data["cycle_id"] == "2026-W46" and data["safe"] is True and data["dry_run"] is False
    assert data["steps"]["report"]["status"] == "succeeded"
    assert set(data["steps"]["plan"]) >= {"status", "seconds"}
    assert Path(data["report_path"]) == tmp_path / "reports" / "2026-11-15.md"


def test_fail_unsafe_exit_code_and_human_output(env: dict[str, str]) -> None:
    env = {**env, "IMPROVE_STEP_OVERRIDES": json.dumps({"plan": "tests.fixture_steps:broken"})}
    with pytest.warns(RuntimeWarning):
        result = CliRunner().invoke(main, ["run", "--fail-unsafe", "--no-benchmarks"], env=env)
    assert result.exit_code == 3
    assert "SAFE=false" in result.stdout and "Report: " in result.stdout


def test_status_and_report_json(env: dict[str, str]) -> None:
    with pytest.warns(RuntimeWarning):
        status = CliRunner().invoke(main, ["status", "--json"], env=env)
    data = last_json(status.stdout)
    assert {"cycles", "running", "queues", "workers", "schedules", "pending_approvals"} <= set(data)
    with pytest.warns(RuntimeWarning):
        missing = CliRunner().invoke(main, ["report", "--cycle", "2020-W01"], env=env)
    assert missing.exit_code == 2 and "no cycle 2020-W01" in missing.output


def test_bad_settings_are_a_usage_error(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["status"], env={**env, "IMPROVE_NOW": "soon"})
    assert result.exit_code == 2 and "ISO 8601" in result.output


def test_worker_needs_redis_url(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["worker", "--burst"], env=env)
    assert result.exit_code == 2 and "REDIS_URL" in result.output


def test_unreachable_redis_is_one_clear_line_without_the_password(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["status"], env={**env, "REDIS_URL": "redis://:s3cret-pass@127.0.0.1:1/0"})
    assert result.exit_code == 1
    assert "error: ConnectionError" in result.output and "s3cret-pass" not in result.output


def test_dry_run_says_so(env: dict[str, str]) -> None:
    with pytest.warns(RuntimeWarning):
        result = CliRunner().invoke(main, ["run", "--dry-run", "--json"], env=env)
    data = last_json(result.stdout)
    assert data["dry_run"] is True and data["cycle_id"].startswith("2026-W46-dry-")
    assert "dry run: nothing will be applied" in result.stderr and data["report_path"].endswith("-dry-run.md")


def test_human_output_never_carries_terminal_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    from workers.console import emit

    emit({"title": "\x1b]0;owned\x07Paper"}, False, "Evaluate: \x1b[2J\x1b]0;owned\x07Paper\nnext line\tok")
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\x07" not in shown and "next line\tok" in shown
