"""The HTTP API on fakeredis: authentication, every endpoint's shape and status codes, decisions, reports."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue

from blackboard.entries import Proposal, Risk
from tests.conftest import make_settings
from workers.api import create_app
from workers.api_auth import ApiSetupError
from workers.conductor import Conductor
from workers.dag import steps_for
from workers.runtime import Runtime
from workers.settings import Settings
from workers.trigger import wanted_cycle

TOKEN = "shared-token-0123456789abcdef"
ALICE = "alice-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
AS_ALICE = {"Authorization": f"Bearer {ALICE}"}
NO_OP_STEPS = {step.name: "tests.perf.noop:noop_step" for step in steps_for("weekly") if step.name != "report"}


@pytest.fixture
def runtime(fake_runtime: Runtime, tmp_path: Path) -> Runtime:
    settings = make_settings(tmp_path, now="2026-11-22T03:00:00Z", api_token=TOKEN, api_tokens={"alice": ALICE},
                             api_max_body_bytes=4096, step_overrides=NO_OP_STEPS)
    return Runtime(settings, fake_runtime.connections)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as test_client:
        yield test_client


def seed_proposal(runtime: Runtime, pid: str = "route-math-qwen", risk: Risk = Risk.MEDIUM) -> Proposal:
    now = runtime.clock.now()
    entry = Proposal(cycle_id="2026-W47", agent="planner", created_at=now, proposal_id=pid, title="Route math to Qwen",
                     risk=risk, risk_reason="a routing change", target="routing.math",
                     change={"subject": "routing.math"}, reason="it scores better")
    runtime.board.post(entry)
    assert runtime.proposals.open(pid, risk, entry.title, entry.cycle_id, "planner", now)
    runtime.connections.board.hset(runtime.keys.planner_entries(), pid, entry.id)
    return entry


def finished_weekly_report(runtime: Runtime) -> Path:
    """This week's cycle run to its end in this process (no-op steps, the real report)."""
    outcome = Conductor(runtime).drive(wanted_cycle(runtime, "weekly"), "in-process", timeout=30)
    assert outcome.record.finished_at is not None and outcome.record.report_path
    return Path(outcome.record.report_path)


# authentication

