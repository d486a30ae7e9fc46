"""The HTTP API against its own OpenAPI document (schemathesis), on the real Redis with no workers listening.

Every operation gets generated valid and invalid requests with the bearer token; the checks: no 5xx, status codes,
content types and bodies as documented, invalid input rejected, authentication not ignored. Nothing here reaches
the internet: the app is called in-process (ASGI) and its endpoints only enqueue work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from blackboard.entries import Proposal, Risk
from tests.conftest import TEST_REDIS_URL, make_settings
from workers.api import create_app
from workers.connection import Connections
from workers.runtime import Runtime

pytestmark = pytest.mark.integration
TOKEN = "schema-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SETTINGS = make_settings(Path("/nonexistent"), redis_url=TEST_REDIS_URL, api_token=TOKEN)
APP = create_app(SETTINGS)  # its runtime is set per test (below); loading the document touches no Redis
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(max_examples=15, deterministic=True)


@pytest.fixture
def live_runtime(real_redis: Connections, tmp_path: Path) -> Iterator[Runtime]:
    """The app's runtime on the test database, with a pending proposal to decide."""
    runtime = Runtime(make_settings(tmp_path, now="2026-11-22T03:00:00Z", api_token=TOKEN), real_redis)
    now = runtime.clock.now()
    entry = Proposal(cycle_id="2026-W47", agent="planner", created_at=now, proposal_id="route-math-qwen",
                     title="Route math to Qwen", risk=Risk.MEDIUM, risk_reason="a routing change",
                     target="routing.math", change={"subject": "routing.math"})
    runtime.board.post(entry)
    runtime.proposals.open(entry.proposal_id, Risk.MEDIUM, entry.title, entry.cycle_id, "planner", now)
    runtime.connections.board.hset(runtime.keys.planner_entries(), entry.proposal_id, entry.id)
    APP.state.runtime = runtime
    yield runtime
    APP.state.runtime = None


@schema.parametrize()
@settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_the_openapi_document(case: Any, live_runtime: Runtime) -> None:
    case.call_and_validate(headers=AUTH)
