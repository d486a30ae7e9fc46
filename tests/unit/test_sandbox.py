from __future__ import annotations

import httpx

from workers.sandbox import LoopbackServer, Request, Response, Upstream, sandbox


def test_loopback_server_answers_routes_and_records_requests() -> None:
    def models(request: Request) -> Response:
        return Response.json({"data": [{"id": "a/b"}], "q": request.query.get("output_modalities")})

    with LoopbackServer({("GET", "/api/v1/models"): models}) as server:
        assert server.url.startswith("http://127.0.0.1:")
        answer = httpx.get(f"{server.url}/api/v1/models", params={"output_modalities": "all"})
        assert answer.status_code == 200 and answer.json() == {"data": [{"id": "a/b"}], "q": ["all"]}
        assert httpx.get(f"{server.url}/missing").status_code == 404
        assert [r.path for r in server.requests] == ["/api/v1/models", "/missing"]


def test_sandbox_points_settings_at_its_servers() -> None:
    upstream = Upstream("openrouter", "openrouter_base_url", lambda: {("GET", "/api/v1/models"):
                                                                     lambda r: Response.json({"data": []})}, "/api/v1")
    with sandbox([upstream]) as world:
        assert httpx.get(world.settings["openrouter_base_url"] + "/models").json() == {"data": []}