def test_health_needs_no_token_and_says_whether_redis_answers(client: TestClient, runtime: Runtime,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/api/health").json() == {"status": "ok", "redis": "ok"}

    def down() -> None:
        raise redis.ConnectionError("Error 111 connecting")

    monkeypatch.setattr(runtime.connections.board, "ping", down)
    response = client.get("/api/health")
    assert response.status_code == 503 and response.json() == {"status": "unavailable", "redis": "unreachable"}


@pytest.mark.parametrize("headers", [{}, {b"Authorization": b"Bearer wrong-token-0123456789"},
                                     {b"Authorization": f"Basic {TOKEN}".encode()},
                                     {b"Authorization": "Bearer ünïcode".encode()}])
def test_a_missing_or_wrong_token_is_401_with_a_bearer_challenge(client: TestClient,
                                                                 headers: dict[bytes, bytes]) -> None:
    for method, path in [("get", "/api/weekly/status"), ("post", "/api/weekly/run"), ("get", "/api/proposals"),
                         ("post", "/api/catalog/sync"), ("get", "/api/reports/latest")]:
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in response.text and ALICE not in response.text


def test_the_right_tokens_pass_and_are_compared_in_constant_time(client: TestClient,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert client.get("/api/proposals", headers=AUTH).status_code == 200
    assert client.get("/api/proposals", headers=AS_ALICE).status_code == 200
    assert len(compared) == 4, "every configured token is compared, even after a match"
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in compared)


def test_without_a_token_or_redis_url_the_api_refuses_to_start(tmp_path: Path, runtime: Runtime) -> None:
    with pytest.raises(ApiSetupError, match="IMPROVE_API_TOKEN"):
        create_app(make_settings(tmp_path), runtime)
    with pytest.raises(ApiSetupError, match="REDIS_URL"):
        create_app(make_settings(tmp_path, api_token=TOKEN))
    with pytest.raises(ApiSetupError, match="at least 16") as short:
        create_app(make_settings(tmp_path, api_token="short-secret"), runtime)
    assert "short-secret" not in str(short.value)
    with pytest.raises(ApiSetupError, match="same value"):
        create_app(make_settings(tmp_path, api_token=TOKEN, api_tokens={"ci": TOKEN}), runtime)
    with pytest.raises(ApiSetupError, match="name"):
        create_app(make_settings(tmp_path, api_tokens={"bad name!": ALICE}), runtime)
    insecure = TestClient(create_app(make_settings(tmp_path), runtime, insecure_no_auth=True))
    seed_proposal(runtime)
    assert insecure.post("/api/proposals/route-math-qwen/approve", json={"by": "me"}).json()["token"] is None
    assert runtime.proposals.history("route-math-qwen")[-1]["note"] == "[HTTP API, no authentication]"


def test_tokens_come_from_the_environment_as_masked_secrets(runtime: Runtime,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPROVE_API_TOKEN", TOKEN)
    monkeypatch.setenv("IMPROVE_API_TOKENS", json.dumps({"alice": ALICE}))
    monkeypatch.setenv("IMPROVE_API_MAX_BODY_BYTES", "2048")
    settings = Settings()
    assert settings.api_tokens["alice"].get_secret_value() == ALICE and settings.api_max_body_bytes == 2048
    assert TOKEN in settings.secrets() and ALICE in settings.secrets()
    assert TOKEN not in repr(settings) and ALICE not in repr(settings)


# cycles and jobs

def test_weekly_run_enqueues_once_and_warns_when_no_worker_listens(client: TestClient, runtime: Runtime) -> None:
    first = client.post("/api/weekly/run", headers=AUTH, json={"full": True, "benchmarks": True})
    assert first.status_code == 202
    data = first.json()
    assert data["cycle_id"] == "2026-W47" and data["action"] == "started" and data["kind"] == "weekly"
    assert "report" in data["steps"] and "no worker listens on" in data["warning"]
    assert Queue("catalog", connection=runtime.connections.rq).count == 1
    again = client.post("/api/weekly/run", headers=AUTH)
    assert again.status_code == 202 and again.json()["action"] == "running" and again.json()["steps"] == []
    assert Queue("catalog", connection=runtime.connections.rq).count == 1, "nothing enqueued twice"


def test_quick_and_dry_runs_are_their_own_cycles(client: TestClient) -> None:
    quick = client.post("/api/weekly/run", headers=AUTH, json={"full": False}).json()
    assert quick["kind"] == "quick" and quick["cycle_id"] == "quick-2026-11-22T00"
    dry = client.post("/api/weekly/run", headers=AUTH, json={"dry_run": True, "benchmarks": False}).json()
    assert dry["dry_run"] is True and "-dry-" in dry["cycle_id"] and dry["benchmarks"] is False


def test_a_finished_cycle_is_not_run_twice(client: TestClient, runtime: Runtime) -> None:
    finished_weekly_report(runtime)
    data = client.post("/api/weekly/run", headers=AUTH).json()
    assert data["action"] == "finished" and data["steps"] == [] and data["warning"] is None
    assert data["report_path"] and data["finished_at"]


def test_run_body_is_validated(client: TestClient) -> None:
    assert client.post("/api/weekly/run", headers=AUTH, json={"full": "maybe"}).status_code == 422
    response = client.post("/api/weekly/run", headers=AUTH, json={"ful": True, "secret": "sk-input-echo"})
    assert response.status_code == 422 and "sk-input-echo" not in response.text
    big = client.post("/api/weekly/run", headers={**AUTH, "Content-Type": "application/json"},
                      content=json.dumps({"full": True, "pad": "x" * 5000}))
    assert big.status_code == 413


def test_an_unknown_query_parameter_is_an_error_not_ignored(client: TestClient, runtime: Runtime) -> None:
    typo = client.post("/api/catalog/sync?ful=1", headers=AUTH)
    assert typo.status_code == 422 and typo.json()["detail"][0]["loc"] == ["query", "ful"]
    assert Queue("catalog", connection=runtime.connections.rq).count == 0, "nothing was enqueued"
    assert client.get("/api/health?x=1").status_code == 422
    assert client.post("/api/catalog/sync?full=true", headers=AUTH).status_code == 202


def test_a_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    chunks = iter([b'{"full": true, "pad": "', b"x" * 3000, b"x" * 3000, b'"}'])
    response = client.post("/api/weekly/run", headers={**AUTH, "Content-Type": "application/json"}, content=chunks)
    assert response.status_code == 413 and "at most 4096 bytes" in response.json()["detail"]


def test_failures_are_503_or_500_without_secrets(client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    def redis_down(runtime: Runtime, limit: int) -> None:
        raise redis.ConnectionError(f"Error 111 connecting (password {TOKEN})")

    monkeypatch.setattr("workers.api_routes.gather", redis_down)
    down = client.get("/api/weekly/status", headers=AUTH)
    assert down.status_code == 503 and down.headers["retry-after"] == "5" and TOKEN not in down.text

    def broken(runtime: Runtime, limit: int) -> None:
        raise RuntimeError(f"something broke near {ALICE}")

    monkeypatch.setattr("workers.api_routes.gather", broken)
    with caplog.at_level("ERROR"):
        failed = client.get("/api/weekly/status", headers=AUTH)
    assert failed.status_code == 500 and failed.json() == {"detail": "internal error (the server log says more)"}
    assert "something broke" in caplog.text and ALICE not in caplog.text and TOKEN not in caplog.text + down.text


def test_status_is_what_improve_status_json_gives(client: TestClient) -> None:
    client.post("/api/weekly/run", headers=AUTH)
    data = client.get("/api/weekly/status", headers=AUTH, params={"limit": 5}).json()
    assert {"cycles", "running", "queues", "workers", "schedules", "pending_approvals"} <= set(data)
    assert data["cycles"][0]["cycle_id"] == "2026-W47" and data["queues"]["catalog"] == 1
    assert client.get("/api/weekly/status", headers=AUTH, params={"limit": 0}).status_code == 422


def test_sync_and_scan_are_enqueued_once_at_a_time(client: TestClient, runtime: Runtime) -> None:
    quick = client.post("/api/catalog/sync", headers=AUTH)
    assert quick.status_code == 202 and quick.json()["queue"] == "catalog" and quick.json()["action"] == "enqueued"
    assert client.post("/api/catalog/sync", headers=AUTH).json()["job_id"] == quick.json()["job_id"]
    assert client.post("/api/catalog/sync", headers=AUTH).json()["action"] == "already_queued"
    full = client.post("/api/catalog/sync?full=1", headers=AUTH).json()
    assert full["task"] == "catalog-sync-full" and full["job_id"] != quick.json()["job_id"]
    scan = client.post("/api/research/scan", headers=AUTH).json()
    assert scan["queue"] == "research" and Queue("research", connection=runtime.connections.rq).count == 1
    job = Queue("catalog", connection=runtime.connections.rq).jobs[0]
    assert job.func_name == "workers.api_jobs.catalog_sync_job" and job.args == (False,)
    state = client.get(f"/api/jobs/{scan['job_id']}", headers=AUTH).json()
    assert state["status"] == "queued" and state["task"] == "research-scan" and state["result"] is None
    assert client.get("/api/jobs/not-a-job", headers=AUTH).status_code == 404


# reports

def test_latest_report_by_accept_header(client: TestClient, runtime: Runtime) -> None:
    missing = client.get("/api/reports/latest", headers=AUTH)
    assert missing.status_code == 404 and "no weekly report yet" in missing.json()["detail"]
    path = finished_weekly_report(runtime)
    for accept in ("text/markdown", "*/*", None):
        response = client.get("/api/reports/latest", headers={**AUTH, **({"Accept": accept} if accept else {})})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/markdown")
        assert response.text == path.read_text() and "SAFE=" in response.text
        assert response.headers["x-cycle-id"] == "2026-W47" and response.headers["x-report-source"] == "file"
    twin = client.get("/api/reports/latest", headers={**AUTH, "Accept": "text/markdown;q=0.5, application/json"})
    assert twin.headers["content-type"] == "application/json"
    assert twin.json() == json.loads(path.with_suffix(".json").read_text())
    assert client.get("/api/reports/latest", headers={**AUTH, "Accept": "image/png"}).status_code == 406


def test_a_report_written_elsewhere_is_rendered_from_the_blackboard(client: TestClient, runtime: Runtime) -> None:
    path = finished_weekly_report(runtime)
    path.unlink()
    path.with_suffix(".json").unlink()
    markdown = client.get("/api/reports/latest", headers=AUTH)
    assert markdown.status_code == 200 and markdown.headers["x-report-source"] == "blackboard"
    assert "SAFE=" in markdown.text
    data = client.get("/api/reports/latest", headers={**AUTH, "Accept": "application/json"}).json()
    assert data["cycle_id"] == "2026-W47"


def test_a_report_path_outside_the_report_folder_is_never_read(client: TestClient, runtime: Runtime,
                                                               tmp_path: Path) -> None:
    finished_weekly_report(runtime)
    outside = tmp_path / "elsewhere.md"
    outside.write_text("private file")
    record = runtime.cycles.get("2026-W47")
    assert record is not None
    runtime.cycles.save(record.model_copy(update={"report_path": str(outside)}))
    response = client.get("/api/reports/latest", headers=AUTH)
    assert response.status_code == 200 and "private file" not in response.text
    assert response.headers["x-report-source"] == "blackboard"


# proposals

def test_proposals_are_listed_by_status(client: TestClient, runtime: Runtime) -> None:
    seed_proposal(runtime)
    listed = client.get("/api/proposals", headers=AUTH).json()["proposals"]
    assert [(p["id"], p["status"], p["risk"], p["target"]) for p in listed] == [
        ("route-math-qwen", "pending", "MEDIUM", "routing.math")]
    assert client.get("/api/proposals?status=rejected", headers=AUTH).json() == {"proposals": []}
    assert client.get("/api/proposals?status=nonsense", headers=AUTH).status_code == 422


def test_approve_records_the_name_and_the_token_then_a_second_approval_is_409(client: TestClient,
                                                                             runtime: Runtime) -> None:
    seed_proposal(runtime)
    response = client.post("/api/proposals/route-math-qwen/approve", headers=AUTH,
                           json={"by": "bob", "note": "<b>looks good</b> @team"})
    assert response.status_code == 200
    assert response.json() == {"id": "route-math-qwen", "status": "approved", "by": "bob", "config_version": None,
                               "token": "IMPROVE_API_TOKEN"}
    state = runtime.proposals.get("route-math-qwen")
    assert state is not None and state.updated_by == "bob"
    assert runtime.proposals.history("route-math-qwen")[-1]["note"] == (
        "<b>looks good</b> @team [HTTP API, token IMPROVE_API_TOKEN]")  # stored as plain text, as given
    again = client.post("/api/proposals/route-math-qwen/approve", headers=AUTH, json={"by": "bob"})
    assert again.status_code == 409 and "already approved" in again.json()["detail"]


def test_a_named_token_decides_only_under_its_own_name(client: TestClient, runtime: Runtime) -> None:
    seed_proposal(runtime)
    other = client.post("/api/proposals/route-math-qwen/approve", headers=AS_ALICE, json={"by": "mallory"})
    assert other.status_code == 403 and runtime.proposals.get("route-math-qwen").status == "pending"  # type: ignore[union-attr]
    own = client.post("/api/proposals/route-math-qwen/approve", headers=AS_ALICE, json={"by": "alice"})
    assert own.status_code == 200 and own.json()["by"] == "alice" and own.json()["token"] == "alice"


def test_reject_needs_a_reason_and_then_approval_is_409(client: TestClient, runtime: Runtime) -> None:
    seed_proposal(runtime)
    for body in ({"by": "bob"}, {"by": "bob", "reason": "   "}, {"by": " ", "reason": "no"},
                 {"by": "bob", "reason": "x" * 2001}, {"by": "bob\nforged", "reason": "no"}):
        assert client.post("/api/proposals/route-math-qwen/reject", headers=AUTH, json=body).status_code == 422
    rejected = client.post("/api/proposals/route-math-qwen/reject", headers=AUTH,
                           json={"by": "bob", "note": "too risky this week"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert "too risky this week" in runtime.proposals.history("route-math-qwen")[-1]["note"]
    late = client.post("/api/proposals/route-math-qwen/approve", headers=AUTH, json={"by": "carol"})
    assert late.status_code == 409


def test_approve_now_applies_and_unknown_ids_are_404(client: TestClient, runtime: Runtime) -> None:
    seed_proposal(runtime)
    applied = client.post("/api/proposals/route-math-qwen/approve?apply_now=1", headers=AUTH, json={"by": "bob"})
    assert applied.status_code == 200 and applied.json()["status"] == "applied"
    for action, body in (("approve", {"by": "bob"}), ("reject", {"by": "bob", "reason": "no"})):
        response = client.post(f"/api/proposals/no-such-id/{action}", headers=AUTH, json=body)
        assert response.status_code == 404 and response.json() == {"detail": "no such proposal"}
    assert client.post("/api/proposals/route-math-qwen/approve", headers=AUTH, json={}).status_code == 422


def test_the_openapi_document_is_served(client: TestClient) -> None:
    document: dict[str, Any] = client.get("/openapi.json").json()
    assert {"/api/health", "/api/weekly/run", "/api/weekly/status", "/api/catalog/sync", "/api/research/scan",
            "/api/reports/latest", "/api/proposals", "/api/proposals/{proposal_id}/approve",
            "/api/proposals/{proposal_id}/reject"} <= set(document["paths"])
    assert "security" not in document["paths"]["/api/health"]["get"]
    assert document["paths"]["/api/weekly/run"]["post"]["security"] == [{"HTTPBearer": []}]
